import { crc32 } from '../core/bytes/crc32';
import { hex32 } from '../core/bytes/hex';
import { diffImages, stepRange, type ImageDiff } from '../core/image/diff';
import type { FirmwareImage, Segment } from '../core/image/memory-image';
import {
  BYTE_MARK,
  MAX_PAGE_BYTES,
  type BytePage,
  type DiffRange,
  type FirmwareFile,
  type ImageDiffSummary,
  type ImageSource,
  type ImageSummary,
  type InspectedImage,
  type InspectorSlot,
} from '../shared/api';
import { FlashError } from '../shared/errors';

/** A parsed firmware file, as the API's loader returns it. */
export interface ParsedFirmware {
  summary: ImageSummary;
  image: FirmwareImage;
  bytes: ArrayBuffer;
}

export interface InspectorDeps {
  /** Parses a file without adding it to the flash cache (inspecting must not evict the firmware chosen for a job). */
  parse: (file: FirmwareFile) => Promise<ParsedFirmware>;
  /** A library entry, parsed (or already parsed this session). */
  fromLibrary: (fileSha256: string) => Promise<ParsedFirmware>;
}

/** How many ranges a diff summary carries; the rest are reached with `step`. */
const SUMMARY_RANGES = 500;

interface Slot {
  fw: ParsedFirmware;
  /** The image's segments by memory, sorted by address (createImage's order). */
  byMemory: Map<string, Segment[]>;
}

/**
 * The worker side of the image inspector: two slots (the image and a reference), pages of bytes for
 * the hex view, and the diff between the slots, computed once per pair and kept.
 *
 * Invariants:
 * - the page only ever receives what it shows: a summary, a diff summary, one window of bytes;
 * - the cached diff always belongs to the images in the slots now (replacing either drops it).
 */
export class Inspector {
  readonly #slots = new Map<InspectorSlot, Slot>();
  #diff: { key: string; diff: ImageDiff } | null = null;

  constructor(private readonly deps: InspectorDeps) {}

  async open(slot: InspectorSlot, source: ImageSource): Promise<InspectedImage> {
    checkSlot(slot);
    let fw: ParsedFirmware;
    if (source && typeof source === 'object' && 'file' in source) fw = await this.deps.parse(source.file);
    else if (source && typeof source === 'object' && 'fileSha256' in source) fw = await this.deps.fromLibrary(String(source.fileSha256));
    else throw new FlashError('bad-image', 'No image was given to inspect.', { hint: 'Choose a file or a library entry.' });
    const byMemory = new Map<string, Segment[]>();
    for (const s of fw.image.segments) {
      const list = byMemory.get(s.memory) ?? [];
      list.push(s);
      byMemory.set(s.memory, list);
    }
    this.#slots.set(slot, { fw, byMemory });
    this.#diff = null;
    return {
      slot,
      summary: fw.summary,
      segmentCrc32: fw.image.segments.map((s) => hex32(crc32(s.data))),
      fileCrc32: hex32(crc32(new Uint8Array(fw.bytes))),
    };
  }

  close(slot: InspectorSlot): boolean {
    checkSlot(slot);
    this.#diff = null;
    return this.#slots.delete(slot);
  }

  /** One window of the primary image, each byte marked against the reference. */
  read(request: { memory: string; address: number; length: number }): BytePage {
    const primary = this.#need('primary');
    const { memory, address, length } = request ?? {};
    if (typeof memory !== 'string') throw new FlashError('invalid-argument', 'No memory was named for the hex view.');
    if (!Number.isSafeInteger(address) || address < 0) throw new FlashError('invalid-argument', `${String(address)} is not an address.`);
    if (!Number.isInteger(length) || length < 1 || length > MAX_PAGE_BYTES) {
      throw new FlashError('invalid-argument', `A page of the hex view is 1 to ${MAX_PAGE_BYTES} bytes, not ${String(length)}.`);
    }
    const reference = this.#slots.get('reference');
    const mine = primary.byMemory.get(memory) ?? [];
    const theirs = reference?.byMemory.get(memory) ?? [];
    const bytes = new Uint8Array(length);
    const has = new Uint8Array(length);
    copyWindow(mine, address, bytes, has);
    const marks = new Uint8Array(length);
    let ref: Uint8Array | null = null;
    if (!reference) {
      for (let i = 0; i < length; i++) marks[i] = has[i] ? BYTE_MARK.data : BYTE_MARK.hole;
    } else {
      ref = new Uint8Array(length);
      const refHas = new Uint8Array(length);
      copyWindow(theirs, address, ref, refHas);
      for (let i = 0; i < length; i++) {
        if (has[i] && refHas[i]) marks[i] = bytes[i] === ref[i] ? BYTE_MARK.data : BYTE_MARK.changed;
        else if (has[i]) marks[i] = BYTE_MARK.added;
        else marks[i] = refHas[i] ? BYTE_MARK.removed : BYTE_MARK.hole;
      }
    }
    // The neighbouring windows with data, on the same grid as this one: paging skips a gap of any size.
    const after = minOf(firstDataFrom(mine, address + length), firstDataFrom(theirs, address + length));
    const before = maxOf(lastDataBefore(mine, address), lastDataBefore(theirs, address));
    return {
      memory,
      address,
      bytes,
      marks,
      reference: ref,
      next: after === null ? null : address + length * Math.floor((after - address) / length),
      prev: before === null ? null : address - length * Math.ceil((address - before) / length),
    };
  }

  /** How the primary image differs from the reference (computed once per pair of images). */
  diff(): ImageDiffSummary {
    const d = this.#computeDiff();
    const [p, r] = [this.#need('primary'), this.#need('reference')];
    return {
      primarySha256: p.fw.summary.fileSha256,
      referenceSha256: r.fw.summary.fileSha256,
      changed: { ...d.changed },
      added: { ...d.added },
      removed: { ...d.removed },
      same: d.same,
      ranges: d.ranges.slice(0, SUMMARY_RANGES).map((x) => ({ ...x })),
      totalRanges: d.ranges.length,
    };
  }

  step(from: { memory: string; address: number }, direction: 1 | -1): DiffRange | null {
    if (direction !== 1 && direction !== -1) throw new FlashError('invalid-argument', `Direction ${String(direction)} is neither 1 nor -1.`);
    const address = Number(from?.address);
    if (!Number.isFinite(address)) throw new FlashError('invalid-argument', `${String(from?.address)} is not an address.`);
    const found = stepRange(this.#computeDiff().ranges, String(from?.memory), address, direction);
    return found ? { ...found } : null;
  }

  #computeDiff(): ImageDiff {
    const p = this.#need('primary');
    const r = this.#need('reference');
    const key = `${p.fw.summary.fileSha256}|${r.fw.summary.fileSha256}`;
    if (this.#diff?.key !== key) this.#diff = { key, diff: diffImages(r.fw.image, p.fw.image) };
    return this.#diff.diff;
  }

  #need(slot: InspectorSlot): Slot {
    const s = this.#slots.get(slot);
    if (!s) {
      throw new FlashError('not-found', slot === 'primary' ? 'No image is open in the inspector.' : 'No second image is open to compare with.', {
        hint: 'Choose a file or a library entry first.',
      });
    }
    return s;
  }
}

function checkSlot(slot: unknown): asserts slot is InspectorSlot {
  if (slot !== 'primary' && slot !== 'reference') throw new FlashError('invalid-argument', `The inspector has no slot "${String(slot)}".`);
}

/** Index of the first segment ending after `at` (segments sorted, disjoint). */
function firstEndingAfter(segs: Segment[], at: number): number {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = segs[mid]!;
    if (s.address + s.data.length <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Copies the segments' bytes over `[address, address + out.length)` into `out`, marking present bytes in `has`. */
function copyWindow(segs: Segment[], address: number, out: Uint8Array, has: Uint8Array): void {
  const end = address + out.length;
  for (let i = firstEndingAfter(segs, address); i < segs.length; i++) {
    const s = segs[i]!;
    if (s.address >= end) break;
    const from = Math.max(s.address, address);
    const to = Math.min(s.address + s.data.length, end);
    out.set(s.data.subarray(from - s.address, to - s.address), from - address);
    has.fill(1, from - address, to - address);
  }
}

function firstDataFrom(segs: Segment[], at: number): number | null {
  const s = segs[firstEndingAfter(segs, at)];
  return s ? Math.max(s.address, at) : null;
}

function lastDataBefore(segs: Segment[], at: number): number | null {
  // The last segment starting before `at`: the one before the first segment starting at or after it.
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid]!.address < at) lo = mid + 1;
    else hi = mid;
  }
  const s = segs[lo - 1];
  return s ? Math.min(s.address + s.data.length, at) - 1 : null;
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
