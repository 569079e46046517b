import type { ImageSummary } from '../shared/api';
import type { MemoryInfo } from '../shared/model';

/*
 * Geometry of the inspector's memory map, kept out of the component so it can be tested: which
 * memories to draw, over what address range, and where each segment or difference sits on the bar.
 */

/** One memory's bar: the address range it spans, and the part's own range when the target has it. */
export interface MapRow {
  memory: string;
  /** The bar's scale, [start, end): the part's memory, widened to show image data outside it. */
  start: number;
  end: number;
  /** The chosen part's memory of this name, or null (no part chosen, or the part has none). */
  part: { base: number; size: number } | null;
  /** Bytes of either image outside `part` (0 without a part). */
  outside: number;
}

type Extent = { memory: string; address: number; length: number };

/**
 * The memories to draw: the part's (flash first, then in its order), then any memory only the images
 * have. A memory neither image uses is still drawn when the part has it, so an empty EEPROM shows as empty.
 */
export function mapRows(memories: readonly MemoryInfo[] | null, images: (ImageSummary | null)[]): MapRow[] {
  const segments: Extent[] = images.flatMap((i) => i?.segments ?? []);
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  const partMemories = [...(memories ?? [])].sort((a, b) => (a.name === 'flash' ? -1 : b.name === 'flash' ? 1 : 0));
  for (const m of partMemories) add(m.name);
  for (const s of segments) add(s.memory);

  const rows: MapRow[] = [];
  for (const memory of names) {
    const mem = partMemories.find((m) => m.name === memory);
    const own = segments.filter((s) => s.memory === memory);
    const lo = Math.min(...own.map((s) => s.address));
    const hi = Math.max(...own.map((s) => s.address + s.length));
    if (!mem) {
      rows.push({ memory, start: lo, end: hi, part: null, outside: 0 });
      continue;
    }
    const partEnd = mem.base + mem.size;
    let outside = 0;
    for (const s of own) outside += s.length - overlap(s.address, s.address + s.length, mem.base, partEnd);
    rows.push({
      memory,
      start: own.length > 0 ? Math.min(mem.base, lo) : mem.base,
      end: own.length > 0 ? Math.max(partEnd, hi) : partEnd,
      part: { base: mem.base, size: mem.size },
      outside,
    });
  }
  return rows.filter((r) => r.end > r.start);
}

/** Something drawn on a bar, with where it is as a share of the bar (percent). */
export interface Mark<T> {
  start: number;
  end: number;
  left: number;
  width: number;
  /** What the mark stands for: more than one when they were too close to draw apart. */
  items: T[];
}

/**
 * Places ranges on a bar of `[scaleStart, scaleEnd)`. Ranges closer than `minGap` of the bar's width
 * (default 1/400: a couple of pixels on a wide screen) are drawn as one mark, so a diff of thousands of
 * scattered bytes stays a few hundred elements and each one is still large enough to hover and focus.
 */
export function layoutMarks<T extends { start: number; end: number }>(items: readonly T[], scaleStart: number, scaleEnd: number, minGap = 1 / 400): Mark<T>[] {
  const span = scaleEnd - scaleStart;
  if (span <= 0) return [];
  const gap = span * minGap;
  const out: Mark<T>[] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (last && item.start - last.end < gap) {
      last.end = Math.max(last.end, item.end);
      last.items.push(item);
      continue;
    }
    out.push({ start: item.start, end: item.end, left: 0, width: 0, items: [item] });
  }
  for (const m of out) {
    const from = Math.max(m.start, scaleStart);
    const to = Math.min(m.end, scaleEnd);
    m.left = ((from - scaleStart) / span) * 100;
    m.width = (Math.max(0, to - from) / span) * 100;
  }
  return out;
}

/** The image's segments of one memory as `{start, end}` ranges, each with its index in `summary.segments`. */
export function segmentRanges(summary: ImageSummary, memory: string): { start: number; end: number; index: number }[] {
  const out: { start: number; end: number; index: number }[] = [];
  summary.segments.forEach((s, index) => {
    if (s.memory === memory) out.push({ start: s.address, end: s.address + s.length, index });
  });
  return out;
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** Names for the facts the readers put in `image.meta` (core/image/*.ts); other keys show as they are. */
const META_LABELS: Record<string, string> = {
  family: 'UF2 family',
  familyId: 'UF2 family ID',
  families: 'UF2 families',
  targets: 'DfuSe targets',
  idVendor: 'USB vendor ID',
  idProduct: 'USB product ID',
  bcdDevice: 'Device release (bcdDevice)',
  chip: 'ESP chip',
  entry: 'Entry (ESP header)',
  flashMode: 'SPI flash mode',
  flashSizeCode: 'Flash size code',
  flashFreqCode: 'Flash frequency code',
  segmentCount: 'ESP segments',
  imageLength: 'ESP image length',
  hashAppended: 'SHA-256 appended',
  trailingBytes: 'Bytes after the ESP image',
  class: 'ELF class',
  endian: 'Byte order',
  machine: 'Machine',
  header: 'S-record header (S0)',
};

/** Meta values that are IDs, shown in hex with their width in digits. */
const HEX_META: Record<string, number> = { familyId: 8, idVendor: 4, idProduct: 4, bcdDevice: 4 };

/** An image's format-specific facts as label/value pairs for a definition list, in the reader's order. */
export function metaFacts(meta: Record<string, string | number | boolean> | undefined): { label: string; value: string }[] {
  if (!meta) return [];
  return Object.entries(meta).map(([key, value]) => {
    const alt = /^(.+)\.name$/.exec(key);
    const segment = /^segment(\d+)$/.exec(key);
    const label = alt ? `DfuSe target name (${alt[1]})` : segment ? `ESP segment ${segment[1]} (load address +size)` : (META_LABELS[key] ?? key);
    const width = HEX_META[key];
    const text =
      typeof value === 'boolean'
        ? value
          ? 'yes'
          : 'no'
        : typeof value === 'number' && width !== undefined
          ? '0x' + value.toString(16).toUpperCase().padStart(width, '0')
          : String(value);
    return { label, value: text };
  });
}
