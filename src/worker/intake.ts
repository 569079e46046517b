import { checkContent, prepareFirmware, refusalError, type Prepared } from '../core/placement/index';
import { findDriver } from '../drivers/registry';
import { FlashError } from '../shared/errors';
import type { IntakeConsent } from '../shared/intake';
import type { LoadedFirmware } from './firmware-cache';

export { refusalError, requireDevice } from '../core/placement/index';

/*
 * The worker's side of the front door (core/placement): the desk check the page shows before Flash is
 * enabled, the same check again when a job starts (nothing refused reaches the board or History), and
 * the content check that keeps refused files out of the Library.
 */

export interface IntakeRequest {
  driverId: string;
  targetId?: string;
  /** Where a raw image goes, as the user set it (the address field); the driver's default otherwise. */
  address?: number;
  consent?: IntakeConsent[];
}

/** The verdict for one loaded file against a programmer and part. */
export function intake(fw: LoadedFirmware, request: IntakeRequest): Prepared {
  const entry = findDriver(request.driverId);
  if (!entry) throw new FlashError('not-found', `No programmer called "${request.driverId}".`);
  const part = { name: fw.summary.name, bytes: new Uint8Array(fw.bytes), ...(request.address === undefined ? {} : { address: request.address }) };
  return prepareFirmware([part], { driver: entry.meta, ...(request.targetId === undefined ? {} : { targetId: request.targetId }) }, request.consent ?? []);
}

/** Refuses, before it is stored, a file no job would accept whatever the target (empty, web page, text, a text-like binary without consent). */
export function assertLibraryWorthy(fw: LoadedFirmware, consent: IntakeConsent[] = []): void {
  const verdict = checkContent(new Uint8Array(fw.bytes), fw.summary.name, consent);
  if (!verdict.ok) throw refusalError(verdict.refusal);
}
