import type { EraseType } from './types';

export interface EraseOp {
  address: number;
  type: EraseType;
}

/**
 * The quickest set of aligned erases (by typical time) that clears every smallest-unit sector of
 * [start, end) that `needed` asks for, without touching anything outside [start, end).
 *
 * Invariants:
 * - `start` and `end` are multiples of the smallest erase size;
 * - each op is aligned to its own size and lies inside [start, end);
 * - an aligned block is erased whole only when that is quicker than its needed sub-blocks, so a
 *   64 KiB block with 3 dirty sectors gets three 4 KiB erases and one with 16 gets one 64 KiB erase.
 */
export function planErase(start: number, end: number, types: readonly EraseType[], needed: (sectorAddress: number) => boolean): EraseOp[] {
  const sorted = [...types].sort((a, b) => b.size - a.size);
  if (sorted.length === 0) return [];
  const smallest = sorted[sorted.length - 1]!;
  if (start % smallest.size !== 0 || end % smallest.size !== 0) {
    throw new RangeError(`erase range 0x${start.toString(16)}-0x${end.toString(16)} is not aligned to ${smallest.size}`);
  }

  interface Plan {
    ms: number;
    ops: EraseOp[];
  }
  const join = (...plans: Plan[]): Plan => ({ ms: plans.reduce((n, p) => n + p.ms, 0), ops: plans.flatMap((p) => p.ops) });

  const cover = (from: number, to: number, level: number): Plan => {
    if (from >= to) return { ms: 0, ops: [] };
    const type = sorted[level]!;
    if (level === sorted.length - 1) {
      const ops: EraseOp[] = [];
      for (let a = from; a < to; a += type.size) if (needed(a)) ops.push({ address: a, type });
      return { ms: ops.length * type.typMs, ops };
    }
    const first = Math.ceil(from / type.size) * type.size;
    const last = Math.floor(to / type.size) * type.size;
    if (first >= last) return cover(from, to, level + 1);
    const parts: Plan[] = [cover(from, first, level + 1)];
    for (let a = first; a < last; a += type.size) {
      const inside = cover(a, a + type.size, level + 1);
      if (inside.ops.length === 0) continue;
      parts.push(type.typMs <= inside.ms ? { ms: type.typMs, ops: [{ address: a, type }] } : inside);
    }
    parts.push(cover(last, to, level + 1));
    return join(...parts);
  };
  return cover(start, end, 0).ops;
}
