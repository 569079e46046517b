/**
 * Property tests (write -> read round trips over random sparse images) and a seeded mutation fuzzer over a
 * valid file of every format. Bounded in time (about 10 s in all); a failure names the seed and iteration.
 *
 * Fuzz oracle, for every mutated file:
 * - reading either succeeds or throws FlashError: any other exception is a bug;
 * - no read takes long (a hang shows as a blown time budget or the test timeout);
 * - for formats with integrity checks (HEX and S-record checksums, the DFU suffix CRC, the ESP checksum
 *   and SHA-256), a single-byte mutation that is accepted must yield the original image: a damaged
 *   file is never silently taken for a good one (see `same`). Exempt are the few bytes no check covers: the S-record
 *   type digit, the ESP header's hash flag, and ESP headers damaged until they no longer look like one.
 * - whatever was read can be written back to every format, again with nothing but FlashError.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isFlashError } from '../../shared/errors';
import { parseBin, writeBin } from './bin';
import { buildElf, buildEspImage } from '../../../tests/support/image-fixtures';
import { parseDfuse, writeDfuse } from './dfuse';
import { parseElf } from './elf';
import { readImage, writeImage } from './index';
import { parseIntelHex, writeIntelHex } from './intel-hex';
import { createImage, flatten, type FirmwareImage, type Segment } from './memory-image';
import { parseSrec, writeSrec } from './srec';
import { parseUf2, writeUf2 } from './uf2';

/** xorshift32: small, seeded, reproducible. */
function makeRng(seed: number) {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(0, 255));
  return { next, int, bytes, pick: <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]! };
}
type Rng = ReturnType<typeof makeRng>;

/** 1-6 non-touching segments in `memory` below `limit`, sometimes with an entry point. */
function randomImage(rng: Rng, limit = 0x1_0000_0000, memory = 'flash'): FirmwareImage {
  const count = rng.int(1, 6);
  const segments: Segment[] = [];
  let at = rng.int(0, 3) === 0 ? 0 : rng.int(0, Math.min(limit / 2, 0x0fffffff));
  for (let i = 0; i < count; i++) {
    const length = rng.int(1, 700);
    if (at + length > limit) break;
    segments.push({ memory, address: at, data: rng.bytes(length) });
    at += length + rng.int(1, rng.next() < 0.5 ? 300 : 0x20000);
  }
  const image = createImage('random', segments);
  if (rng.next() < 0.5) image.entry = rng.int(0, 0xffffffff);
  return image;
}

const shape = (img: FirmwareImage) => img.segments.map((s) => ({ memory: s.memory, address: s.address, data: s.data }));

describe('round trips over random sparse images', () => {
  const rng = makeRng(2024);
  const N = 150;

  it('Intel HEX at random record lengths, with the entry', () => {
    for (let i = 0; i < N; i++) {
      const img = randomImage(rng);
      const back = parseIntelHex(writeIntelHex(img, { recordLength: rng.int(1, 255) }));
      expect(shape(back), `iteration ${i}`).toEqual(shape(img));
      expect(back.entry).toBe(img.entry);
    }
  });

  it('Intel HEX with AVR memories at their avr-gcc offsets', () => {
    for (let i = 0; i < 40; i++) {
      const parts = [randomImage(rng, 0x40000), randomImage(rng, 0x1000, 'eeprom'), randomImage(rng, 3, 'fuse')];
      const img = createImage('avr', parts.flatMap((p) => p.segments));
      const back = parseIntelHex(writeIntelHex(img));
      const expected = img.segments.map((s) => ({
        memory: 'flash',
        address: s.address + ({ flash: 0, eeprom: 0x810000, fuse: 0x820000 } as Record<string, number>)[s.memory]!,
        data: s.data,
      }));
      expect(shape(back)).toEqual(shape(createImage('x', expected)));
    }
  });

  it('S-records at random record lengths; the entry survives when set', () => {
    for (let i = 0; i < N; i++) {
      const img = randomImage(rng, rng.pick([0x10000, 0x1000000, 0x1_0000_0000]));
      const back = parseSrec(writeSrec(img, { recordLength: rng.int(1, 250) }));
      expect(shape(back), `iteration ${i}`).toEqual(shape(img));
      expect(back.entry).toBe(img.entry ?? 0);
    }
  });

  it('UF2: the image padded to whole 256-byte pages', () => {
    for (let i = 0; i < N; i++) {
      const img = randomImage(rng);
      const fill = rng.int(0, 255);
      const back = parseUf2(writeUf2(img, { fill, familyId: rng.int(0, 0xffffffff) }));
      const pages = new Set<number>();
      for (const s of img.segments) for (let a = s.address & ~0xff; a < s.address + s.data.length; a += 256) pages.add(a >>> 0);
      const padded = createImage(
        'x',
        [...pages].map((p) => ({ memory: 'flash', address: p, data: flatten(img, 'flash', p, p + 256, fill) })),
      );
      expect(shape(back), `iteration ${i}`).toEqual(shape(padded));
    }
  });

  it('BIN: lowest to highest address, holes filled', () => {
    for (let i = 0; i < N; i++) {
      const img = randomImage(rng, 0x100000);
      const [start] = [img.segments[0]!.address];
      const last = img.segments[img.segments.length - 1]!;
      const bin = writeBin(img, { fill: 0xa5 });
      // Buffer.equals: toEqual walks a megabyte element by element, far too slowly.
      expect(Buffer.from(bin).equals(flatten(img, 'flash', start, last.address + last.data.length, 0xa5))).toBe(true);
      expect(parseBin(bin, start).segments[0]!.data.length).toBe(bin.length);
    }
  });

  it('DfuSe', () => {
    for (let i = 0; i < N; i++) {
      const img = randomImage(rng);
      const back = parseDfuse(writeDfuse(img));
      expect(shape(back)).toEqual(shape(img).map((s) => ({ ...s, memory: 'alt0' })));
    }
  });

  it('ELF in both classes and byte orders (hand-built, not our writer)', () => {
    for (let i = 0; i < N; i++) {
      const img = randomImage(rng);
      const elf = buildElf({
        is64: rng.next() < 0.5,
        bigEndian: rng.next() < 0.5,
        entry: img.entry ?? 0,
        loads: img.segments.map((s) => ({ paddr: s.address, data: s.data, bss: rng.int(0, 100) })),
      });
      expect(shape(parseElf(elf))).toEqual(shape(img));
    }
  });
});

interface Fixture {
  name: string;
  bytes: Uint8Array;
  /** Single-byte mutations must be rejected or harmless. */
  checked: boolean;
  /** Offsets no integrity check covers in this file. */
  uncovered?: (original: Uint8Array, index: number) => boolean;
}

function fixtures(): Fixture[] {
  const rng = makeRng(77);
  const img = randomImage(rng, 0x1_0000_0000);
  const small = createImage('f', img.segments.map((s) => ({ ...s, data: s.data.subarray(0, 200) })));
  small.entry = 0x08000101;
  const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
  const isLineStart = (b: Uint8Array, i: number) => i === 0 || b[i - 1] === 0x0a || b[i - 1] === 0x0d;
  return [
    { name: 'app.hex', bytes: writeIntelHex(small, { recordLength: 32 }), checked: true },
    {
      name: 'app.s19',
      bytes: writeSrec(small, { header: 'fuzz' }),
      checked: true,
      // The type digit is outside the checksum: S1 -> S2 moves one byte from data to address, same sum.
      uncovered: (b, i) => i > 0 && (b[i - 1] === 0x53 || b[i - 1] === 0x73) && isLineStart(b, i - 1),
    },
    { name: 'app.dfu', bytes: writeDfuse(small), checked: true },
    {
      name: 'plain.dfu',
      bytes: (() => {
        const d = writeDfuse(small);
        const body = d.subarray(11 + 274, d.length - 16); // any payload works; reuse the elements as bytes
        const file = new Uint8Array(body.length + 16);
        file.set(body);
        file.set(d.subarray(d.length - 16), body.length);
        // Re-seal: plain DFU 1.0 suffix over this payload.
        const view = new DataView(file.buffer);
        view.setUint16(file.length - 10, 0x0100, true);
        const crc32 = (zlib as unknown as { crc32: (b: Uint8Array) => number }).crc32;
        view.setUint32(file.length - 4, ~crc32(file.subarray(0, file.length - 4)) >>> 0, true);
        return file;
      })(),
      checked: true,
    },
    {
      name: 'app.bin',
      bytes: buildEspImage({
        chipId: 5,
        segments: [
          { address: 0x3c000020, data: rng.bytes(300) },
          { address: 0x40380000, data: rng.bytes(500) },
        ],
        sha256: sha,
      }),
      checked: true,
      uncovered: (_b, i) => i === 23, // hash_appended: clearing it drops the SHA-256 check, and the XOR checksum ignores the header
    },
    { name: 'app.uf2', bytes: writeUf2(small, { familyId: 0xe48bff56 }), checked: false },
    {
      name: 'app.elf',
      bytes: buildElf({ is64: true, bigEndian: true, loads: small.segments.map((s) => ({ paddr: s.address, data: s.data, bss: 8 })) }),
      checked: false,
    },
    {
      name: 'avr.elf',
      bytes: buildElf({
        machine: 83,
        loads: [
          { paddr: 0, data: rng.bytes(300) },
          { paddr: 0x810000, data: rng.bytes(20) },
          { paddr: 0x820000, data: rng.bytes(3) },
        ],
      }),
      checked: false,
    },
    { name: 'raw.bin', bytes: rng.bytes(1000), checked: false },
  ];
}

type Mutation = { kind: string; index: number; apply: (b: Uint8Array) => Uint8Array };

/** One single-byte change: the kinds of damage a disk, a download or an editor do. */
function mutate(rng: Rng, b: Uint8Array): Mutation {
  const index = rng.int(0, Math.max(0, b.length - 1));
  const kind = rng.pick(['flip', 'set', 'insert', 'delete', 'truncate', 'ascii'] as const);
  const apply = (src: Uint8Array): Uint8Array => {
    const out = src.slice();
    switch (kind) {
      case 'flip':
        out[index]! ^= 1 << rng.int(0, 7);
        return out;
      case 'set':
        out[index] = rng.int(0, 255);
        return out;
      case 'ascii': // a plausible text typo: another hex digit, a newline, a colon, an 'S'
        out[index] = rng.pick([...'0123456789ABCDEFabcdef:\r\nS '].map((c) => c.charCodeAt(0)));
        return out;
      case 'insert': {
        const grown = new Uint8Array(src.length + 1);
        grown.set(src.subarray(0, index));
        grown[index] = rng.int(0, 255);
        grown.set(src.subarray(index), index + 1);
        return grown;
      }
      case 'delete':
        return new Uint8Array([...src.subarray(0, index), ...src.subarray(index + 1)]);
      case 'truncate':
        return src.slice(0, index);
    }
  };
  return { kind, index, apply };
}

/**
 * Same bytes at the same places, and the same entry point if the damaged copy still names one (an
 * S-record file cut right before its S7 line ends in the S5 count, as srec_cat files without a start
 * address do: the data is provably complete, only the start address is gone).
 */
const same = (a: FirmwareImage, b: FirmwareImage) =>
  a.segments.length === b.segments.length &&
  (a.entry === undefined || a.entry === b.entry) &&
  a.segments.every((s, i) => {
    const t = b.segments[i]!;
    return s.memory === t.memory && s.address === t.address && s.data.length === t.data.length && s.data.every((v, k) => v === t.data[k]);
  });

/** Reads, then writes to every format; only FlashError may come out. */
function exercise(bytes: Uint8Array, name: string): { image?: FirmwareImage; error?: unknown } {
  let image: FirmwareImage;
  try {
    image = readImage(bytes, { name });
  } catch (error) {
    return { error };
  }
  for (const to of ['hex', 'srec', 'uf2'] as const) {
    try {
      readImage(writeImage(image, to));
    } catch (e) {
      if (!isFlashError(e)) throw e;
    }
  }
  try {
    writeBin(image, { maxBytes: 1 << 24 });
  } catch (e) {
    if (!isFlashError(e)) throw e;
  }
  return { image };
}

describe('mutation fuzzer', () => {
  const BUDGET_MS = 900; // per fixture; nine fixtures stay under ten seconds
  /** A loaded machine still gets this many mutations per fixture, so what they find does not depend on speed. */
  const MIN_RUNS = 6000;
  for (const fx of fixtures()) {
    it(`${fx.name}: damaged copies are rejected with FlashError or read as the original`, () => {
      const original = readImage(fx.bytes, { name: fx.name });
      const seed = [...fx.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 17);
      const rng = makeRng(seed);
      const started = performance.now();
      let runs = 0;
      let rejected = 0;
      while ((performance.now() - started < BUDGET_MS || runs < MIN_RUNS) && runs < 20000) {
        // Mostly single mutations, sometimes a burst of several (checked for crashes only).
        const burst = rng.next() < 0.8 ? 1 : rng.int(2, 5);
        let bytes = fx.bytes;
        let first: Mutation | undefined;
        for (let k = 0; k < burst; k++) {
          const m = mutate(rng, bytes);
          first ??= m;
          bytes = m.apply(bytes);
        }
        const where = `${fx.name} seed ${seed} run ${runs} (${first!.kind} at ${first!.index}, burst ${burst})`;
        const t0 = performance.now();
        let result: ReturnType<typeof exercise>;
        try {
          result = exercise(bytes, fx.name);
        } catch (e) {
          throw new Error(`${where}: ${String(e)}`, { cause: e });
        }
        expect(performance.now() - t0, `${where}: too slow`).toBeLessThan(2000);
        if (result.error !== undefined) {
          if (!isFlashError(result.error)) throw new Error(`${where}: not a FlashError: ${String(result.error)}`);
          rejected++;
        } else if (fx.checked && burst === 1 && !fx.uncovered?.(fx.bytes, first!.index)) {
          const img = result.image!;
          const formatChanged = img.format !== original.format && fx.name === 'app.bin';
          if (!formatChanged && !same(img, original)) throw new Error(`${where}: a damaged file was accepted as a different image`);
        }
        runs++;
      }
      expect(runs).toBeGreaterThan(50);
      expect(rejected).toBeGreaterThan(0);
    });
  }
});
