import { createCrc32 } from '../bytes/crc32';
import { toHex, hex32 } from '../bytes/hex';
import { createSha256 } from '../bytes/sha256';
import { parseBin, writeBin } from './bin';
import { hasDfuSuffix, isDfuse, parseDfuse, parsePlainDfu } from './dfuse';
import { ELF, parseElf } from './elf';
import { parseEspImage } from './esp-image';
import { parseIntelHex, writeIntelHex } from './intel-hex';
import { byteCount, type FirmwareImage } from './memory-image';
import { parseSrec, writeSrec } from './srec';
import { parseUf2, UF2, writeUf2 } from './uf2';

export * from './memory-image';
export { parseIntelHex, writeIntelHex } from './intel-hex';
export { parseSrec, writeSrec } from './srec';
export { parseElf } from './elf';
export { parseUf2, writeUf2, UF2_FAMILY, familyName } from './uf2';
export { parseDfuse, parsePlainDfu, writeDfuse } from './dfuse';
export { parseEspImage } from './esp-image';
export { parseBin, writeBin } from './bin';
export { AVR_MEMORY_OFFSETS, splitAvrAddress } from './flat-address';

export type ImageFormat = 'ihex' | 'srec' | 'elf' | 'uf2' | 'dfuse' | 'dfu' | 'esp' | 'bin';

export interface ReadOptions {
  /** File name; its extension is a hint when the content alone is not conclusive. */
  name?: string;
  /** Where a raw binary (also a plain .dfu payload or an ESP image) starts in memory; 0 unless told. */
  baseAddress?: number;
  /** UF2: keep only this family's blocks. */
  familyId?: number;
}

/** The extensions each format usually has, lower case, without the dot. */
const EXTENSIONS: Record<ImageFormat, string[]> = {
  ihex: ['hex', 'ihx', 'ihex', 'h86', 'a43', 'eep'],
  srec: ['srec', 's19', 's28', 's37', 'mot', 'mhx', 'srecord', 's'],
  elf: ['elf', 'axf', 'out', 'o'],
  uf2: ['uf2'],
  dfuse: ['dfu'],
  dfu: [],
  esp: [],
  bin: ['bin', 'img', 'raw'],
};

/**
 * Content sniffing, strongest evidence first: binary magic numbers, the DFU suffix, the first text
 * character. Only when the content says nothing does the extension decide, and a file named like a
 * structured format then goes to that parser, so a damaged .hex is reported line by line instead of
 * being flashed as a raw binary.
 */
export function detectFormat(bytes: Uint8Array, name?: string): ImageFormat {
  if (ELF.MAGIC.every((m, i) => bytes[i] === m)) return 'elf';
  if (isDfuse(bytes)) return 'dfuse';
  if (bytes.length >= 8 && readU32(bytes, 0) === UF2.MAGIC_START0 && readU32(bytes, 4) === UF2.MAGIC_START1) return 'uf2';
  if (hasDfuSuffix(bytes)) return 'dfu';
  const first = firstNonBlank(bytes);
  if (first.c === 0x3a /* ':' */) return 'ihex';
  if ((first.c === 0x53 || first.c === 0x73) /* 'S' */ && first.next !== undefined && first.next >= 0x30 && first.next <= 0x39) return 'srec';
  const hinted = name === undefined ? undefined : formatFromName(name);
  if (bytes[0] === 0xe9 && (hinted === undefined || hinted === 'bin')) return 'esp';
  return hinted ?? 'bin';
}

export function formatFromName(name: string): ImageFormat | undefined {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  for (const [format, exts] of Object.entries(EXTENSIONS)) if (exts.includes(ext)) return format as ImageFormat;
  return undefined;
}

/** Reads any supported firmware file. Every rejection is a FlashError('bad-image') saying where and what. */
export function readImage(bytes: Uint8Array, opts: ReadOptions = {}): FirmwareImage {
  const base = opts.baseAddress ?? 0;
  switch (detectFormat(bytes, opts.name)) {
    case 'ihex':
      return parseIntelHex(bytes);
    case 'srec':
      return parseSrec(bytes);
    case 'elf':
      return parseElf(bytes);
    case 'uf2':
      return parseUf2(bytes, opts.familyId === undefined ? {} : { familyId: opts.familyId });
    case 'dfuse':
      return isDfuse(bytes) ? parseDfuse(bytes) : parsePlainDfu(bytes, base);
    case 'dfu':
      return parsePlainDfu(bytes, base);
    case 'esp':
      return parseEspImage(bytes, base) ?? parseBin(bytes, base);
    case 'bin':
      return parseBin(bytes, base);
  }
}

export type WriteFormat = 'bin' | 'hex' | 'srec' | 'uf2';

export interface WriteOptions {
  /** Byte for holes (bin, and partial UF2 pages); 0xFF unless told. */
  fill?: number;
  /** UF2 family ID (flag 0x2000); without it the UF2 carries none. */
  familyId?: number;
  /** Write only this memory (bin: default the only memory, else 'flash'). */
  memory?: string;
  /** Data bytes per record for hex/srec. */
  recordLength?: number;
}

export function writeImage(image: FirmwareImage, to: WriteFormat, opts: WriteOptions = {}): Uint8Array {
  switch (to) {
    case 'bin':
      return writeBin(image, opts);
    case 'hex':
      return writeIntelHex(image, opts);
    case 'srec':
      return writeSrec(image, opts);
    case 'uf2':
      return writeUf2(image, opts);
  }
}

/** What `webprog info` and the inspector show: plain data, safe to post across threads. */
export interface ImageDescription {
  format: string;
  segments: { memory: string; address: number; length: number }[];
  totalBytes: number;
  entry?: number;
  /** CRC-32 (zlib) of every segment's bytes in image order, holes not included: 8 hex digits. */
  crc32: string;
  /** SHA-256 of the same bytes, 64 hex digits. Equals `sha256sum` of the .bin when the image is one segment. */
  sha256: string;
  meta?: Record<string, string | number | boolean>;
}

export function describeImage(image: FirmwareImage): ImageDescription {
  const crc = createCrc32();
  const sha = createSha256();
  for (const s of image.segments) {
    crc.update(s.data);
    sha.update(s.data);
  }
  const out: ImageDescription = {
    format: image.format,
    segments: image.segments.map((s) => ({ memory: s.memory, address: s.address, length: s.data.length })),
    totalBytes: byteCount(image),
    crc32: hex32(crc.digest()),
    sha256: toHex(sha.digest()),
  };
  if (image.entry !== undefined) out.entry = image.entry;
  if (image.meta !== undefined) out.meta = { ...image.meta };
  return out;
}

/** The first character that is not whitespace (after a UTF-8 byte order mark), and the one after it. */
function firstNonBlank(bytes: Uint8Array): { c?: number; next?: number } {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (; i < bytes.length && i < 4096; i++) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return { c, next: bytes[i + 1] };
  }
  return {};
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}
