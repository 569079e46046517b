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
  lastConnection?: 'virtual' | 'serial';
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
}
