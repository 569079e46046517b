import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { concat } from '../../../tests/support/image-fixtures';
import { parseDfuse, parseDfuSuffix, parsePlainDfu, writeDfuse } from './dfuse';
import { createImage } from './memory-image';

const zcrc = (zlib as unknown as { crc32: (b: Uint8Array) => number }).crc32;
const le32 = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]);
const ascii = (s: string) => new TextEncoder().encode(s);

/** The 16-byte suffix, dwCRC = ~crc32(everything before it), per USB DFU 1.1 appendix B. */
function withSuffix(body: Uint8Array, vid = 0x0483, pid = 0xdf11, bcdDFU = 0x011a): Uint8Array {
  const head = concat(body, new Uint8Array([0, 0, pid & 0xff, pid >> 8, vid & 0xff, vid >> 8, bcdDFU & 0xff, bcdDFU >> 8]), ascii('UFD'), new Uint8Array([16]));
  return concat(head, le32(~zcrc(head) >>> 0));
}

function target(alt: number, name: string | null, elements: { address: number; data: Uint8Array }[]): Uint8Array {
  const els = concat(...elements.map((e) => concat(le32(e.address), le32(e.data.length), e.data)));
  const nameField = new Uint8Array(255);
  if (name) nameField.set(ascii(name));
  return concat(ascii('Target'), new Uint8Array([alt]), le32(name ? 1 : 0), nameField, le32(els.length), le32(elements.length), els);
}

function dfuse(...targets: Uint8Array[]): Uint8Array {
  const body = concat(...targets);
  return withSuffix(concat(ascii('DfuSe'), new Uint8Array([1]), le32(11 + body.length), new Uint8Array([targets.length]), body));
}

const FIXTURE = dfuse(
  target(0, 'Internal Flash', [
    { address: 0x08000000, data: new Uint8Array([1, 2, 3, 4]) },
    { address: 0x08004000, data: new Uint8Array([5, 6]) },
  ]),
  target(1, null, [{ address: 0x1fffc000, data: new Uint8Array([0xaa, 0x55]) }]),
);

function rejects(f: () => unknown): FlashError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FlashError);
    return e as FlashError;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseDfuse', () => {
  it('reads targets into alt<n> memories with names and USB IDs in meta', () => {
    const img = parseDfuse(FIXTURE);
    expect(img.segments).toEqual([
      { memory: 'alt0', address: 0x08000000, data: new Uint8Array([1, 2, 3, 4]) },
      { memory: 'alt0', address: 0x08004000, data: new Uint8Array([5, 6]) },
      { memory: 'alt1', address: 0x1fffc000, data: new Uint8Array([0xaa, 0x55]) },
    ]);
    expect(img.meta).toEqual({ idVendor: 0x0483, idProduct: 0xdf11, bcdDevice: 0, targets: 2, 'alt0.name': 'Internal Flash' });
  });

  it('checks the suffix CRC over the whole file', () => {
    const damaged = FIXTURE.slice();
    damaged[300]! ^= 0x40;
    expect(rejects(() => parseDfuse(damaged)).message).toMatch(/DFU offset 0x\w+: suffix CRC is 0x\w{8}, computed 0x\w{8}: the file is damaged/);
  });

  it('rejects inconsistent sizes with the offset', () => {
    const body = concat(ascii('DfuSe'), new Uint8Array([1]), le32(999), new Uint8Array([0]));
    expect(rejects(() => parseDfuse(withSuffix(body))).message).toMatch(/offset 0x6: DFUImageSize is 999, but the file without its suffix is 11 bytes/);
    const t = target(0, null, [{ address: 0, data: new Uint8Array(4) }]);
    new DataView(t.buffer).setUint32(274 + 4, 100, true); // element claims 100 bytes
    expect(rejects(() => parseDfuse(dfuse(t))).message).toMatch(/offset 0x\w+: target 0, element 0: dwElementSize 100 runs past/);
    const extra = concat(ascii('DfuSe'), new Uint8Array([1]), le32(13), new Uint8Array([0, 7, 7]));
    expect(rejects(() => parseDfuse(withSuffix(extra))).message).toMatch(/offset 0xB: 2 bytes follow the last target/);
    const badTarget = target(0, null, []);
    badTarget[0] = 0x74; // 'target'
    expect(rejects(() => parseDfuse(dfuse(badTarget))).message).toMatch(/offset 0xB: target 0: expected the signature 'Target'/);
  });
});

describe('plain DFU and the suffix', () => {
  it('strips the suffix and places the payload at the base address', () => {
    const file = withSuffix(new Uint8Array([9, 8, 7]), 0x1209, 0x0001, 0x0100);
    expect(parseDfuSuffix(file)).toEqual({ bcdDevice: 0, idProduct: 1, idVendor: 0x1209, bcdDFU: 0x0100 });
    const img = parsePlainDfu(file, 0x08000000);
    expect(img.segments).toEqual([{ memory: 'flash', address: 0x08000000, data: new Uint8Array([9, 8, 7]) }]);
  });
});

describe('writeDfuse', () => {
  it('writes exactly the hand-built file', () => {
    const img = parseDfuse(FIXTURE);
    expect(writeDfuse(img)).toEqual(FIXTURE);
  });

  it('puts memories that are not alt<n> in alt 0', () => {
    const img = createImage('t', [{ memory: 'flash', address: 0x08000000, data: new Uint8Array([1]) }]);
    expect(parseDfuse(writeDfuse(img, { idVendor: 0x1209 })).segments[0]!.memory).toBe('alt0');
  });
});
