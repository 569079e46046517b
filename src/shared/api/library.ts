import type { Result } from '../errors';
import type { FirmwareFile, ImageSummary } from './jobs';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

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

/** A "Try it" file made by the worker for a kind of virtual device (see worker/samples.ts). */
export interface SampleFirmware {
  summary: ImageSummary;
  /** Also runs on a real board (a blink, an idle loop); false: for the virtual device only. */
  realHardware: boolean;
  /** One line about what it does. */
  about: string;
}

/** The firmware library: files kept by SHA-256. */
export interface LibraryApi {
  listFirmware(): Promise<Result<FirmwareEntry[]>>;
  addFirmware(file: FirmwareFile, notes?: string): Promise<Result<FirmwareEntry>>;
  /** Loads a library entry for flashing and describes it, as `inspect` does for a new file. */
  useFirmware(fileSha256: string): Promise<Result<ImageSummary>>;
  updateFirmware(fileSha256: string, patch: { name?: string; notes?: string }): Promise<Result<FirmwareEntry>>;
  removeFirmware(fileSha256: string): Promise<Result<boolean>>;
  /** Makes the sample for a programmer and part and loads it for flashing, as `inspect` does for a file. */
  sampleFirmware(choice: { driverId: string; targetId?: string }): Promise<Result<SampleFirmware>>;
}
