import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { alignToPages, byteCount, createImage, flatten, sliceImage, span } from './memory-image';

const seg = (address: number, ...bytes: number[]) => ({ memory: 'flash', address, data: new Uint8Array(bytes) });

describe('createImage', () => {
  it('sorts, merges touching and agreeing overlaps, drops empty segments', () => {
    const img = createImage('t', [seg(4, 5, 6), seg(0, 1, 2), seg(2, 3, 4), seg(3, 4, 5), seg(100), { ...seg(0, 9), memory: 'eeprom' }]);
    expect(img.segments).toEqual([
      { memory: 'eeprom', address: 0, data: new Uint8Array([9]) },
      { memory: 'flash', address: 0, data: new Uint8Array([1, 2, 3, 4, 5, 6]) },
    ]);
  });

  it('names both origins of a conflicting byte, even inside a long cluster', () => {
    const parts = [
      { ...seg(0, 1, 2, 3, 4), origin: 'line 1' },
      { ...seg(2, 3, 4, 5, 6), origin: 'line 2' },
      { ...seg(1, 2, 7), origin: 'line 3' },
    ];
    try {
      createImage('t', parts);
      throw new Error('expected a conflict');
    } catch (e) {
      expect(e).toBeInstanceOf(FlashError);
      expect((e as FlashError).message).toBe('Two parts of the file put different bytes at 0x0002 in flash: 0x03 (line 1) and 0x07 (line 3).');
    }
  });

  it('stays linear with many small out-of-order pieces', () => {
    const pieces = Array.from({ length: 100_000 }, (_, i) => seg((99_999 - i) * 4, i & 0xff, 1, 2, 3));
    const t0 = performance.now();
    const img = createImage('t', pieces);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(img.segments.length).toBe(1);
    expect(byteCount(img)).toBe(400_000);
  });
});

describe('slice and page alignment', () => {
  const img = createImage('t', [seg(0x10, 1, 2, 3, 4), seg(0x30, 5, 6), { ...seg(0, 7), memory: 'eeprom' }]);

  it('sliceImage keeps the range', () => {
    expect(sliceImage(img, 'flash', 0x12, 0x31).segments).toEqual([
      { memory: 'eeprom', address: 0, data: new Uint8Array([7]) },
      seg(0x12, 3, 4),
      seg(0x30, 5),
    ]);
    expect(sliceImage(img, 'flash', 0x12, 0x31, true).segments.map((s) => s.memory)).toEqual(['flash', 'flash']);
  });

  it('alignToPages widens to whole pages and merges segments sharing a page', () => {
    const paged = alignToPages(img, 'flash', 0x20, 0xee);
    expect(span(paged, 'flash')).toEqual([0, 0x40]);
    expect(paged.segments.filter((s) => s.memory === 'flash').length).toBe(1);
    expect(flatten(paged, 'flash', 0x0e, 0x16)).toEqual(new Uint8Array([0xee, 0xee, 1, 2, 3, 4, 0xee, 0xee]));
    expect(alignToPages(img, 'flash', 0x10).segments.filter((s) => s.memory === 'flash').map((s) => [s.address, s.data.length])).toEqual([
      [0x10, 0x10],
      [0x30, 0x10],
    ]);
  });
});
