import type { MemoryInfo, TargetInfo } from '../../shared/model';
import type { Refusal } from '../../shared/intake';
import { hex } from '../image/memory-image';

/** What the fit check needs of an image: where its bytes are (an ImageSummary's segments will do). */
export interface SegmentSpan {
  memory: string;
  address: number;
  length: number;
}

/**
 * Whether an image fits a part, as a pure function of plain data: the page gates Flash and Install with
 * it, the CLI refuses before opening the port. Without a chosen part, the image must fit at least one
 * part of the driver. `sizeKnown: false` (ESP: the flash size is read from the chip at identify) checks
 * only the memory's start, not its end. Returns null when it fits.
 */
export function checkFit(segments: readonly SegmentSpan[], target: TargetInfo | undefined, targets: readonly TargetInfo[], opts: { sizeKnown?: boolean } = {}): Refusal | null {
  const candidates = target ? [target] : targets;
  let first: Refusal | null = null;
  for (const t of candidates) {
    const refusal = misfit(segments, t, opts.sizeKnown !== false);
    if (!refusal) return null;
    first ??= refusal;
  }
  if (!first || target) return first;
  return { ...first, message: `This firmware fits none of the parts this programmer writes: ${lowerFirst(first.message)}` };
}

function misfit(segments: readonly SegmentSpan[], target: TargetInfo, sizeKnown: boolean): Refusal | null {
  for (const seg of segments) {
    const mem = target.memories.find((m) => m.name === seg.memory);
    if (!mem) {
      return refusal(`The file has ${seg.memory} data, and the ${target.name} has no ${seg.memory} memory this programmer writes.`, target, { memory: seg.memory, address: seg.address });
    }
    const end = seg.address + seg.length;
    if (seg.address < mem.base || (sizeKnown && end > mem.base + mem.size)) {
      return refusal(
        `This firmware needs ${seg.memory} ${range(seg.address, end)}, but the ${target.name} has ${seg.memory} ${range(mem.base, mem.base + mem.size)} (${size(mem)}).`,
        target,
        { memory: seg.memory, start: seg.address, end, size: mem.size },
      );
    }
  }
  return null;
}

function refusal(message: string, target: TargetInfo, details: Record<string, string | number>): Refusal {
  return { reason: 'does-not-fit', code: 'image-out-of-range', message, hint: `Pick the board this firmware was built for, or build it for the ${target.name}.`, details };
}

function range(start: number, end: number): string {
  return `${hex(start)}–${hex(end - 1)}`;
}

function size(mem: MemoryInfo): string {
  return mem.size >= 1 << 20 && mem.size % (1 << 20) === 0 ? `${mem.size >> 20} MiB` : mem.size >= 1024 ? `${Math.round(mem.size / 1024)} KiB` : `${mem.size} bytes`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
