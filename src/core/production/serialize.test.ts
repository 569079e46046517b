import { describe, expect, it } from 'vitest';
import { crc32 } from '../bytes/crc32';
import { createImage, flatten } from '../image/memory-image';
import { applySerial, parseSerialList, serialEncoding, serialLocation } from './serialize';

const enc = (format: string, v: bigint | number) => Array.from(serialEncoding(format).encode(BigInt(v)));

describe('serial encodings', () => {
  it('writes binary formats in both byte orders', () => {
    expect(enc('u16le', 0x1234)).toEqual([0x34, 0x12]);
    expect(enc('u16be', 0x1234)).toEqual([0x12, 0x34]);
    expect(enc('u32le', 0x01020304)).toEqual([4, 3, 2, 1]);
    expect(enc('u32be', 0x01020304)).toEqual([1, 2, 3, 4]);
    expect(enc('u64le', 0x0102030405060708n)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(enc('mac', 0x02aabbccddeen)).toEqual([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
  });

  it('writes fixed-width text and BCD', () => {
    expect(String.fromCharCode(...enc('ascii-dec:8', 4711))).toBe('00004711');
    expect(String.fromCharCode(...enc('ascii-hex:6', 0xbeef))).toBe('00BEEF');
    expect(enc('bcd:6', 123456)).toEqual([0x12, 0x34, 0x56]);
    expect(enc('bcd:5', 12345)).toEqual([0x01, 0x23, 0x45]);
  });

  it('refuses values that do not fit, and unknown formats', () => {
    expect(() => enc('u16le', 0x10000)).toThrow(/does not fit/);
    expect(() => enc('ascii-dec:3', 1000)).toThrow(/does not fit/);
    expect(() => enc('u24le', 1)).toThrow(/Unknown serial format/);
  });
});

describe('applySerial', () => {
  const base = createImage('test', [{ memory: 'flash', address: 0, data: new Uint8Array(64).fill(0xaa) }]);

  it('refuses to write a serial or CRC over code unless the rule says overwrite', () => {
    expect(() => applySerial(base, { memory: 'flash', address: 8, format: 'u32le' }, 1n)).toThrow(/would overwrite the firmware: flash 0x0008 holds 0xAA/);
    const crc = { algorithm: 'crc32' as const, from: 0, to: 8, at: 60, format: 'u32le' as const };
    expect(() => applySerial(base, { memory: 'flash', address: 0x100, format: 'u32le', crc }, 1n)).toThrow(/CRC would overwrite/);
    const erased = createImage('t', [{ memory: 'flash', address: 0, data: Uint8Array.from({ length: 64 }, (_, i) => (i >= 32 ? 0xff : 0xaa)) }]);
    expect(() => applySerial(erased, { memory: 'flash', address: 32, format: 'u64le' }, 1n)).not.toThrow();
    expect(() => applySerial(erased, { memory: 'flash', address: 30, format: 'u32le' }, 1n)).toThrow(/0x001E holds 0xAA/);
    expect(serialLocation({ memory: 'flash', address: 0x7000, format: 'u32le' })).toEqual({ memory: 'flash', address: 0x7000, length: 4, text: 'flash@0x00007000' });
  });

  it('overwrites inside the image when told, and adds bytes outside it', () => {
    const inside = applySerial(base, { memory: 'flash', address: 8, format: 'u32le', overwrite: true }, 0x11223344n);
    expect(Array.from(flatten(inside, 'flash', 6, 14))).toEqual([0xaa, 0xaa, 0x44, 0x33, 0x22, 0x11, 0xaa, 0xaa]);
    expect(inside.segments).toHaveLength(1);
    const outside = applySerial(base, { memory: 'flash', address: 0x100, format: 'u16be' }, 7n);
    expect(outside.segments.map((s) => [s.address, s.data.length])).toEqual([[0, 64], [0x100, 2]]);
    expect(Array.from(base.segments[0]!.data.subarray(8, 12))).toEqual([0xaa, 0xaa, 0xaa, 0xaa]); // input untouched
  });

  it('adds a CRC over the range after placing the serial', () => {
    const rule = { memory: 'flash', address: 0, format: 'u32le', overwrite: true, crc: { algorithm: 'crc32' as const, from: 0, to: 60, at: 60, format: 'u32le' as const } };
    const out = applySerial(base, rule, 99n);
    const expected = crc32(flatten(out, 'flash', 0, 60));
    expect(Array.from(flatten(out, 'flash', 60, 64))).toEqual(Array.from(serialEncoding('u32le').encode(BigInt(expected))));
    expect(() => applySerial(base, { ...rule, crc: { ...rule.crc, at: 10 } }, 1n)).toThrow(/inside the range/);
  });
});

describe('parseSerialList', () => {
  it('reads MACs, hex and decimal, skipping a header and comments', () => {
    expect(parseSerialList('mac,board\n02:00:00:00:00:01,a\n# spare\n02-00-00-00-00-02\n0x10\n17\n')).toEqual([0x020000000001n, 0x020000000002n, 16n, 17n]);
    expect(() => parseSerialList('12\nbanana\n')).toThrow(/line 2/);
  });
});
