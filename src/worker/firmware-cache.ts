import { describeImage, readImage, type FirmwareImage } from '../core/image/index';
import type { FirmwareEntry, FirmwareFile, ImageSummary } from '../shared/api';
import { FlashError } from '../shared/errors';
import { sha256Hex } from './digest';
import type { FlasherDb } from './storage/db';
import * as library from './storage/firmware';

/** A parsed firmware file: what the page sees, the image the engine writes, and the file's bytes. */
export interface LoadedFirmware {
  summary: ImageSummary;
  image: FirmwareImage;
  bytes: ArrayBuffer;
}

const CACHE_LIMIT = 4;

/**
 * Parsed firmware kept ready between `inspect` and `flash`: a few recent files at most, anything else
 * is parsed again from the library on demand.
 */
export class FirmwareCache {
  readonly #loaded = new Map<string, LoadedFirmware>();

  constructor(private readonly db: () => Promise<FlasherDb>) {}

  /** Parses a file; `keep` puts it in the cache jobs read from (the inspector's files stay out of it). */
  async load(file: FirmwareFile, keep = true): Promise<LoadedFirmware> {
    if (!(file.bytes instanceof ArrayBuffer)) throw new FlashError('bad-image', 'No file content was received.');
    const bytes = new Uint8Array(file.bytes);
    const fileSha256 = await sha256Hex(bytes);
    const image = readImage(bytes, { name: file.name });
    const d = describeImage(image);
    const summary: ImageSummary = {
      name: file.name,
      fileSize: bytes.length,
      fileSha256,
      format: d.format,
      segments: d.segments,
      totalBytes: d.totalBytes,
      imageSha256: d.sha256,
      crc32: d.crc32,
    };
    if (d.entry !== undefined) summary.entry = d.entry;
    if (d.meta !== undefined) summary.meta = d.meta;
    const fw = { summary, image, bytes: file.bytes };
    if (keep) this.#remember(fw);
    return fw;
  }

  /** The firmware a job names: parsed this session, or from the library (`keep` as in `load`). */
  async get(fileSha256: string, keep = true): Promise<LoadedFirmware> {
    const cached = this.#loaded.get(fileSha256);
    if (cached) return cached;
    const stored = await library.getFirmware(await this.db(), fileSha256);
    if (!stored) throw library.notInLibrary(fileSha256);
    return this.load({ name: stored.entry.name, bytes: stored.bytes }, keep);
  }

  #remember(fw: LoadedFirmware): void {
    this.#loaded.delete(fw.summary.fileSha256);
    this.#loaded.set(fw.summary.fileSha256, fw);
    while (this.#loaded.size > CACHE_LIMIT) this.#loaded.delete(this.#loaded.keys().next().value!);
  }
}

/** A library entry for a parsed file. */
export function entryFrom(s: ImageSummary, now: number, notes = ''): Omit<FirmwareEntry, 'useCount' | 'lastUsedAt'> {
  return {
    fileSha256: s.fileSha256,
    name: s.name,
    fileSize: s.fileSize,
    format: s.format,
    totalBytes: s.totalBytes,
    imageSha256: s.imageSha256,
    addedAt: now,
    notes,
  };
}
