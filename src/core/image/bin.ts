import { FlashError } from '../../shared/errors';
import { defaultMemory, noSuchMemory } from './flat-address';
import { cannotWrite } from './ascii';
import { createImage, DEFAULT_MEMORY, flatten, hex, span, type FirmwareImage } from './memory-image';

/** A raw binary: the bytes as they sit in memory from `baseAddress` on. It carries no address of its own. */
export function parseBin(bytes: Uint8Array, baseAddress = 0, memory = DEFAULT_MEMORY): FirmwareImage {
  if (!Number.isSafeInteger(baseAddress) || baseAddress < 0) {
    throw new FlashError('bad-image', `The base address for a raw binary must be a non-negative integer, got ${baseAddress}.`);
  }
  return createImage('bin', [{ memory, address: baseAddress, data: bytes.slice() }]);
}

export interface BinOptions {
  /** Byte for holes between segments; 0xFF, the erased state of NOR flash, unless told. */
  fill?: number;
  /** Which memory to write; default: the only one, else 'flash'. */
  memory?: string;
  /** Refuse to build a binary larger than this (a file with code at 0x08000000 and option bytes at
   * 0x1FFF7800 spans 400 MiB); 256 MiB unless told. */
  maxBytes?: number;
}

/** One memory from its lowest to its highest address, holes filled. The base address is lost. */
export function writeBin(image: FirmwareImage, opts: BinOptions = {}): Uint8Array {
  const memory = opts.memory ?? defaultMemory(image);
  const range = span(image, memory);
  if (range === null) throw noSuchMemory(image, memory);
  const size = range[1] - range[0];
  const maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  if (size > maxBytes) {
    throw cannotWrite('BIN', `'${memory}' spans ${hex(range[0], 8)}..${hex(range[1] - 1, 8)}, a ${size}-byte binary (limit ${maxBytes}).`, {
      start: range[0],
      end: range[1],
    });
  }
  return flatten(image, memory, range[0], range[1], opts.fill ?? 0xff);
}
