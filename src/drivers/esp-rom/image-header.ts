import { sha256 } from '../../core/bytes/sha256';
import { ESP_IMAGE, parseEspImage } from '../../core/image/esp-image';
import { ESP_CHIPS, type EspChip } from './chips/index';

/**
 * ESP-IDF image headers inside the bytes being flashed: which chip an image was built for, and the
 * flash parameters (mode, size, frequency) in header bytes 2..3, kept or set as esptool does.
 */

/** SPI flash modes, image header byte 2 (esp_image_spi_mode_t). */
export const FLASH_MODES = { qio: 0, qout: 1, dio: 2, dout: 3 } as const;

export interface FlashParams {
  flashMode?: 'keep' | keyof typeof FLASH_MODES;
  /** A key of the chip's flashFreqCodes ('40m', '80m', ...) or 'keep'. */
  flashFreq?: string;
  /** A key of the chip's flashSizeCodes ('4MB', ...), 'detect' (the size found on the board) or 'keep'. */
  flashSize?: string;
}

/**
 * The chip an ESP32-family header at `at` names, or null when the bytes there are not such a header.
 * Only the extended header (bytes 8..23) is trusted: wp_pin 0xEE, a known chip id, zero reserved bytes.
 */
export function imageChipAt(bytes: Uint8Array, at: number): { chipId: number; chip?: EspChip } | null {
  if (at < 0 || at + ESP_IMAGE.EXTENDED_HEADER_LENGTH > bytes.length) return null;
  const h = bytes.subarray(at, at + ESP_IMAGE.EXTENDED_HEADER_LENGTH);
  if (h[0] !== ESP_IMAGE.MAGIC || h[1]! < 1 || h[1]! > ESP_IMAGE.MAX_SEGMENTS) return null;
  if (h[8] !== ESP_IMAGE.WP_PIN_DISABLED || h[19] !== 0 || h[20] !== 0 || h[21] !== 0 || h[22] !== 0 || h[23]! > 1) return null;
  const chipId = h[12]! | (h[13]! << 8);
  const chip = ESP_CHIPS.find((c) => c.imageChipId === chipId);
  if (!chip) return null;
  return { chipId, chip };
}

/**
 * Offsets inside a block written at `address` where an image header may start: the chip's bootloader
 * offset and every 64 KiB boundary (app partitions are 64 KiB aligned).
 */
export function headerOffsets(address: number, length: number, chip: EspChip): number[] {
  const out: number[] = [];
  if (chip.bootloaderOffset >= address && chip.bootloaderOffset < address + length) out.push(chip.bootloaderOffset - address);
  for (let a = Math.ceil(address / 0x10000) * 0x10000; a < address + length; a += 0x10000) if (a !== chip.bootloaderOffset) out.push(a - address);
  return out;
}

/** The first image in the block built for another chip than `chip`, if any. */
export function foreignImage(address: number, data: Uint8Array, chip: EspChip): { address: number; builtFor: string } | null {
  for (const off of headerOffsets(address, data.length, chip)) {
    const found = imageChipAt(data, off);
    if (found && found.chip && found.chip.id !== chip.id) return { address: address + off, builtFor: found.chip.name };
  }
  return null;
}

/**
 * Applies flash parameters to the bootloader image header when the block holds the whole bootloader
 * image (so an appended SHA-256 can be recomputed). Returns the bytes to write (a copy when changed)
 * and whether anything changed. Pure: write and verify call it on the same bytes and get the same answer.
 */
export function applyFlashParams(
  address: number,
  data: Uint8Array,
  chip: EspChip,
  params: FlashParams,
  detectedSize: number,
): { data: Uint8Array; changed: boolean; reason?: string } {
  const mode = params.flashMode ?? 'keep';
  const freq = params.flashFreq ?? 'keep';
  const size = params.flashSize ?? 'keep';
  if (mode === 'keep' && freq === 'keep' && size === 'keep') return { data, changed: false };
  const at = chip.bootloaderOffset - address;
  if (at < 0 || at >= data.length || data[at] !== ESP_IMAGE.MAGIC) return { data, changed: false };
  let image;
  try {
    image = parseEspImage(data.subarray(at));
  } catch {
    image = null;
  }
  if (!image || !image.meta) return { data, changed: false, reason: 'not a valid image' };
  const imageLength = Number(image.meta.imageLength);
  const hashAppended = image.meta.hashAppended === true;
  if (at + imageLength > data.length) return { data, changed: false, reason: 'the image continues past this block' };
  const out = data.slice();
  if (mode !== 'keep') out[at + 2] = FLASH_MODES[mode];
  let byte3 = out[at + 3]!;
  if (freq !== 'keep') {
    const code = chip.flashFreqCodes[freq];
    if (code === undefined) return { data, changed: false, reason: `${chip.name} has no flash frequency ${freq}` };
    byte3 = (byte3 & 0xf0) | code;
  }
  if (size !== 'keep') {
    const name = size === 'detect' ? sizeName(detectedSize) : size;
    const code = chip.flashSizeCodes[name];
    if (code === undefined) return { data, changed: false, reason: `${chip.name} has no flash size ${name}` };
    byte3 = (byte3 & 0x0f) | code;
  }
  out[at + 3] = byte3;
  if (hashAppended) {
    const digestAt = at + imageLength - ESP_IMAGE.SHA256_LENGTH;
    out.set(sha256(out.subarray(at, digestAt)), digestAt);
  }
  const changed = out.some((b, i) => b !== data[i]);
  return { data: changed ? out : data, changed };
}

/** 4194304 → '4MB', 262144 → '256KB'. */
export function sizeName(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)}MB` : `${bytes / 1024}KB`;
}
