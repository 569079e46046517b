import { concatBytes } from '../bytes/concat';
import { FlashError } from '../../shared/errors';
import type { MemoryInfo } from '../../shared/model';
import { flatten, hex, segmentsOf, type FirmwareImage } from '../image/memory-image';

/** How an image must be cut for one memory of a device. */
export interface BlockConstraints {
  /** Blocks start on multiples of this and are padded to whole pages. */
  pageSize: number;
  /** Largest block one writeBlock call takes (a multiple of pageSize). */
  maxBlock: number;
  /** Largest block one readBlock call takes, when reads may be longer than writes (a multiple of pageSize). */
  maxReadBlock?: number;
  /** Value of erased memory, used to pad partial pages. */
  fill: number;
}

/** A memory as it is on the identified device, with what must never be written. */
export interface TargetMemory extends MemoryInfo {
  /** Address ranges [start, end) an image may not touch, e.g. the bootloader itself. */
  reserved: { start: number; end: number; what: string }[];
}

export interface Block {
  memory: string;
  address: number;
  data: Uint8Array;
}

/**
 * Cuts one memory of an image into the blocks a driver writes: whole pages (partial pages padded
 * with the erased value), consecutive pages joined up to `maxBlock`, never crossing a page boundary
 * inside a block.
 */
export function planBlocks(image: FirmwareImage, memory: string, c: BlockConstraints): Block[] {
  if (c.maxBlock % c.pageSize !== 0) throw new FlashError('internal', `maxBlock ${c.maxBlock} is not whole pages of ${c.pageSize}.`);
  const runs: [number, number][] = [];
  for (const seg of segmentsOf(image, memory)) {
    const start = Math.floor(seg.address / c.pageSize) * c.pageSize;
    const end = Math.ceil((seg.address + seg.data.length) / c.pageSize) * c.pageSize;
    const last = runs[runs.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else runs.push([start, end]);
  }
  const blocks: Block[] = [];
  for (const [start, end] of runs) {
    const bytes = flatten(image, memory, start, end, c.fill);
    for (let at = start; at < end; at += c.maxBlock) {
      const size = Math.min(c.maxBlock, end - at);
      blocks.push({ memory, address: at, data: bytes.subarray(at - start, at - start + size) });
    }
  }
  return blocks;
}

/**
 * Joins contiguous blocks of one memory into reads of up to `maxRead` bytes, so a verify moves as few
 * request frames as the device allows. Blocks longer than `maxRead` stay as they are.
 */
export function readGroups(blocks: Block[], maxRead: number): Block[] {
  const out: Block[] = [];
  for (const b of blocks) {
    const last = out[out.length - 1];
    if (last && last.memory === b.memory && last.address + last.data.length === b.address && last.data.length + b.data.length <= maxRead) {
      last.data = concatBytes(last.data, b.data);
    } else {
      out.push({ ...b });
    }
  }
  return out;
}

/**
 * Refuses an image that does not fit the identified device, before anything is erased or written:
 * unknown memories, bytes outside a memory, and bytes in reserved ranges such as the bootloader.
 */
export function validateImage(image: FirmwareImage, memories: TargetMemory[], deviceName: string): void {
  for (const seg of image.segments) {
    const mem = memories.find((m) => m.name === seg.memory);
    if (!mem) {
      throw new FlashError('image-out-of-range', `The file has ${seg.memory} data, and ${deviceName} has no ${seg.memory} memory this programmer can write.`, {
        details: { memory: seg.memory, address: seg.address },
      });
    }
    const end = seg.address + seg.data.length;
    if (seg.address < mem.base || end > mem.base + mem.size) {
      throw new FlashError(
        'image-out-of-range',
        `The file needs ${seg.memory} ${hex(seg.address)}–${hex(end - 1)}, but ${deviceName} has ${seg.memory} ${hex(mem.base)}–${hex(mem.base + mem.size - 1)}.`,
        { details: { memory: seg.memory, start: seg.address, end, size: mem.size } },
      );
    }
    for (const r of mem.reserved) {
      if (seg.address < r.end && end > r.start) {
        const from = Math.max(seg.address, r.start);
        const to = Math.min(end, r.end);
        throw new FlashError('image-out-of-range', `The file writes ${seg.memory} ${hex(from)}–${hex(to - 1)}, which is reserved for ${r.what}.`, {
          hint: 'Use a firmware built for this board with its bootloader (e.g. "Upload using bootloader" settings), or program it with an ISP programmer.',
          details: { memory: seg.memory, start: from, end: to },
        });
      }
    }
  }
}
