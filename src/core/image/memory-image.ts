import { FlashError } from '../../shared/errors';

/** A run of bytes at an address in one named memory ('flash', 'eeprom', 'fuse', ...). */
export interface Segment {
  memory: string;
  address: number;
  data: Uint8Array;
  /** Where in the file it came from ('line 12', 'offset 0x200'), only to name it in errors. */
  origin?: string;
}

/**
 * The one memory model every protocol consumes.
 *
 * Invariants (kept by `createImage`):
 * - segments are sorted by memory, then address;
 * - segments in one memory neither overlap nor touch (touching runs are merged);
 * - no segment is empty.
 */
export interface FirmwareImage {
  /** Format it was read from: 'ihex', 'srec', 'elf', 'uf2', 'dfuse', 'bin', ... */
  format: string;
  segments: Segment[];
  /** Start address if the file names one (HEX type 03/05, S7-S9, ELF e_entry). */
  entry?: number;
  /** Format-specific facts worth showing (UF2 family, DfuSe target names, ESP header): plain values only. */
  meta?: Record<string, string | number | boolean>;
}

export const DEFAULT_MEMORY = 'flash';

/**
 * Builds a normalised image. Overlapping bytes that agree merge; bytes that disagree are an error
 * naming both places, because silently picking one is how bricks are made.
 * Linear in the total size: a file of many small out-of-order records must not merge quadratically.
 */
export function createImage(format: string, segments: Segment[], entry?: number): FirmwareImage {
  const sorted = segments
    .filter((s) => s.data.length > 0)
    .sort((a, b) => (a.memory === b.memory ? a.address - b.address : a.memory < b.memory ? -1 : 1));
  const out: Segment[] = [];
  let i = 0;
  while (i < sorted.length) {
    // A cluster is a maximal run of segments that overlap or touch; it becomes one output segment.
    const first = sorted[i]!;
    let end = first.address + first.data.length;
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.memory === first.memory && sorted[j]!.address <= end) {
      end = Math.max(end, sorted[j]!.address + sorted[j]!.data.length);
      j++;
    }
    if (j === i + 1) {
      out.push({ memory: first.memory, address: first.address, data: first.data });
      i = j;
      continue;
    }
    const data = new Uint8Array(end - first.address);
    // Everything in [first.address, writtenEnd) is already written, because the cluster is sorted and gap-free.
    let writtenEnd = first.address;
    const writers: { seg: Segment; from: number }[] = [];
    for (let k = i; k < j; k++) {
      const seg = sorted[k]!;
      const segEnd = seg.address + seg.data.length;
      const overlapEnd = Math.min(writtenEnd, segEnd);
      for (let at = seg.address; at < overlapEnd; at++) {
        const a = data[at - first.address]!;
        const b = seg.data[at - seg.address]!;
        if (a !== b) throw conflict(seg, at, a, b, writers);
      }
      if (segEnd > writtenEnd) {
        data.set(seg.data.subarray(writtenEnd - seg.address), writtenEnd - first.address);
        writers.push({ seg, from: writtenEnd });
        writtenEnd = segEnd;
      }
    }
    out.push({ memory: first.memory, address: first.address, data });
    i = j;
  }
  return entry === undefined ? { format, segments: out } : { format, segments: out, entry };
}

function conflict(
  seg: Segment,
  at: number,
  first: number,
  second: number,
  writers: { seg: Segment; from: number }[],
): FlashError {
  // Writers own consecutive ranges starting at `from`, so the last one starting at or before `at` wrote it.
  let earlier: Segment | undefined;
  for (const w of writers) if (w.from <= at) earlier = w.seg;
  const where = (s: Segment | undefined) => (s?.origin ? ` (${s.origin})` : '');
  return new FlashError(
    'bad-image',
    `Two parts of the file put different bytes at ${hex(at)} in ${seg.memory}: ${hex(first, 2)}${where(earlier)} and ${hex(second, 2)}${where(seg)}.`,
    {
      details: {
        address: at,
        memory: seg.memory,
        first,
        second,
        ...(earlier?.origin ? { firstOrigin: earlier.origin } : {}),
        ...(seg.origin ? { secondOrigin: seg.origin } : {}),
      },
    },
  );
}

export function segmentsOf(image: FirmwareImage, memory: string): Segment[] {
  return image.segments.filter((s) => s.memory === memory);
}

export function byteCount(image: FirmwareImage, memory?: string): number {
  return image.segments.reduce((n, s) => (memory === undefined || s.memory === memory ? n + s.data.length : n), 0);
}

/** [lowest address, one past the highest] of a memory, or null if the image has none of it. */
export function span(image: FirmwareImage, memory: string): [number, number] | null {
  const segs = segmentsOf(image, memory);
  if (segs.length === 0) return null;
  const last = segs[segs.length - 1]!;
  return [segs[0]!.address, last.address + last.data.length];
}

/** One contiguous buffer over [start, end), holes filled with `fill`. */
export function flatten(image: FirmwareImage, memory: string, start: number, end: number, fill = 0xff): Uint8Array {
  const out = new Uint8Array(end - start).fill(fill);
  for (const s of segmentsOf(image, memory)) {
    const from = Math.max(s.address, start);
    const to = Math.min(s.address + s.data.length, end);
    if (from < to) out.set(s.data.subarray(from - s.address, to - s.address), from - start);
  }
  return out;
}

export function hex(n: number, width = 4): string {
  return '0x' + n.toString(16).toUpperCase().padStart(width, '0');
}

/** The part of the image inside [start, end) of one memory; other memories are kept unless `only` is set. */
export function sliceImage(image: FirmwareImage, memory: string, start: number, end: number, only = false): FirmwareImage {
  const segments: Segment[] = [];
  for (const s of image.segments) {
    if (s.memory !== memory) {
      if (!only) segments.push(s);
      continue;
    }
    const from = Math.max(s.address, start);
    const to = Math.min(s.address + s.data.length, end);
    if (from < to) segments.push({ memory, address: from, data: s.data.subarray(from - s.address, to - s.address) });
  }
  return { ...image, segments };
}

/**
 * Widens every segment of `memory` to whole pages (page boundaries are multiples of `pageSize` from 0),
 * filling the added bytes, so a page-programming driver never writes a page it has only partly.
 * Segments that end up in the same page merge.
 */
export function alignToPages(image: FirmwareImage, memory: string, pageSize: number, fill = 0xff): FirmwareImage {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  const widened: Segment[] = [];
  for (const s of segmentsOf(image, memory)) {
    const start = s.address - (s.address % pageSize);
    const endRaw = s.address + s.data.length;
    const end = endRaw % pageSize === 0 ? endRaw : endRaw + pageSize - (endRaw % pageSize);
    const prev = widened[widened.length - 1];
    if (prev && prev.address + prev.data.length >= start) {
      // Shares a page with the previous segment: grow that one (holes stay `fill`).
      const grown = new Uint8Array(end - prev.address).fill(fill);
      grown.set(prev.data, 0);
      grown.set(s.data, s.address - prev.address);
      prev.data = grown;
    } else {
      const data = new Uint8Array(end - start).fill(fill);
      data.set(s.data, s.address - start);
      widened.push({ memory, address: start, data });
    }
  }
  const others = image.segments.filter((s) => s.memory !== memory);
  const out = createImage(image.format, [...others, ...widened], image.entry);
  if (image.meta) out.meta = image.meta;
  return out;
}
