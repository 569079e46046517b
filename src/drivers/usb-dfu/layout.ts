import { hex } from '../../core/image/memory-image';
import type { TargetMemory } from '../../core/plan/blocks';
import { FlashError } from '../../shared/errors';

/*
 * DfuSe memory layouts (UM0424 §10.3.2, "alternate setting string descriptor"): each alternate
 * setting's name describes its memory, e.g.
 *   @Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg
 * = name, then one or more "/start/sectors" groups; a sector group is count*size, a multiplier
 * (' ' or 'B' bytes, 'K' KiB, 'M' MiB) and a type letter 'a'..'g' whose value minus 'a' plus 1 is a
 * bit mask: 1 readable, 2 erasable, 4 writable.
 */

export interface LayoutSegment {
  start: number;
  count: number;
  /** Bytes per sector. */
  size: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

export interface MemoryLayout {
  /** The name before the first '/', trailing blanks removed ("Internal Flash"). */
  name: string;
  segments: LayoutSegment[];
}

/** One erase unit. */
export interface Sector {
  start: number;
  size: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

const MULTIPLIER: Record<string, number> = { ' ': 1, B: 1, K: 1024, M: 1024 * 1024 };

/** Parses a DfuSe layout string; a string that does not follow the format is a FlashError('protocol'). */
export function parseMemoryLayout(text: string): MemoryLayout {
  const fail = (why: string) =>
    new FlashError('protocol', `The device describes its memory as "${text}", which is not a DfuSe memory layout (${why}).`, {
      hint: 'This device does not speak ST DfuSe: choose its own programmer, or update its bootloader.',
      details: { layout: text },
    });
  if (!text.startsWith('@')) throw fail("it does not start with '@'");
  const parts = text.slice(1).split('/');
  if (parts.length < 3 || parts.length % 2 === 0) throw fail('expected name/start/sectors');
  const name = parts[0]!.trimEnd();
  // dfu-util treats ST's "Device Feature" area as readable and writable but not erasable, whatever its letter says.
  const forcedType = name === 'Device Feature' ? 'e' : null;
  const segments: LayoutSegment[] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const startText = parts[i]!.trim();
    if (!/^0[xX][0-9a-fA-F]{1,8}$/.test(startText)) throw fail(`bad start address "${startText}"`);
    let start = parseInt(startText.slice(2), 16);
    const groups = parts[i + 1]!.trimEnd().split(',');
    for (const group of groups) {
      const m = /^\s*(\d+)\*(\d+)([ BKM])([a-g])\s*$/.exec(group);
      if (!m) throw fail(`bad sector group "${group}"`);
      const count = Number(m[1]);
      const size = Number(m[2]) * MULTIPLIER[m[3]!]!;
      if (count === 0 || size === 0) throw fail(`empty sector group "${group}"`);
      const bits = (forcedType ?? m[4]!).charCodeAt(0) - 0x60;
      segments.push({ start, count, size, readable: (bits & 1) !== 0, erasable: (bits & 2) !== 0, writable: (bits & 4) !== 0 });
      start += count * size;
    }
  }
  if (segments.some((s) => s.start + s.count * s.size > 0x1_0000_0000)) throw fail('it runs past the 32-bit address space');
  return { name, segments };
}

/** The sector holding `address`, or null outside the layout. */
export function sectorAt(layout: MemoryLayout, address: number): Sector | null {
  for (const s of layout.segments) {
    const end = s.start + s.count * s.size;
    if (address >= s.start && address < end) {
      const index = Math.floor((address - s.start) / s.size);
      return { start: s.start + index * s.size, size: s.size, readable: s.readable, erasable: s.erasable, writable: s.writable };
    }
  }
  return null;
}

/** Every sector that [start, end) touches, in address order; addresses outside the layout are skipped. */
export function sectorsIn(layout: MemoryLayout, start: number, end: number): Sector[] {
  const out: Sector[] = [];
  for (let at = start; at < end; ) {
    const s = sectorAt(layout, at);
    if (!s) {
      at = nextSegmentStart(layout, at) ?? end;
      continue;
    }
    out.push(s);
    at = s.start + s.size;
  }
  return out;
}

function nextSegmentStart(layout: MemoryLayout, after: number): number | null {
  const starts = layout.segments.map((s) => s.start).filter((s) => s > after);
  return starts.length ? Math.min(...starts) : null;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The planning unit for a layout: the smallest writable sector, when every writable sector boundary
 * is a multiple of it (true of every ST layout: 16 KiB sectors before 64 and 128 KiB ones), else the
 * greatest common divisor of the boundaries. Blocks of this size never straddle a sector.
 */
export function planPageSize(layout: MemoryLayout): number {
  const writable = layout.segments.filter((s) => s.writable);
  const list = writable.length ? writable : layout.segments;
  let unit = Math.min(...list.map((s) => s.size));
  for (const s of list) unit = gcd(gcd(unit, s.size), s.start);
  return Math.max(1, unit);
}

/**
 * The layout as one TargetMemory: [lowest start, highest end), with holes between groups and sectors
 * that cannot be written marked reserved, so core/plan refuses an image that touches them before
 * anything is erased.
 */
export function layoutMemory(layout: MemoryLayout, memoryName: string): TargetMemory {
  const segs = [...layout.segments].sort((a, b) => a.start - b.start);
  const base = segs[0]!.start;
  const end = Math.max(...segs.map((s) => s.start + s.count * s.size));
  const reserved: TargetMemory['reserved'] = [];
  const add = (start: number, stop: number, what: string) => {
    const last = reserved[reserved.length - 1];
    if (last && last.end === start && last.what === what) last.end = stop;
    else reserved.push({ start, end: stop, what });
  };
  let at = base;
  for (const s of segs) {
    if (s.start > at) add(at, s.start, `nothing (a hole in the "${layout.name}" memory map)`);
    const segEnd = s.start + s.count * s.size;
    if (!s.writable) add(s.start, segEnd, `read-only sectors of "${layout.name}" (${hex(s.start, 8)}–${hex(segEnd - 1, 8)})`);
    at = Math.max(at, segEnd);
  }
  return { name: memoryName, base, size: end - base, pageSize: planPageSize(layout), reserved };
}

/** "4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB at 0x08000000 (rew)" style summary for the log. */
export function describeLayout(layout: MemoryLayout): string {
  const size = (n: number) => (n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`);
  const flags = (s: LayoutSegment) => `${s.readable ? 'r' : '-'}${s.erasable ? 'e' : '-'}${s.writable ? 'w' : '-'}`;
  return `${layout.name}: ${layout.segments.map((s) => `${s.count} x ${size(s.size)} at ${hex(s.start, 8)} (${flags(s)})`).join(', ')}`;
}
