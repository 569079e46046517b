import type { FlashErrorInfo, Result } from './errors';
import type { JobEvent, JobPhase } from './events';
import type { DeviceSelector, DriverInfo, JobOptions, JobReport } from './model';

/*
 * The comlink surface between the page and the flasher worker, declared first and implemented by
 * src/worker/api.ts. Rules every member keeps:
 * - every method resolves with a `Result`; nothing is thrown across the thread edge;
 * - arguments and results are plain structured-cloneable data (firmware bytes go in with `transfer()`);
 * - the only callback is the job event listener, passed with `proxy()`.
 */

/** A firmware file as the page hands it over; `bytes` is transferred, not copied. */
export interface FirmwareFile {
  name: string;
  bytes: ArrayBuffer;
}

/** What the worker found in a firmware file: enough to show it and to check it fits a target. */
export interface ImageSummary {
  name: string;
  /** Size of the file itself. */
  fileSize: number;
  /** SHA-256 of the file bytes, what `sha256sum file` prints: the library key and the job's firmware ID. */
  fileSha256: string;
  /** 'ihex', 'bin', ... */
  format: string;
  segments: { memory: string; address: number; length: number }[];
  /** Data bytes to program, holes not counted. */
  totalBytes: number;
  /** SHA-256 and CRC-32 of the programmed bytes (segments in order, holes excluded). */
  imageSha256: string;
  crc32: string;
  entry?: number;
  meta?: Record<string, string | number | boolean>;
}

/** A job as the page asks for it. The firmware must have been inspected or be in the library. */
export interface JobSpec {
  /** Chosen by the page (crypto.randomUUID()), so it can cancel before `flash` resolves. */
  jobId: string;
  driverId: string;
  /** The part the user picked; undefined lets the driver accept whatever answers. */
  targetId?: string;
  device: DeviceSelector;
  /** How the device is named in History: "Arduino Uno (virtual)", "Arduino Uno on USB 2341:0043". */
  deviceLabel: string;
  firmware: { fileSha256: string };
  options: JobOptions;
  /** Forces one line rate instead of the driver's defaults and fallbacks. */
  baudRate?: number;
  /** Keep the file in the firmware library (deduplicated by SHA-256), marked as used now. */
  keepInLibrary?: boolean;
  /**
   * Serial hand-off check: how many granted ports with the selector's VID/PID the page saw when the
   * user picked one. The worker refuses to guess if it sees a different number (see transports/index.ts).
   */
  expectedPortCount?: number;
  /** Driver options by name (DriverContext.options), e.g. esp-rom `reset=none` for a chip already in its loader. */
  driverOptions?: Record<string, string>;
}

/** A job in the audit log. `passed` means written and read back equal. */
export type JobStatus = 'running' | 'passed' | 'failed' | 'cancelled' | 'interrupted';

export interface AuditRecord {
  jobId: string;
  status: JobStatus;
  /** Epoch milliseconds. */
  startedAt: number;
  finishedAt?: number;
  fileName: string;
  fileSha256: string;
  imageSha256: string;
  imageBytes: number;
  driverId: string;
  targetId?: string;
  deviceKind: DeviceSelector['kind'];
  deviceLabel: string;
  /** From the device itself, once identified. */
  deviceId?: string;
  deviceName?: string;
  bootloader?: string;
  /** The last phase the job entered: where a failed or interrupted job stopped. */
  phase: JobPhase;
  bytesWritten?: number;
  bytesVerified?: number;
  verified?: boolean;
  durationMs?: number;
  error?: FlashErrorInfo;
  appVersion: string;
  // Production runs (the Station) add who, what and which number; a plain Flash leaves these out.
  /** The station's name (Settings) and the slot the device sat in. */
  station?: string;
  slot?: string;
  recipeId?: string;
  recipeName?: string;
  recipeRevision?: number;
  /** This device's serial as written (display form: decimal, hex or MAC) and as a decimal number. */
  serial?: string;
  serialValue?: string;
  /** SHA-256 of what this device was programmed with, when serialization made it differ from the image. */
  programmedSha256?: string;
  /** 1 for a unit's first try; a restart of a failed slot counts up (first-pass yield). */
  attempt?: number;
  /** Scanned with the barcode reader (keyboard wedge). */
  lot?: string;
  workOrder?: string;
  boardId?: string;
}

/** A firmware file kept in the library. Its bytes are stored separately, so listing stays cheap. */
export interface FirmwareEntry {
  fileSha256: string;
  name: string;
  fileSize: number;
  format: string;
  totalBytes: number;
  imageSha256: string;
  addedAt: number;
  lastUsedAt?: number;
  useCount: number;
  notes: string;
}

export interface Settings {
  /** The device choice key the page used last (board + connection). */
  lastDeviceKey?: string;
  lastConnection?: 'virtual' | 'serial' | 'usb';
  /** The serial port used last, to find it again among the granted ports without a picker. */
  lastPort?: { usbVendorId?: number; usbProductId?: number; index: number };
  /** The firmware flashed last, offered again after a reload. */
  lastFirmwareSha256?: string;
  /** Add every flashed file to the library. */
  keepInLibrary: boolean;
  /** Line rate of the serial monitor. */
  monitorBaudRate: number;
  /** Open the serial monitor on the board's port right after it was flashed and verified. */
  monitorAfterFlash: boolean;
  // Production station; unset means the station's own defaults (see app/state/station.svelte.ts).
  /** How this station is named in the audit trail. */
  stationName?: string;
  /** Audit records are POSTed here (JSON) through a retrying queue; empty turns it off. */
  mesUrl?: string;
  /** No beep on a failed device. */
  mute?: boolean;
  stationSlots?: number;
  /** Flashing workers for the station; 0 picks a number from the processor count. */
  stationWorkers?: number;
  stationRecipeId?: string;
  /** The station shows the operator's screen: big results, scanner field, recipes run but not edited. */
  operatorMode?: boolean;
}

export const DEFAULT_SETTINGS: Settings = { keepInLibrary: true, monitorBaudRate: 9600, monitorAfterFlash: true };

/** An export ready to be saved by the page. */
export interface TextExport {
  fileName: string;
  mimeType: string;
  text: string;
}

export interface HistoryQuery {
  /** Newest first; at most this many. */
  limit?: number;
  /** Only jobs started at or after this time (epoch ms). */
  since?: number;
}

/** A serial monitor session on a device's port, after (or between) jobs. */
export interface MonitorSpec {
  device: DeviceSelector;
  baudRate: number;
  /** As in JobSpec: the serial hand-off check. */
  expectedPortCount?: number;
}

export type MonitorEvent =
  /** Bytes from the device, coalesced to at most ~30 messages a second. */
  | { type: 'data'; bytes: Uint8Array }
  /** The monitor ended: closed by the page (error null) or the port went away. */
  | { type: 'closed'; error: FlashErrorInfo | null };

/**
 * A recipe's serial numbering, JSON-safe: numbers travel as decimal strings so 64-bit serials and
 * 48-bit MACs stay exact. See core/production/serialize.ts for the formats.
 */
export interface SerialSettings {
  /**
   * The counter's name. Recipes naming the same pool share its numbers, so a number is never handed
   * out twice even across products; by default a recipe's pool is its own ID.
   */
  pool: string;
  memory: string;
  address: number;
  /** u16le u16be u32le u32be u64le u64be mac ascii-dec:W ascii-hex:W bcd:W */
  format: string;
  source: { kind: 'counter'; start: string; step: string } | { kind: 'list'; values: string[]; name?: string };
  crc?: { algorithm: 'crc32' | 'crc16-ccitt'; from: number; to: number; at: number; format: 'u16le' | 'u16be' | 'u32le' | 'u32be' };
}

/** A simple lock: an engineer's PIN, kept salted and hashed. It stops edits, not determined people. */
export interface RecipeLock {
  salt: string;
  pinSha256: string;
  lockedAt: number;
}

/** Everything a changeover needs: what to program, how, and which number each device gets. */
export interface Recipe {
  id: string;
  name: string;
  driverId: string;
  targetId?: string;
  /** The board the recipe was made for, shown to the operator. */
  board?: string;
  /** The image, by SHA-256 of the file, from the library. */
  firmware: { fileSha256: string; name: string };
  options: JobOptions;
  serial?: SerialSettings;
  /** The device must answer with this ID (hex, e.g. '1e950f') or nothing is written. */
  expectedDeviceId?: string;
  notes?: string;
  lock?: RecipeLock;
  createdAt: number;
  updatedAt: number;
  /** Counts up with every saved change; jobs and History name the revision they ran. */
  revision: number;
}

/** A recipe as the editor sends it; the worker keeps the lock, times and revision. */
export type RecipeDraft = Omit<Recipe, 'id' | 'lock' | 'createdAt' | 'updatedAt' | 'revision'> & { id?: string };

/** What the barcode reader captured for the next device(s). */
export interface ScanContext {
  lot?: string;
  workOrder?: string;
  boardId?: string;
}

/** One device in a station slot, programmed by a stored recipe (the worker reads the recipe itself). */
export interface StationJobSpec {
  jobId: string;
  recipeId: string;
  /** The revision the station showed; a recipe changed since is refused rather than run unseen. */
  recipeRevision?: number;
  device: DeviceSelector;
  deviceLabel: string;
  station: string;
  slot: string;
  attempt?: number;
  scan?: ScanContext;
  /** As in JobSpec. */
  expectedPortCount?: number;
  /** Gap between progress events; a station of many slots asks for fewer than a single job. */
  progressIntervalMs?: number;
}

/** A station job reports its serial as soon as it is reserved, before the device is touched. */
export type StationEvent = JobEvent | { type: 'serial'; value: string; text: string };

export interface StationReport extends JobReport {
  serial?: string;
}

export type SerialStatus = 'reserved' | 'used' | 'voided';

/** One number handed out: reserved before programming, then used or voided, never handed out again. */
export interface SerialRecord {
  pool: string;
  /** Decimal. */
  value: string;
  /** As written (MAC, hex or decimal). */
  text: string;
  status: SerialStatus;
  slot: string;
  jobId: string;
  reservedAt: number;
  settledAt?: number;
  note?: string;
}

export interface SerialPoolStatus {
  pool: string;
  /** The number the next device would get, or null when an imported list is used up. */
  next: string | null;
  nextText: string | null;
  used: number;
  voided: number;
  reserved: number;
  /** For an imported list: numbers not handed out yet. */
  left?: number;
}

/** The MES delivery queue. */
export interface MesStatus {
  url: string | null;
  /** Records waiting to be delivered. */
  pending: number;
  /** The oldest waiting record has failed at least once. */
  failing: boolean;
  lastError?: string;
  nextAttemptAt?: number;
  delivered: number;
}

// Image inspector

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

export interface FlasherApi {
  /** Every protocol in the registry, as pure metadata (no driver code is loaded). */
  listDrivers(): Promise<Result<DriverInfo[]>>;

  /** Parses a firmware file and keeps it ready for `flash`. */
  inspect(file: FirmwareFile): Promise<Result<ImageSummary>>;
  /**
   * Runs a whole job: connect, identify, validate, write, verify. The audit record is written before
   * the device is touched and completed afterwards. Progress events arrive at most ~25 per second.
   */
  flash(spec: JobSpec, onEvent: (event: JobEvent) => void): Promise<Result<JobReport>>;
  /** Asks a running job to stop at the next block boundary; false if no such job runs here. */
  cancel(jobId: string): Promise<Result<boolean>>;

  listFirmware(): Promise<Result<FirmwareEntry[]>>;
  addFirmware(file: FirmwareFile, notes?: string): Promise<Result<FirmwareEntry>>;
  /** Loads a library entry for flashing and describes it, as `inspect` does for a new file. */
  useFirmware(fileSha256: string): Promise<Result<ImageSummary>>;
  updateFirmware(fileSha256: string, patch: { name?: string; notes?: string }): Promise<Result<FirmwareEntry>>;
  removeFirmware(fileSha256: string): Promise<Result<boolean>>;

  /** The audit log, newest first. Jobs cut off by a closed tab are reported as 'interrupted'. */
  listHistory(query?: HistoryQuery): Promise<Result<AuditRecord[]>>;
  exportHistory(format: 'csv' | 'json'): Promise<Result<TextExport>>;

  /** Opens the port for a terminal; resolves with the monitor's ID. A job needs the port closed again. */
  openMonitor(spec: MonitorSpec, onEvent: (event: MonitorEvent) => void): Promise<Result<string>>;
  writeMonitor(monitorId: string, bytes: Uint8Array): Promise<Result<boolean>>;
  closeMonitor(monitorId: string): Promise<Result<boolean>>;

  getSettings(): Promise<Result<Settings>>;
  updateSettings(patch: Partial<Settings>): Promise<Result<Settings>>;

  // Production station

  /**
   * Programs one device with a stored recipe: reserves its serial (never reused), records it in the
   * audit log before the device is touched, writes the serialized image, verifies, settles the serial
   * as used or voided, and queues the record for the MES when one is set.
   */
  runRecipe(spec: StationJobSpec, onEvent: (event: StationEvent) => void): Promise<Result<StationReport>>;

  listRecipes(): Promise<Result<Recipe[]>>;
  /** Creates or updates a recipe. A locked recipe needs its PIN, and stays locked. */
  saveRecipe(draft: RecipeDraft, pin?: string): Promise<Result<Recipe>>;
  deleteRecipe(recipeId: string, pin?: string): Promise<Result<boolean>>;
  lockRecipe(recipeId: string, pin: string): Promise<Result<Recipe>>;
  unlockRecipe(recipeId: string, pin: string): Promise<Result<Recipe>>;
  /** Whether the PIN opens this recipe for editing. */
  checkRecipePin(recipeId: string, pin: string): Promise<Result<boolean>>;
  /** The recipe as JSON, with its firmware embedded so another station can import it in one file. */
  exportRecipe(recipeId: string): Promise<Result<TextExport>>;
  importRecipe(text: string): Promise<Result<Recipe>>;
  /** Reads an imported serial list (CSV or one per line: decimal, 0x-hex or MAC) into decimal strings. */
  readSerialList(text: string): Promise<Result<string[]>>;

  /** Numbers handed out, newest first. */
  listSerials(query?: { pool?: string; limit?: number }): Promise<Result<SerialRecord[]>>;
  serialStatus(recipeId: string): Promise<Result<SerialPoolStatus | null>>;

  mesStatus(): Promise<Result<MesStatus>>;
  /** Tries to deliver every waiting record now instead of at its backoff time. */
  retryMes(): Promise<Result<MesStatus>>;

  // Image inspector (everything heavy stays in the worker; the page asks for what it shows)

  /** Parses an image into an inspector slot (replacing what was there); it is kept until replaced or closed. */
  openImage(slot: InspectorSlot, source: ImageSource): Promise<Result<InspectedImage>>;
  closeImage(slot: InspectorSlot): Promise<Result<boolean>>;
  /** Bytes of the primary image's `memory` over `[address, address + length)`, marked against the reference. */
  readImageBytes(request: { memory: string; address: number; length: number }): Promise<Result<BytePage>>;
  /** Diffs the primary image against the reference; fails when either slot is empty. */
  diffImages(): Promise<Result<ImageDiffSummary>>;
  /** The next difference starting after `address` (direction 1) or the last starting before it (-1), across memories. */
  findDifference(from: { memory: string; address: number }, direction: 1 | -1): Promise<Result<DiffRange | null>>;

  // ESP Web Tools manifests (a vendor's "install" link)

  /** Reads a manifest from its URL (same-origin or CORS) or from picked files, and keeps it for `install`. */
  loadManifest(source: ManifestSource): Promise<Result<ManifestSummary>>;
  /**
   * Installs a loaded manifest (named by `spec.firmware.fileSha256` = its `manifestSha256`) in one
   * session: connect, identify the chip, pick the build for it, write its parts, verify. Recorded in
   * History like a flash job.
   */
  install(spec: JobSpec, onEvent: (event: JobEvent) => void): Promise<Result<InstallReport>>;
}

/** Where a manifest comes from: a URL (its parts are fetched beside it), or files the user picked. */
export type ManifestSource =
  | { kind: 'url'; url: string }
  /** The manifest file and its part files; parts are matched by path, else by file name. */
  | { kind: 'files'; manifest: FirmwareFile; parts: FirmwareFile[] };

/** A manifest as the install screen shows it. */
export interface ManifestSummary {
  /** SHA-256 of the manifest file: how `install` names it, and the "file" in History. */
  manifestSha256: string;
  name: string;
  version?: string;
  /** The vendor's release notes, when the manifest has them ("whats_new"). */
  whatsNew?: string;
  /** The manifest URL, or the file name. */
  source: string;
  builds: {
    chipFamily: string;
    parts: { path: string; offset: number }[];
    /** Part paths neither picked as files nor fetchable (no URL): this build cannot be installed as is. */
    missing: string[];
  }[];
}

export interface InstallReport extends JobReport {
  /** The build that was written: the chip family, its parts, and the SHA-256 of the assembled image. */
  build: { chipFamily: string; parts: { path: string; offset: number; size: number }[]; imageSha256: string; imageBytes: number };
}
