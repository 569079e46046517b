import type { AuditRecord, JobStatus, TextExport } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { stored, type FlasherDb } from './db';

/*
 * The audit log: one record per job, written ahead.
 *
 * Invariants:
 * - `beginJob` stores a 'running' record before the device is touched; a job without one never starts;
 * - `finishJob` replaces it once the job has ended (passed after verify, failed, or cancelled);
 * - a 'running' record whose job is alive nowhere (its tab closed mid-job) is turned into
 *   'interrupted' by `markInterrupted`, which every read runs first;
 * - records are never deleted by the app.
 */

export async function beginJob(db: FlasherDb, record: AuditRecord): Promise<void> {
  await stored('record the job in History', async () => {
    const tx = db.transaction('audit', 'readwrite');
    if ((await tx.store.getKey(record.jobId)) !== undefined) {
      throw new FlashError('internal', `Job ${record.jobId} already exists in History.`);
    }
    await tx.store.add(record);
    await tx.done;
  });
}

/** Merges `patch` into a job's record; a missing record is not an error (History may have been cleared). */
export async function updateJob(db: FlasherDb, jobId: string, patch: Partial<AuditRecord>): Promise<AuditRecord | null> {
  return stored('update the job in History', async () => {
    const tx = db.transaction('audit', 'readwrite');
    const existing = await tx.store.get(jobId);
    if (!existing) {
      await tx.done;
      return null;
    }
    const next: AuditRecord = { ...existing, ...patch, jobId };
    await tx.store.put(next);
    await tx.done;
    return next;
  });
}

/** Marks every 'running' record whose job is not alive as 'interrupted'. Returns how many. */
export async function markInterrupted(db: FlasherDb, isAlive: (record: AuditRecord) => boolean): Promise<number> {
  return stored('update History', async () => {
    const tx = db.transaction('audit', 'readwrite');
    let n = 0;
    for await (const cursor of tx.store.index('by-status').iterate('running')) {
      if (isAlive(cursor.value)) continue;
      await cursor.update({ ...cursor.value, status: 'interrupted' satisfies JobStatus });
      n++;
    }
    await tx.done;
    return n;
  });
}

/** Newest first. */
export async function listJobs(db: FlasherDb, limit = Infinity, since?: number): Promise<AuditRecord[]> {
  return stored('read History', async () => {
    const out: AuditRecord[] = [];
    const tx = db.transaction('audit');
    const range = since === undefined ? null : IDBKeyRange.lowerBound(since);
    for await (const cursor of tx.store.index('by-started').iterate(range, 'prev')) {
      if (out.length >= limit) break;
      out.push(cursor.value);
    }
    await tx.done;
    return out;
  });
}

/** Columns of the CSV export, in order, with how each is read from a record. */
const CSV_COLUMNS: [string, (r: AuditRecord) => string | number | boolean | undefined][] = [
  ['started', (r) => new Date(r.startedAt).toISOString()],
  ['finished', (r) => (r.finishedAt === undefined ? undefined : new Date(r.finishedAt).toISOString())],
  ['status', (r) => r.status],
  ['file', (r) => r.fileName],
  ['file_sha256', (r) => r.fileSha256],
  ['image_sha256', (r) => r.imageSha256],
  ['image_bytes', (r) => r.imageBytes],
  ['device', (r) => r.deviceLabel],
  ['device_kind', (r) => r.deviceKind],
  ['device_id', (r) => r.deviceId],
  ['device_name', (r) => r.deviceName],
  ['bootloader', (r) => r.bootloader],
  ['driver', (r) => r.driverId],
  ['target', (r) => r.targetId],
  ['phase', (r) => r.phase],
  ['bytes_written', (r) => r.bytesWritten],
  ['bytes_verified', (r) => r.bytesVerified],
  ['verified', (r) => r.verified],
  ['duration_ms', (r) => (r.durationMs === undefined ? undefined : Math.round(r.durationMs))],
  ['error_code', (r) => r.error?.code],
  ['error_message', (r) => r.error?.message],
  ['job_id', (r) => r.jobId],
  ['app_version', (r) => r.appVersion],
  // Production runs (the Station); empty for a plain Flash.
  ['station', (r) => r.station],
  ['slot', (r) => r.slot],
  ['recipe', (r) => r.recipeName],
  ['recipe_id', (r) => r.recipeId],
  ['recipe_revision', (r) => r.recipeRevision],
  ['serial', (r) => r.serial],
  ['serial_value', (r) => r.serialValue],
  ['programmed_sha256', (r) => r.programmedSha256],
  ['attempt', (r) => r.attempt],
  ['lot', (r) => r.lot],
  ['work_order', (r) => r.workOrder],
  ['board_id', (r) => r.boardId],
];

/** RFC 4180 CSV with CRLF line ends, oldest job first (the order a spreadsheet reads best). */
export function historyToCsv(records: AuditRecord[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const r of [...records].sort((a, b) => a.startedAt - b.startedAt)) {
    lines.push(CSV_COLUMNS.map(([, get]) => csvCell(get(r))).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

function csvCell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  // A file name like "=HYPERLINK(...)" must stay text when the export is opened in a spreadsheet.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function historyExport(records: AuditRecord[], format: 'csv' | 'json', now: number): TextExport {
  const stamp = new Date(now).toISOString().slice(0, 19).replace(/[:T]/g, '-');
  if (format === 'csv') {
    return { fileName: `webprog-history-${stamp}.csv`, mimeType: 'text/csv', text: historyToCsv(records) };
  }
  const doc = { exportedAt: new Date(now).toISOString(), format: 'webprog-history', version: 1, jobs: records };
  return { fileName: `webprog-history-${stamp}.json`, mimeType: 'application/json', text: JSON.stringify(doc, null, 2) + '\n' };
}
