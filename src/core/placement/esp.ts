import type { ImageKind } from '../../shared/intake';
import { parseEspImage } from '../image/esp-image';

/**
 * Espressif flash layout facts (ESP-IDF "Partition Tables" and "Bootloader" docs, esptool
 * BOOTLOADER_FLASH_OFFSET, esp_app_format.h / esp_bootloader_format.h).
 */
export const ESP_LAYOUT = {
  /** CONFIG_PARTITION_TABLE_OFFSET default. */
  PARTITION_TABLE: 0x8000,
  /** First app partition of every default partition table ("factory" or "ota_0"). */
  APP: 0x10000,
  /** App partitions must start on a 64 KiB boundary (the flash MMU page). */
  APP_ALIGN: 0x10000,
  /** esp_partition_info_t: 32 bytes, magic 0x50AA little-endian (bytes AA 50). */
  PARTITION_ENTRY: 32,
  /** The table with its MD5 entry fits one 4 KiB sector (ESP_PARTITION_TABLE_MAX_LEN 0xC00). */
  PARTITION_TABLE_MAX: 0xc00,
  /** esp_app_desc_t.magic_word, at the start of the first segment of an application. */
  APP_DESC_MAGIC: 0xabcd5432,
  /** esp_bootloader_desc_t.magic_byte, at the start of the bootloader's first (DRAM) segment. */
  BOOTLOADER_DESC_MAGIC: 0x50,
} as const;

/** Partition types/subtypes an application may boot from: app/factory and app/ota_0. */
const APP_TYPE = 0x00;
const FACTORY = 0x00;
const OTA_0 = 0x10;

export interface EspPartition {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
}

/** The entries of an ESP-IDF partition table binary, or null if the bytes are not one. */
export function parsePartitionTable(bytes: Uint8Array): EspPartition[] | null {
  if (bytes[0] !== 0xaa || bytes[1] !== 0x50) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: EspPartition[] = [];
  for (let at = 0; at + ESP_LAYOUT.PARTITION_ENTRY <= Math.min(bytes.length, ESP_LAYOUT.PARTITION_TABLE_MAX); at += ESP_LAYOUT.PARTITION_ENTRY) {
    if (bytes[at] !== 0xaa || bytes[at + 1] !== 0x50) break; // 0xEBEB MD5 entry or 0xFF end
    const label = String.fromCharCode(...bytes.subarray(at + 12, at + 28)).replace(/\0.*$/s, '');
    out.push({ label, type: bytes[at + 2]!, subtype: bytes[at + 3]!, offset: view.getUint32(at + 4, true), size: view.getUint32(at + 8, true) });
  }
  return out;
}

/** Where the bootloader boots an application from: the factory partition, else ota_0. */
export function appPartition(table: EspPartition[]): EspPartition | undefined {
  const apps = table.filter((p) => p.type === APP_TYPE);
  return apps.find((p) => p.subtype === FACTORY) ?? apps.find((p) => p.subtype === OTA_0);
}

export interface EspFileKind {
  kind: ImageKind;
  /** The chip the image header names ('ESP32-C3'); ESP8266 images name none. */
  chip?: string;
  table?: EspPartition[];
}

/**
 * What an Espressif file is: an application (it carries esp_app_desc_t), a bootloader (esp_bootloader_desc_t,
 * or small and without an app description, as bootloaders before ESP-IDF 5.3 are), a partition table, or a
 * merged whole-flash image (an image found at one of `bootloaderOffsets` behind 0xFF padding, or a bootloader
 * followed by more data). Null when the bytes are none of these.
 */
export function espFileKind(bytes: Uint8Array, bootloaderOffsets: readonly number[]): EspFileKind | null {
  const table = parsePartitionTable(bytes);
  if (table) return { kind: 'esp-partition-table', table };
  const image = safeParse(bytes);
  if (image) {
    const chip = typeof image.meta?.chip === 'string' ? image.meta.chip : undefined;
    const withChip = chip === undefined ? {} : { chip };
    const first = (chip === 'ESP8266' ? 8 : 24) + 8; // header, then the first segment's 8-byte header
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (first + 4 <= bytes.length && view.getUint32(first, true) === ESP_LAYOUT.APP_DESC_MAGIC) return { kind: 'esp-app', ...withChip };
    const trailing = Number(image.meta?.trailingBytes ?? 0);
    const bootloader = bytes[first] === ESP_LAYOUT.BOOTLOADER_DESC_MAGIC || Number(image.meta?.imageLength) < ESP_LAYOUT.PARTITION_TABLE;
    if (chip === 'ESP8266') return { kind: 'esp-image', ...withChip };
    if (bootloader && trailing > ESP_LAYOUT.PARTITION_ENTRY) return { kind: 'esp-merged', ...withChip };
    if (bootloader) return { kind: 'esp-bootloader', ...withChip };
    return { kind: 'esp-image', ...withChip };
  }
  for (const offset of bootloaderOffsets) {
    if (offset === 0 || offset >= bytes.length || !bytes.subarray(0, offset).every((b) => b === 0xff)) continue;
    const inner = safeParse(bytes.subarray(offset));
    if (inner) return { kind: 'esp-merged', ...(typeof inner.meta?.chip === 'string' ? { chip: inner.meta.chip } : {}) };
  }
  return null;
}

function safeParse(bytes: Uint8Array) {
  try {
    return parseEspImage(bytes);
  } catch {
    return null; // a damaged image is reported by readImage when the file is read as a whole
  }
}
