import type { FirmwareImage, Segment } from './memory-image';

/*
 * What changed between two firmware images, address by address: the inspector's "what is different
 * since the previous build". Pure and linear in the bytes compared, so the worker can diff two 8 MiB
 * images without a second thought.
 */

/** How a byte of the new image relates to the old one. Bytes that are equal in both are not reported. */
export type DiffKind = 'changed' | 'added' | 'removed';

/** A run of bytes `[start, end)` in one memory, all of one kind. */
export interface DiffRange {
  memory: string;
  start: number;
  end: number;
  kind: DiffKind;
}

export interface DiffCount {
  /** Maximal runs of this kind. */
  ranges: number;
  bytes: number;
}

export interface ImageDiff {
  /** Sorted by memory (as the images sort them), then address; never empty, never touching one of the same kind. */
  ranges: DiffRange[];
  changed: DiffCount;
  added: DiffCount;
  removed: DiffCount;
  /** Bytes present in both images with the same value. */
  same: number;
}

/**
 * Compares `before` with `after`:
 * - `changed`: both images have a byte there and the values differ;
 * - `added`: only `after` has a byte there;
 * - `removed`: only `before` has one (a hole in `after`: a flasher leaves that byte as the device has it).
 *
 * Invariants of the result:
 * - the ranges are disjoint, sorted, and adjacent ranges of the same kind in one memory are merged;
 * - changed.bytes + added.bytes + removed.bytes + same = the size of the union of both images' data;
 * - diffing an image with itself gives no ranges.
 */
export function diffImages(before: FirmwareImage, after: FirmwareImage): ImageDiff {
  const out: ImageDiff = {
    ranges: [],
    changed: { ranges: 0, bytes: 0 },
    added: { ranges: 0, bytes: 0 },
    removed: { ranges: 0, bytes: 0 },
    same: 0,
  };
  const push = (memory: string, kind: DiffKind, start: number, end: number) => {
    if (end <= start) return;
    out[kind].bytes += end - start;
    const last = out.ranges[out.ranges.length - 1];
    if (last && last.memory === memory && last.kind === kind && last.end === start) {
      last.end = end;
      return;
    }
    out.ranges.push({ memory, start, end, kind });
    out[kind].ranges++;
  };

  for (const memory of memoriesOf(before, after)) {
    const a = before.segments.filter((s) => s.memory === memory);
    const b = after.segments.filter((s) => s.memory === memory);
    // Every segment edge of either image; between two consecutive edges coverage does not change.
    const edges = [...new Set([...a, ...b].flatMap((s) => [s.address, s.address + s.data.length]))].sort((x, y) => x - y);
    let ia = 0;
    let ib = 0;
    for (let e = 0; e + 1 < edges.length; e++) {
      const from = edges[e]!;
      const to = edges[e + 1]!;
      while (ia < a.length && end(a[ia]!) <= from) ia++;
      while (ib < b.length && end(b[ib]!) <= from) ib++;
      const sa = ia < a.length && a[ia]!.address <= from ? a[ia]! : undefined;
      const sb = ib < b.length && b[ib]!.address <= from ? b[ib]! : undefined;
      if (sa && sb) compare(memory, sa, sb, from, to, push, out);
      else if (sb) push(memory, 'added', from, to);
      else if (sa) push(memory, 'removed', from, to);
    }
  }
  return out;
}

/** The ranges overlapping `[start, end)` of one memory, found by binary search (ranges as `diffImages` sorts them). */
export function rangesIn(ranges: readonly DiffRange[], memory: string, start: number, end: number): DiffRange[] {
  let lo = 0;
  let hi = ranges.length;
  // First range that is in a later memory, or in this memory and ends after `start`.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (liesBefore(ranges[mid]!, memory, start)) lo = mid + 1;
    else hi = mid;
  }
  const found: DiffRange[] = [];
  for (let i = lo; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (r.memory !== memory || r.start >= end) break;
    found.push(r);
  }
  return found;
}

/**
 * The first difference starting after `address` in `memory` (direction 1), or the last one starting
 * before it (direction -1), continuing into the following or preceding memories; null when there is none.
 */
export function stepRange(ranges: readonly DiffRange[], memory: string, address: number, direction: 1 | -1): DiffRange | null {
  // Index of the first range that starts at or after (memory, address).
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid]!;
    if (r.memory < memory || (r.memory === memory && r.start < address)) lo = mid + 1;
    else hi = mid;
  }
  if (direction === -1) return ranges[lo - 1] ?? null;
  const at = ranges[lo];
  if (at && at.memory === memory && at.start === address) return ranges[lo + 1] ?? null;
  return at ?? null;
}

/** Every memory either image has data in, in the order `createImage` sorts segments by. */
export function memoriesOf(...images: FirmwareImage[]): string[] {
  const names = new Set<string>();
  for (const image of images) for (const s of image.segments) names.add(s.memory);
  return [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function compare(
  memory: string,
  sa: Segment,
  sb: Segment,
  from: number,
  to: number,
  push: (memory: string, kind: DiffKind, start: number, end: number) => void,
  out: ImageDiff,
): void {
  const da = sa.data;
  const db = sb.data;
  const oa = from - sa.address;
  const ob = from - sb.address;
  const n = to - from;
  let runStart = -1;
  let same = 0;
  for (let i = 0; i < n; i++) {
    if (da[oa + i] !== db[ob + i]) {
      if (runStart < 0) runStart = i;
    } else {
      same++;
      if (runStart >= 0) {
        push(memory, 'changed', from + runStart, from + i);
        runStart = -1;
      }
    }
  }
  if (runStart >= 0) push(memory, 'changed', from + runStart, to);
  out.same += same;
}

function end(s: Segment): number {
  return s.address + s.data.length;
}

/** Whether range `r` lies wholly before address `start` of `memory` in the diff's order. */
function liesBefore(r: DiffRange, memory: string, start: number): boolean {
  if (r.memory !== memory) return r.memory < memory;
  return r.end <= start;
}
