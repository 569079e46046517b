import { describe, expect, it } from 'vitest';
import { diffImages, rangesIn, stepRange, type DiffKind, type DiffRange } from './diff';
import { createImage, type FirmwareImage, type Segment } from './memory-image';

const seg = (address: number, bytes: number[] | Uint8Array, memory = 'flash'): Segment => ({ memory, address, data: Uint8Array.from(bytes) });
const image = (...segments: Segment[]) => createImage('bin', segments);
const fill = (n: number, value: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => value(i));

describe('diffImages', () => {
  it('finds nothing between an image and itself', () => {
    const a = image(seg(0, fill(300, (i) => i)), seg(0x1000, [1, 2, 3]), seg(0, [9], 'eeprom'));
    const d = diffImages(a, a);
    expect(d.ranges).toEqual([]);
    expect(d.same).toBe(304);
    expect(d.changed).toEqual({ ranges: 0, bytes: 0 });
  });

  it('reports changed bytes as maximal runs', () => {
    const before = image(seg(0x100, fill(64, () => 0)));
    const after = image(seg(0x100, fill(64, (i) => (i >= 4 && i < 8) || i === 10 || i === 63 ? 1 : 0)));
    const d = diffImages(before, after);
    expect(d.ranges).toEqual([
      { memory: 'flash', start: 0x104, end: 0x108, kind: 'changed' },
      { memory: 'flash', start: 0x10a, end: 0x10b, kind: 'changed' },
      { memory: 'flash', start: 0x13f, end: 0x140, kind: 'changed' },
    ]);
    expect(d.changed).toEqual({ ranges: 3, bytes: 6 });
    expect(d.same).toBe(58);
  });

  it('tells added and removed bytes from changed ones, per memory', () => {
    // before: flash [0,16) and [32,48); after: flash [8,40), eeprom [0,4).
    const before = image(seg(0, fill(16, () => 0xaa)), seg(32, fill(16, () => 0xbb)));
    const after = image(seg(8, fill(32, (i) => (i < 8 ? 0xaa : 0xbb))), seg(0, [1, 2, 3, 4], 'eeprom'));
    const d = diffImages(before, after);
    const kinds = d.ranges.map((r) => [r.memory, r.start, r.end, r.kind]);
    expect(kinds).toEqual([
      ['eeprom', 0, 4, 'added'],
      ['flash', 0, 8, 'removed'],
      ['flash', 16, 32, 'added'],
      ['flash', 40, 48, 'removed'],
    ]);
    expect(d.added).toEqual({ ranges: 2, bytes: 20 });
    expect(d.removed).toEqual({ ranges: 2, bytes: 16 });
    expect(d.same).toBe(16); // [8,16) of 0xaa and [32,40) of 0xbb
  });

  it('merges a run that crosses a segment edge of either image', () => {
    // Not normalised on purpose (two touching segments): the diff must not split the run there.
    const before: FirmwareImage = { format: 'bin', segments: [seg(0, fill(8, () => 0)), seg(8, fill(8, () => 0))] };
    const after = image(seg(0, fill(16, () => 1)));
    expect(diffImages(before, after).ranges).toEqual([{ memory: 'flash', start: 0, end: 16, kind: 'changed' }]);
  });

  it('agrees byte for byte with a brute-force comparison on random images', () => {
    let x = 12345;
    const rand = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    for (let round = 0; round < 200; round++) {
      const make = () => {
        const segs: Segment[] = [];
        const used = new Map<string, Set<number>>();
        for (let k = rand(5); k > 0; k--) {
          const memory = rand(4) === 0 ? 'eeprom' : 'flash';
          const address = rand(200);
          const data = fill(1 + rand(40), () => rand(3));
          // Keep segments disjoint so createImage never sees a conflict.
          const taken = used.get(memory) ?? new Set<number>();
          if ([...data.keys()].some((i) => taken.has(address + i))) continue;
          data.forEach((_, i) => taken.add(address + i));
          used.set(memory, taken);
          segs.push(seg(address, data, memory));
        }
        return image(...segs);
      };
      const a = make();
      const b = make();
      const d = diffImages(a, b);
      const bytesOf = (img: FirmwareImage) => {
        const m = new Map<string, number>();
        for (const s of img.segments) s.data.forEach((v, i) => m.set(`${s.memory}@${s.address + i}`, v));
        return m;
      };
      const ma = bytesOf(a);
      const mb = bytesOf(b);
      const expected = new Map<string, DiffKind>();
      let same = 0;
      for (const key of new Set([...ma.keys(), ...mb.keys()])) {
        const va = ma.get(key);
        const vb = mb.get(key);
        if (va === undefined) expected.set(key, 'added');
        else if (vb === undefined) expected.set(key, 'removed');
        else if (va !== vb) expected.set(key, 'changed');
        else same++;
      }
      const actual = new Map<string, DiffKind>();
      for (const r of d.ranges) for (let at = r.start; at < r.end; at++) actual.set(`${r.memory}@${at}`, r.kind);
      expect(actual).toEqual(expected);
      expect(d.same).toBe(same);
      expect(d.changed.bytes + d.added.bytes + d.removed.bytes).toBe(expected.size);
      // Sorted, disjoint, and no two touching ranges of the same kind.
      for (let i = 1; i < d.ranges.length; i++) {
        const p = d.ranges[i - 1]!;
        const r = d.ranges[i]!;
        if (p.memory === r.memory) {
          expect(r.start).toBeGreaterThanOrEqual(p.end);
          if (r.start === p.end) expect(r.kind).not.toBe(p.kind);
        } else expect(p.memory < r.memory).toBe(true);
      }
    }
  });

  it('diffs two 8 MiB images quickly', () => {
    const a = fill(8 << 20, (i) => i & 0xff);
    const b = a.slice();
    for (let i = 0; i < b.length; i += 65536) b[i] = b[i]! ^ 1;
    const started = performance.now();
    const d = diffImages(image(seg(0, a)), image(seg(0, b)));
    const ms = performance.now() - started;
    expect(d.changed).toEqual({ ranges: 128, bytes: 128 });
    expect(ms).toBeLessThan(2000);
  });
});

describe('finding differences', () => {
  const ranges: DiffRange[] = [
    { memory: 'eeprom', start: 4, end: 8, kind: 'added' },
    { memory: 'flash', start: 0x10, end: 0x20, kind: 'changed' },
    { memory: 'flash', start: 0x40, end: 0x41, kind: 'removed' },
    { memory: 'flash', start: 0x100, end: 0x180, kind: 'changed' },
  ];

  it('lists the ranges overlapping a page', () => {
    expect(rangesIn(ranges, 'flash', 0, 0x40)).toEqual([ranges[1]]);
    expect(rangesIn(ranges, 'flash', 0x1f, 0x101)).toEqual([ranges[1], ranges[2], ranges[3]]);
    expect(rangesIn(ranges, 'flash', 0x20, 0x40)).toEqual([]);
    expect(rangesIn(ranges, 'eeprom', 0, 0x100)).toEqual([ranges[0]]);
    expect(rangesIn(ranges, 'fuse', 0, 0x100)).toEqual([]);
  });

  it('steps to the next and previous difference, across memories', () => {
    expect(stepRange(ranges, 'flash', 0, 1)).toBe(ranges[1]);
    expect(stepRange(ranges, 'flash', 0x10, 1)).toBe(ranges[2]); // from a difference, the one after it
    expect(stepRange(ranges, 'flash', 0x11, 1)).toBe(ranges[2]);
    expect(stepRange(ranges, 'flash', 0x100, 1)).toBeNull();
    expect(stepRange(ranges, 'eeprom', 4, 1)).toBe(ranges[1]);
    expect(stepRange(ranges, 'flash', 0x100, -1)).toBe(ranges[2]);
    expect(stepRange(ranges, 'flash', 0x10, -1)).toBe(ranges[0]);
    expect(stepRange(ranges, 'eeprom', 4, -1)).toBeNull();
    expect(stepRange([], 'flash', 0, 1)).toBeNull();
    expect(stepRange([{ memory: 'flash', start: 0, end: 1, kind: 'added' }], 'flash', -1, 1)).toMatchObject({ start: 0 }); // from before a page at 0
  });
});
