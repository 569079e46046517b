import type { FlashErrorInfo, Result } from '../errors';
import type { JobPhase } from '../events';
import type { DeviceSelector } from '../model';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

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
  /** Where the serial was written: memory and address, 'flash@0x00007000'. */
  serialAt?: string;
  /** SHA-256 of what this device was programmed with, when serialization made it differ from the image. */
  programmedSha256?: string;
  /** 1 for a unit's first try; a restart of a failed slot counts up (first-pass yield). */
  attempt?: number;
  /** Scanned with the barcode reader (keyboard wedge). */
  lot?: string;
  workOrder?: string;
  boardId?: string;
}


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

/** History: the audit log of every job. */
export interface HistoryApi {
  /** The audit log, newest first. Jobs cut off by a closed tab are reported as 'interrupted'. */
  listHistory(query?: HistoryQuery): Promise<Result<AuditRecord[]>>;
  exportHistory(format: 'csv' | 'json'): Promise<Result<TextExport>>;
}
