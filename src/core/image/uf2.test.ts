import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { buildUf2Block, concat } from '../../../tests/support/image-fixtures';
import { createImage } from './memory-image';
import { familyMemory, parseUf2, UF2_FAMILY, writeUf2 } from './uf2';

const FAMILY = 0x2000;
const page = (seed: number, n = 256) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function rejects(file: Uint8Array): FlashError {
  try {
    parseUf2(file);
  } catch (e) {
    expect(e).toBeInstanceOf(FlashError);
    return e as FlashError;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseUf2', () => {
  it('reads an RP2040 file and records its family', () => {
    const file = concat(
      buildUf2Block({ flags: FAMILY, address: 0x10000000, data: page(1), blockNo: 0, numBlocks: 2, familyOrSize: UF2_FAMILY.RP2040 }),
      buildUf2Block({ flags: FAMILY, address: 0x10000100, data: page(2), blockNo: 1, numBlocks: 2, familyOrSize: UF2_FAMILY.RP2040 }),
    );
    const img = parseUf2(file);
    expect(img.segments).toEqual([{ memory: 'flash', address: 0x10000000, data: concat(page(1), page(2)) }]);
    expect(img.meta).toEqual({ familyId: UF2_FAMILY.RP2040, family: 'RP2040' });
  });

  it('skips not-main-flash and file-container blocks', () => {
    const file = concat(
      buildUf2Block({ address: 0, data: page(1, 8), blockNo: 0, numBlocks: 3 }),
      buildUf2Block({ flags: 0x1, address: 0x100, data: page(2, 8), blockNo: 1, numBlocks: 3 }),
      buildUf2Block({ flags: 0x1000, address: 0, data: page(3, 8), blockNo: 2, numBlocks: 3, familyOrSize: 1234 }),
    );
    expect(parseUf2(file).segments).toEqual([{ memory: 'flash', address: 0, data: page(1, 8) }]);
  });

  it('keeps several families apart, or only the one asked for', () => {
    const file = concat(
      buildUf2Block({ flags: FAMILY, address: 0x10000000, data: page(1), blockNo: 0, numBlocks: 1, familyOrSize: UF2_FAMILY.RP2040 }),
      buildUf2Block({ flags: FAMILY, address: 0x10000000, data: page(2), blockNo: 0, numBlocks: 1, familyOrSize: UF2_FAMILY.RP2350_ARM_S }),
    );
    const both = parseUf2(file);
    expect(both.segments.map((s) => s.memory)).toEqual([familyMemory(UF2_FAMILY.RP2040), familyMemory(UF2_FAMILY.RP2350_ARM_S)]);
    expect(both.meta).toEqual({ families: 'RP2040,RP2350_ARM_S' });
    const one = parseUf2(file, { familyId: UF2_FAMILY.RP2350_ARM_S });
    expect(one.segments).toEqual([{ memory: 'flash', address: 0x10000000, data: page(2) }]);
    // A multi-family image written back keeps each family's ID.
    expect(parseUf2(writeUf2(both)).segments).toEqual(both.segments);
  });

  it('rejects damaged files at the offset of the fault', () => {
    const block = (no: number, total: number) => buildUf2Block({ address: no * 256, data: page(no), blockNo: no, numBlocks: total });
    const good = concat(block(0, 2), block(1, 2));
    expect(rejects(good.slice(0, 600)).message).toMatch(/offset 0x200: the file is 600 bytes, not a whole number of 512-byte blocks/);
    expect(rejects(block(0, 2)).message).toMatch(/ends after block 0 of a run declaring 2 blocks/);
    expect(rejects(concat(block(0, 3), block(2, 3), block(1, 3))).message).toMatch(/offset 0x214: block 1: blockNo 2 of 3; expected block 1 of 3/);
    const badMagic = good.slice();
    badMagic[512 + 508]! ^= 1;
    expect(rejects(badMagic).message).toMatch(/offset 0x3FC: block 1: magicEnd is 0x0AB16F31, expected 0x0AB16F30/);
    const bigPayload = good.slice();
    new DataView(bigPayload.buffer).setUint32(16, 477, true);
    expect(rejects(bigPayload).message).toMatch(/payloadSize is 477; at most 476/);
    expect(rejects(new Uint8Array(0)).message).toMatch(/empty/);
  });
});

describe('writeUf2', () => {
  it('writes page-aligned 256-byte blocks, filling the gaps, with the family ID', () => {
    const img = createImage('t', [
      { memory: 'flash', address: 0x10000010, data: new Uint8Array([1, 2, 3]) },
      { memory: 'flash', address: 0x10000200, data: page(5, 300) },
    ]);
    const file = writeUf2(img, { familyId: UF2_FAMILY.RP2040 });
    expect(file.length).toBe(3 * 512);
    const first = new Uint8Array(256).fill(0xff);
    first.set([1, 2, 3], 0x10);
    const second = page(5, 300);
    const third = new Uint8Array(256).fill(0xff);
    third.set(second.subarray(256), 0);
    expect(file.subarray(0, 512)).toEqual(
      buildUf2Block({ flags: FAMILY, address: 0x10000000, data: first, blockNo: 0, numBlocks: 3, familyOrSize: UF2_FAMILY.RP2040 }),
    );
    expect(file.subarray(1024)).toEqual(
      buildUf2Block({ flags: FAMILY, address: 0x10000300, data: third, blockNo: 2, numBlocks: 3, familyOrSize: UF2_FAMILY.RP2040 }),
    );
    const back = parseUf2(file);
    expect(back.meta?.familyId).toBe(UF2_FAMILY.RP2040);
    expect(back.segments.map((s) => [s.address, s.data.length])).toEqual([
      [0x10000000, 256],
      [0x10000200, 512],
    ]);
  });

  it('keeps the family of an image read from UF2 unless told otherwise', () => {
    const img = { ...createImage('uf2', [{ memory: 'flash', address: 0, data: page(1) }]), meta: { familyId: UF2_FAMILY.SAMD21 } };
    expect(parseUf2(writeUf2(img)).meta?.familyId).toBe(UF2_FAMILY.SAMD21);
    expect(parseUf2(writeUf2(img, { familyId: UF2_FAMILY.SAMD51 })).meta?.familyId).toBe(UF2_FAMILY.SAMD51);
  });
});
