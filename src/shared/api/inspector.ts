import type { Result } from '../errors';
import type { FirmwareFile, ImageSummary } from './jobs';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

/** The inspector holds two images: the one inspected, and optionally a reference to compare it with. */
export type InspectorSlot = 'primary' | 'reference';

/** Where the inspector takes an image from: a file (its bytes transferred) or the firmware library. */
export type ImageSource = { file: FirmwareFile } | { fileSha256: string };

/** An image as the inspector shows it: the summary plus checksums per segment and of the file. */
export interface InspectedImage {
  slot: InspectorSlot;
  summary: ImageSummary;
  /** CRC-32 (zlib) of each segment's bytes, in `summary.segments` order, 8 hex digits. */
  segmentCrc32: string[];
  /** CRC-32 of the file itself, what `crc32 file` prints. */
  fileCrc32: string;
}

/** What a byte in a `BytePage` is, compared with the reference image (when one is loaded). */
export const BYTE_MARK = { hole: 0, data: 1, changed: 2, added: 3, removed: 4 } as const;
export type ByteMark = (typeof BYTE_MARK)[keyof typeof BYTE_MARK];

/** A window of the primary image's memory for the hex view; at most `MAX_PAGE_BYTES` at a time. */
export interface BytePage {
  memory: string;
  address: number;
  /** The primary image's bytes; 0 where it has none. */
  bytes: Uint8Array;
  /** One `ByteMark` per byte. Without a reference every byte is 'hole' or 'data'. */
  marks: Uint8Array;
  /** The reference image's bytes over the same window (0 in its holes), or null without a reference. */
  reference: Uint8Array | null;
  /** The nearest window of the same length after (before) this one holding data in either image, or null. */
  next: number | null;
  prev: number | null;
}

export const MAX_PAGE_BYTES = 4096;

/** A run of bytes `[start, end)` that differs between the two images (see core/image/diff.ts). */
export interface DiffRange {
  memory: string;
  start: number;
  end: number;
  /** changed: both have bytes there, unequal; added: only the primary has; removed: only the reference has. */
  kind: 'changed' | 'added' | 'removed';
}

/** How the primary image differs from the reference. Counts are exact; `ranges` may be the first part only. */
export interface ImageDiffSummary {
  primarySha256: string;
  referenceSha256: string;
  changed: { ranges: number; bytes: number };
  added: { ranges: number; bytes: number };
  removed: { ranges: number; bytes: number };
  /** Bytes both images have, with equal values. */
  same: number;
  /** In memory then address order; `totalRanges` says how many exist (step through all with `findDifference`). */
  ranges: DiffRange[];
  totalRanges: number;
}

/** The image inspector: everything heavy stays in the worker; the page asks for what it shows. */
export interface InspectorApi {
  /** Parses an image into an inspector slot (replacing what was there); it is kept until replaced or closed. */
  openImage(slot: InspectorSlot, source: ImageSource): Promise<Result<InspectedImage>>;
  closeImage(slot: InspectorSlot): Promise<Result<boolean>>;
  /** Bytes of the primary image's `memory` over `[address, address + length)`, marked against the reference. */
  readImageBytes(request: { memory: string; address: number; length: number }): Promise<Result<BytePage>>;
  /** Diffs the primary image against the reference; fails when either slot is empty. */
  diffImages(): Promise<Result<ImageDiffSummary>>;
  /** The next difference starting after `address` (direction 1) or the last starting before it (-1), across memories. */
  findDifference(from: { memory: string; address: number }, direction: 1 | -1): Promise<Result<DiffRange | null>>;
}
