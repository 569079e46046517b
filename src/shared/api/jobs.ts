import type { Result } from '../errors';
import type { JobEvent } from '../events';
import type { IntakeConsent, IntakeVerdict } from '../intake';
import type { DeviceSelector, DriverInfo, JobOptions, JobReport } from '../model';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
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
  /** Where a raw image (BIN, ESP image) goes; the driver's default for its kind unless set (checkFirmware's placement). */
  address?: number;
  /** Explicit consents to refusals that allow one ("flash it anyway" for a text-like binary). */
  consent?: IntakeConsent[];
}

/** The desk check of a loaded file against a programmer and part (JobsApi.checkFirmware). */
export interface FirmwareCheck {
  fileSha256: string;
  driverId: string;
  targetId?: string;
  address?: number;
  consent?: IntakeConsent[];
}

/** Jobs: the registry, parsing a file for a job, running and cancelling a job. */
export interface JobsApi {
  /** Every protocol in the registry, as pure metadata (no driver code is loaded). */
  listDrivers(): Promise<Result<DriverInfo[]>>;
  /** Parses a firmware file and keeps it ready for `flash`. */
  inspect(file: FirmwareFile): Promise<Result<ImageSummary>>;
  /**
   * The desk check before Flash is enabled: content, placement (where each part goes and why), chip
   * and family, fit. The same check runs again when the job starts; a refused job never opens a port
   * or reaches History. A refusal is a value (verdict.ok false), not an error.
   */
  checkFirmware(check: FirmwareCheck): Promise<Result<IntakeVerdict>>;
  /**
   * Runs a whole job: connect, identify, validate, write, verify. The audit record is written before
   * the device is touched and completed afterwards. Events carry progress only (at most ~25 per
   * second); the outcome, success or failure, is the Result.
   */
  flash(spec: JobSpec, onEvent: (event: JobEvent) => void): Promise<Result<JobReport>>;
  /** Asks a running job to stop at the next block boundary; false if no such job runs here. */
  cancel(jobId: string): Promise<Result<boolean>>;
}
