import { crc32 } from '../bytes/crc32';
import { FlashError } from '../../shared/errors';
import { badImage, cannotWrite, offsetText } from './ascii';
import { createImage, hex, type FirmwareImage, type Segment } from './memory-image';

/** DFU file suffix, USB DFU 1.1 specification appendix B (table B.1), 16 bytes at the end of every .dfu. */
export const DFU_SUFFIX = {
  LENGTH: 16,
  /** ucDfuSignature "DFU" stored least-significant byte first, so the file reads 'U','F','D'. */
  SIGNATURE: [0x55, 0x46, 0x44],
  BCD_DFU_1_0: 0x0100,
  /** bcdDFU of DfuSe files, ST UM0391 section 3. */
  BCD_DFUSE: 0x011a,
} as const;

/** DfuSe container, ST UM0391 "DfuSe File Format Specification" sections 2-3. */
export const DFUSE = {
  PREFIX: 'DfuSe',
  PREFIX_LENGTH: 11,
  VERSION: 0x01,
  TARGET: 'Target',
  TARGET_PREFIX_LENGTH: 274,
  TARGET_NAME_LENGTH: 255,
  ELEMENT_HEADER_LENGTH: 8,
  /** STMicroelectronics' DFU bootloader VID:PID, the usual suffix values (dfuse-pack.py defaults). */
  ST_VENDOR_ID: 0x0483,
  ST_PRODUCT_ID: 0xdf11,
} as const;

export interface DfuSuffix {
  bcdDevice: number;
  idProduct: number;
  idVendor: number;
  bcdDFU: number;
}

/** Memory name for a DfuSe target's elements: the alternate setting the device must select to receive them. */
export function altMemory(alt: number): string {
  return `alt${alt}`;
}

/** True when the file ends in something shaped like a DFU suffix (signature and length), CRC not yet checked. */
export function hasDfuSuffix(bytes: Uint8Array): boolean {
  const s = bytes.length - DFU_SUFFIX.LENGTH;
  return (
    s >= 0 &&
    DFU_SUFFIX.SIGNATURE.every((b, i) => bytes[s + 8 + i] === b) &&
    bytes[s + 11] === DFU_SUFFIX.LENGTH
  );
}

/** Reads and checks the suffix: the CRC covers the whole file but dwCRC itself (USB DFU 1.1 B.1). */
export function parseDfuSuffix(bytes: Uint8Array): DfuSuffix {
  const s = bytes.length - DFU_SUFFIX.LENGTH;
  if (!hasDfuSuffix(bytes)) {
    throw badImage('DFU', offsetText(Math.max(0, s + 8)), "expected the DFU suffix signature 'UFD' and length 16 in the last 16 bytes.");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(s + 12, true);
  // dwCRC is the zlib CRC-32 without its final inversion, i.e. the inverse of crc32().
  const computed = ~crc32(bytes.subarray(0, bytes.length - 4)) >>> 0;
  if (stored !== computed) {
    throw badImage('DFU', offsetText(s + 12), `suffix CRC is ${hex(stored, 8)}, computed ${hex(computed, 8)}: the file is damaged.`, {
      expected: computed,
      actual: stored,
    });
  }
  return {
    bcdDevice: view.getUint16(s, true),
    idProduct: view.getUint16(s + 2, true),
    idVendor: view.getUint16(s + 4, true),
    bcdDFU: view.getUint16(s + 6, true),
  };
}

export function isDfuse(bytes: Uint8Array): boolean {
  return DFUSE.PREFIX.split('').every((ch, i) => bytes[i] === ch.charCodeAt(0));
}

/**
 * Reads a DfuSe .dfu: every element of every target, in memory 'alt<bAlternateSetting>'. Target names go to
 * meta ('alt0.name'), the suffix's USB IDs to meta too. Sizes are cross-checked at every level, and bytes
 * left over between the last target and the suffix are an error, not a warning.
 */
export function parseDfuse(bytes: Uint8Array): FirmwareImage {
  const suffix = parseDfuSuffix(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - DFU_SUFFIX.LENGTH;
  const fail = (offset: number, message: string, details: Record<string, number> = {}) =>
    badImage('DfuSe', offsetText(offset), message, { offset, ...details });
  const need = (at: number, length: number, what: string) => {
    if (at + length > end) throw fail(at, `${what} needs ${length} bytes, but only ${Math.max(0, end - at)} remain before the suffix.`);
  };
  const text = (at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length));

  need(0, DFUSE.PREFIX_LENGTH, 'the DfuSe prefix');
  if (text(0, 5) !== DFUSE.PREFIX) throw fail(0, `expected the signature 'DfuSe'.`);
  if (bytes[5] !== DFUSE.VERSION) throw fail(5, `bVersion is ${bytes[5]}; expected 1.`);
  const imageSize = view.getUint32(6, true);
  if (imageSize !== end) throw fail(6, `DFUImageSize is ${imageSize}, but the file without its suffix is ${end} bytes.`, { expected: end, actual: imageSize });
  const targets = bytes[10]!;

  const segments: Segment[] = [];
  const meta: Record<string, string | number | boolean> = {
    idVendor: suffix.idVendor,
    idProduct: suffix.idProduct,
    bcdDevice: suffix.bcdDevice,
    targets,
  };
  let at: number = DFUSE.PREFIX_LENGTH;
  for (let t = 0; t < targets; t++) {
    need(at, DFUSE.TARGET_PREFIX_LENGTH, `target ${t}'s prefix`);
    if (text(at, 6) !== DFUSE.TARGET) throw fail(at, `target ${t}: expected the signature 'Target'.`);
    const alt = bytes[at + 6]!;
    const named = view.getUint32(at + 7, true) !== 0;
    const nameBytes = bytes.subarray(at + 11, at + 11 + DFUSE.TARGET_NAME_LENGTH);
    const nul = nameBytes.indexOf(0);
    const name = String.fromCharCode(...nameBytes.subarray(0, nul < 0 ? nameBytes.length : nul));
    const targetSize = view.getUint32(at + 266, true);
    const elements = view.getUint32(at + 270, true);
    at += DFUSE.TARGET_PREFIX_LENGTH;
    need(at, targetSize, `target ${t}'s ${elements} elements`);
    const targetEnd = at + targetSize;
    if (named) meta[`${altMemory(alt)}.name`] = name;
    for (let e = 0; e < elements; e++) {
      if (at + DFUSE.ELEMENT_HEADER_LENGTH > targetEnd) throw fail(at, `target ${t}, element ${e}: the header runs past dwTargetSize.`);
      const address = view.getUint32(at, true);
      const size = view.getUint32(at + 4, true);
      at += DFUSE.ELEMENT_HEADER_LENGTH;
      if (at + size > targetEnd) {
        throw fail(at - 4, `target ${t}, element ${e}: dwElementSize ${size} runs past the target's dwTargetSize.`);
      }
      segments.push({ memory: altMemory(alt), address, data: bytes.slice(at, at + size), origin: `target ${t} element ${e}` });
      at += size;
    }
    if (at !== targetEnd) throw fail(at, `target ${t}: its elements end ${targetEnd - at} bytes before dwTargetSize says.`);
  }
  if (at !== end) throw fail(at, `${end - at} bytes follow the last target; expected the suffix.`);
  const image = createImage('dfuse', segments);
  image.meta = meta;
  return image;
}

/** A plain DFU 1.0 file: raw firmware plus the suffix. The payload carries no address, so it starts at `baseAddress`. */
export function parsePlainDfu(bytes: Uint8Array, baseAddress = 0): FirmwareImage {
  const suffix = parseDfuSuffix(bytes);
  const image = createImage('dfu', [{ memory: 'flash', address: baseAddress, data: bytes.slice(0, bytes.length - DFU_SUFFIX.LENGTH) }]);
  image.meta = { idVendor: suffix.idVendor, idProduct: suffix.idProduct, bcdDevice: suffix.bcdDevice };
  return image;
}

export interface DfuseWriteOptions {
  idVendor?: number;
  idProduct?: number;
  bcdDevice?: number;
}

/**
 * Writes a DfuSe file: one target per memory. Memories named 'alt<n>' keep their alternate setting; any
 * other memory goes to alt 0 ('flash' is the internal flash on ST parts), and target names come back from meta.
 */
export function writeDfuse(image: FirmwareImage, opts: DfuseWriteOptions = {}): Uint8Array {
  const byAlt = new Map<number, Segment[]>();
  for (const s of image.segments) {
    const m = /^alt(\d+)$/.exec(s.memory);
    const alt = m ? Number(m[1]) : 0;
    if (alt > 255) throw new FlashError('bad-image', `DfuSe alternate settings go up to 255, not ${alt}.`);
    byAlt.set(alt, [...(byAlt.get(alt) ?? []), s]);
  }
  if (byAlt.size > 255) throw new FlashError('bad-image', 'DfuSe holds at most 255 targets.');
  const targetSizes = [...byAlt.values()].map((segs) => segs.reduce((t, s) => t + DFUSE.ELEMENT_HEADER_LENGTH + s.data.length, 0));
  const size = DFUSE.PREFIX_LENGTH + targetSizes.reduce((t, n) => t + DFUSE.TARGET_PREFIX_LENGTH + n, 0) + DFU_SUFFIX.LENGTH;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i) & 0xff;
  };
  ascii(0, DFUSE.PREFIX);
  out[5] = DFUSE.VERSION;
  view.setUint32(6, size - DFU_SUFFIX.LENGTH, true);
  out[10] = byAlt.size;
  let at: number = DFUSE.PREFIX_LENGTH;
  [...byAlt.entries()].forEach(([alt, segs], t) => {
    const name = image.meta?.[`${altMemory(alt)}.name`];
    ascii(at, DFUSE.TARGET);
    out[at + 6] = alt;
    if (typeof name === 'string') {
      view.setUint32(at + 7, 1, true);
      ascii(at + 11, name.slice(0, DFUSE.TARGET_NAME_LENGTH - 1));
    }
    view.setUint32(at + 266, targetSizes[t]!, true);
    view.setUint32(at + 270, segs.length, true);
    at += DFUSE.TARGET_PREFIX_LENGTH;
    for (const s of segs) {
      if (s.address + s.data.length > 0x1_0000_0000) throw cannotWrite('DfuSe', `element addresses are 32-bit; cannot place ${s.data.length} bytes at ${hex(s.address, 8)}.`);
      view.setUint32(at, s.address, true);
      view.setUint32(at + 4, s.data.length, true);
      out.set(s.data, at + 8);
      at += DFUSE.ELEMENT_HEADER_LENGTH + s.data.length;
    }
  });
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  view.setUint16(at, opts.bcdDevice ?? num(image.meta?.bcdDevice, 0), true);
  view.setUint16(at + 2, opts.idProduct ?? num(image.meta?.idProduct, DFUSE.ST_PRODUCT_ID), true);
  view.setUint16(at + 4, opts.idVendor ?? num(image.meta?.idVendor, DFUSE.ST_VENDOR_ID), true);
  view.setUint16(at + 6, DFU_SUFFIX.BCD_DFUSE, true);
  out.set(DFU_SUFFIX.SIGNATURE, at + 8);
  out[at + 11] = DFU_SUFFIX.LENGTH;
  view.setUint32(at + 12, ~crc32(out.subarray(0, size - 4)) >>> 0, true);
  return out;
}
