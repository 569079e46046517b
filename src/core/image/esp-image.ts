import { toHex } from '../bytes/hex';
import { sha256 } from '../bytes/sha256';
import { xor8 } from '../bytes/sums';
import { badImage, offsetText } from './ascii';
import { createImage, DEFAULT_MEMORY, hex, type FirmwareImage } from './memory-image';

/**
 * Espressif application/bootloader image layout, ESP-IDF "App Image Format" (esp_app_format.h,
 * esp_image_header_t / esp_image_segment_header_t) and esptool bin_image.py.
 */
export const ESP_IMAGE = {
  MAGIC: 0xe9,
  /** Seed of the XOR checksum over all segment data (ESP_CHECKSUM_MAGIC). */
  CHECKSUM_MAGIC: 0xef,
  HEADER_LENGTH: 8,
  /** ESP32 and later add esp_image_header_t's extended fields, 24 bytes in all; the ESP8266 has only 8. */
  EXTENDED_HEADER_LENGTH: 24,
  SEGMENT_HEADER_LENGTH: 8,
  MAX_SEGMENTS: 16,
  SHA256_LENGTH: 32,
  /** wp_pin value meaning "no write-protect pin" (esptool bin_image.py WP_PIN_DISABLED). */
  WP_PIN_DISABLED: 0xee,
} as const;

/** esp_chip_id_t values (esp_app_format.h). */
const CHIP_IDS: Record<number, string> = {
  0x0000: 'ESP32',
  0x0002: 'ESP32-S2',
  0x0005: 'ESP32-C3',
  0x0009: 'ESP32-S3',
  0x000c: 'ESP32-C2',
  0x000d: 'ESP32-C6',
  0x0010: 'ESP32-H2',
  0x0012: 'ESP32-P4',
  0x0014: 'ESP32-C61',
  0x0017: 'ESP32-C5',
};

const SPI_MODES = ['QIO', 'QOUT', 'DIO', 'DOUT', 'FAST_READ', 'SLOW_READ'];

interface Layout {
  chip: string;
  headerLength: number;
  segments: { address: number; length: number; offset: number }[];
  checksumAt: number;
  hashAppended: boolean;
}

/** Why a header layout does not fit the file: where and what. */
interface Misfit {
  offset: number;
  why: string;
}

/** Walks the segment table for one header layout. */
function walk(bytes: Uint8Array, view: DataView, extended: boolean): Layout | Misfit {
  const count = bytes[1]!;
  const headerLength = extended ? ESP_IMAGE.EXTENDED_HEADER_LENGTH : ESP_IMAGE.HEADER_LENGTH;
  if (count === 0 || count > ESP_IMAGE.MAX_SEGMENTS) return { offset: 1, why: `segment count ${count}; expected 1 to 16.` };
  let chip = 'ESP8266';
  let hashAppended = false;
  if (extended) {
    const id = view.getUint16(12, true);
    if (CHIP_IDS[id] === undefined) return { offset: 12, why: `unknown chip ID ${id}.` };
    chip = CHIP_IDS[id]!;
    hashAppended = bytes[23] === 1;
  }
  const segments: Layout['segments'] = [];
  let at = headerLength;
  for (let i = 0; i < count; i++) {
    if (at + ESP_IMAGE.SEGMENT_HEADER_LENGTH > bytes.length) return { offset: at, why: `segment ${i}'s header is past the end of the file.` };
    const address = view.getUint32(at, true);
    const length = view.getUint32(at + 4, true);
    at += ESP_IMAGE.SEGMENT_HEADER_LENGTH;
    if (at + length > bytes.length) return { offset: at - 4, why: `segment ${i} is ${length} bytes, past the end of the file.` };
    segments.push({ address, length, offset: at });
    at += length;
  }
  // The checksum byte is the last byte of the 16-byte block the segments end in (esptool append_checksum).
  const checksumAt = at | 0xf;
  if (checksumAt >= bytes.length) return { offset: checksumAt, why: 'the file ends before the checksum byte.' };
  if (hashAppended && checksumAt + 1 + ESP_IMAGE.SHA256_LENGTH > bytes.length) {
    return { offset: checksumAt + 1, why: 'the file ends inside the appended SHA-256.' };
  }
  return { chip, headerLength, segments, checksumAt, hashAppended };
}

/**
 * True when bytes 8..23 look like esp_image_header_t's extended fields (wp_pin 0xEE "disabled" as esptool
 * writes it, known chip, reserved bytes zero, hash flag 0/1): an ESP32-family image even if its segment
 * table is damaged.
 */
function hasExtendedHeader(bytes: Uint8Array, view: DataView): boolean {
  return (
    bytes.length >= ESP_IMAGE.EXTENDED_HEADER_LENGTH &&
    bytes[8] === ESP_IMAGE.WP_PIN_DISABLED &&
    CHIP_IDS[view.getUint16(12, true)] !== undefined &&
    bytes[19] === 0 && bytes[20] === 0 && bytes[21] === 0 && bytes[22] === 0 &&
    bytes[23]! <= 1
  );
}

function checksumOf(bytes: Uint8Array, layout: Layout): number {
  let sum: number = ESP_IMAGE.CHECKSUM_MAGIC;
  for (const s of layout.segments) sum = xor8(bytes.subarray(s.offset, s.offset + s.length), sum);
  return sum;
}

/**
 * Recognises an Espressif image (magic 0xE9) and summarises it. The flash contents are the file itself,
 * at `baseAddress` (0x10000 for a typical app, 0x0/0x1000/0x2000 for a bootloader, by chip): the segment
 * load addresses are where the ROM copies them to RAM, not flash addresses, so they only go into `meta`.
 *
 * Returns null when the bytes do not have the layout of an image (a raw binary that starts with 0xE9).
 * Rejected: an image whose layout fits but whose checksum or appended SHA-256 is wrong, and one whose
 * header is clearly ESP32-family but whose segment table runs off the end.
 */
export function parseEspImage(bytes: Uint8Array, baseAddress = 0): FirmwareImage | null {
  if (bytes[0] !== ESP_IMAGE.MAGIC || bytes.length < ESP_IMAGE.EXTENDED_HEADER_LENGTH) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const walks = [walk(bytes, view, true), walk(bytes, view, false)];
  const candidates = walks.filter((l): l is Layout => 'segments' in l);
  if (candidates.length === 0) {
    if (!hasExtendedHeader(bytes, view)) return null;
    const misfit = walks[0] as Misfit;
    throw badImage('ESP image', offsetText(misfit.offset), misfit.why, { offset: misfit.offset });
  }
  const layout = candidates.find((l) => checksumOf(bytes, l) === bytes[l.checksumAt]);
  if (!layout) {
    const l = candidates[0]!;
    const expected = checksumOf(bytes, l);
    throw badImage('ESP image', offsetText(l.checksumAt), `checksum is ${hex(bytes[l.checksumAt]!, 2)}, expected ${hex(expected, 2)}.`, {
      offset: l.checksumAt,
      expected,
      actual: bytes[l.checksumAt]!,
    });
  }
  const imageLength = layout.checksumAt + 1 + (layout.hashAppended ? ESP_IMAGE.SHA256_LENGTH : 0);
  if (layout.hashAppended) {
    const stored = toHex(bytes.subarray(layout.checksumAt + 1, imageLength));
    const computed = toHex(sha256(bytes.subarray(0, layout.checksumAt + 1)));
    if (stored !== computed) {
      throw badImage('ESP image', offsetText(layout.checksumAt + 1), `the appended SHA-256 is ${stored}, computed ${computed}.`, {
        offset: layout.checksumAt + 1,
      });
    }
  }
  const meta: Record<string, string | number | boolean> = {
    chip: layout.chip,
    entry: hex(view.getUint32(4, true), 8),
    flashMode: SPI_MODES[bytes[2]!] ?? `mode ${bytes[2]}`,
    flashSizeCode: bytes[3]! >> 4,
    flashFreqCode: bytes[3]! & 0xf,
    segmentCount: layout.segments.length,
    imageLength,
    hashAppended: layout.hashAppended,
  };
  layout.segments.forEach((s, i) => {
    meta[`segment${i}`] = `${hex(s.address, 8)} +${s.length}`;
  });
  if (imageLength < bytes.length) meta.trailingBytes = bytes.length - imageLength; // e.g. a merged flash image
  const image = createImage('esp', [{ memory: DEFAULT_MEMORY, address: baseAddress, data: bytes.slice() }], view.getUint32(4, true));
  image.meta = meta;
  return image;
}
