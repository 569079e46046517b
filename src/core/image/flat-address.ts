import { FlashError } from '../../shared/errors';
import { createImage, DEFAULT_MEMORY, type FirmwareImage, type Segment } from './memory-image';

/**
 * Where avr-gcc's linker script puts each AVR memory in one flat ELF/HEX address space
 * (avr-libc `avr5.x` MEMORY regions; avrdude fileio.c multi-memory map). Each window is 64 KiB.
 */
export const AVR_MEMORY_OFFSETS = {
  sram: 0x800000,
  eeprom: 0x810000,
  fuse: 0x820000,
  lock: 0x830000,
  signature: 0x840000,
  userrow: 0x850000,
  bootrow: 0x860000,
} as const;

const AVR_WINDOW = 0x10000;

/** The AVR memory a flat address falls in, and the address inside it; flash for everything below 0x800000. */
export function splitAvrAddress(flat: number): { memory: string; address: number } {
  for (const [memory, base] of Object.entries(AVR_MEMORY_OFFSETS)) {
    if (flat >= base && flat < base + AVR_WINDOW) return { memory, address: flat - base };
  }
  return { memory: DEFAULT_MEMORY, address: flat };
}

/** Offset to add to a memory's addresses to place it in a flat file address space. */
export function flatOffset(memory: string): number {
  return (AVR_MEMORY_OFFSETS as Record<string, number>)[memory] ?? 0;
}

/**
 * The segments a flat-address writer (HEX, SREC) emits, sorted and conflict-checked.
 * With `memory`, only that memory at its own addresses (what avrdude expects for `-U eeprom:w:x.hex`);
 * without, every memory, AVR memories moved to their avr-gcc windows.
 */
export function flatSegments(image: FirmwareImage, memory?: string): Segment[] {
  if (memory !== undefined) {
    const own = image.segments.filter((s) => s.memory === memory);
    if (own.length === 0) throw noSuchMemory(image, memory);
    return own;
  }
  const moved = image.segments.map((s) => ({
    memory: DEFAULT_MEMORY,
    address: s.address + flatOffset(s.memory),
    data: s.data,
    origin: s.memory,
  }));
  return createImage(image.format, moved).segments;
}

/** The memory a single-memory writer (BIN) uses when none is named: the only one, else 'flash'. */
export function defaultMemory(image: FirmwareImage): string {
  const names = memoryNames(image);
  if (names.length === 0) return DEFAULT_MEMORY;
  if (names.length === 1) return names[0]!;
  if (names.includes(DEFAULT_MEMORY)) return DEFAULT_MEMORY;
  throw new FlashError('bad-image', `The image has several memories (${names.join(', ')}); choose one.`, {
    hint: 'Pass the memory to write, e.g. --memory ' + (names[0] ?? DEFAULT_MEMORY) + '.',
    details: { memories: names.join(',') },
  });
}

export function memoryNames(image: FirmwareImage): string[] {
  return [...new Set(image.segments.map((s) => s.memory))];
}

export function noSuchMemory(image: FirmwareImage, memory: string): FlashError {
  const names = memoryNames(image);
  return new FlashError('bad-image', `The image has no '${memory}' memory (it has: ${names.join(', ') || 'nothing'}).`, {
    details: { memory, memories: names.join(',') },
  });
}
