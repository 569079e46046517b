import type { FirmwareEntry } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { stored, type FlasherDb } from './db';

/*
 * The firmware library. Invariants:
 * - one entry per distinct file content (key: SHA-256 of the file bytes); adding the same bytes again
 *   under another name only marks the existing entry as used;
 * - an entry and its bytes are written and deleted in one transaction, so neither exists alone.
 */

/** Newest use first; entries never used sort by when they were added. */
export async function listFirmware(db: FlasherDb): Promise<FirmwareEntry[]> {
  const all = await stored('read the firmware library', () => db.getAll('firmware'));
  return all.sort((a, b) => (b.lastUsedAt ?? b.addedAt) - (a.lastUsedAt ?? a.addedAt));
}

export async function getFirmware(db: FlasherDb, fileSha256: string): Promise<{ entry: FirmwareEntry; bytes: ArrayBuffer } | null> {
  return stored('read firmware from the library', async () => {
    const tx = db.transaction(['firmware', 'firmware-bytes']);
    const [entry, blob] = await Promise.all([tx.objectStore('firmware').get(fileSha256), tx.objectStore('firmware-bytes').get(fileSha256)]);
    await tx.done;
    return entry && blob ? { entry, bytes: blob.bytes } : null;
  });
}

/**
 * Adds a file, or marks the existing copy of the same bytes as used (`used`) and keeps its name and
 * notes. Returns the stored entry.
 */
export async function saveFirmware(
  db: FlasherDb,
  entry: Omit<FirmwareEntry, 'useCount' | 'lastUsedAt'>,
  bytes: ArrayBuffer,
  opts: { used?: number } = {},
): Promise<FirmwareEntry> {
  return stored('save firmware in the library', async () => {
    const tx = db.transaction(['firmware', 'firmware-bytes'], 'readwrite');
    const store = tx.objectStore('firmware');
    const existing = await store.get(entry.fileSha256);
    let out: FirmwareEntry;
    if (existing) {
      out = opts.used === undefined ? existing : { ...existing, lastUsedAt: opts.used, useCount: existing.useCount + 1 };
      if (out !== existing) await store.put(out);
    } else {
      out = { ...entry, useCount: opts.used === undefined ? 0 : 1 };
      if (opts.used !== undefined) out.lastUsedAt = opts.used;
      await store.put(out);
      await tx.objectStore('firmware-bytes').put({ fileSha256: entry.fileSha256, bytes });
    }
    await tx.done;
    return out;
  });
}

export async function updateFirmware(
  db: FlasherDb,
  fileSha256: string,
  patch: { name?: string; notes?: string },
): Promise<FirmwareEntry> {
  return stored('update the firmware library', async () => {
    const tx = db.transaction('firmware', 'readwrite');
    const existing = await tx.store.get(fileSha256);
    if (!existing) throw notInLibrary(fileSha256);
    const out: FirmwareEntry = { ...existing };
    if (patch.name !== undefined && patch.name.trim() !== '') out.name = patch.name.trim();
    if (patch.notes !== undefined) out.notes = patch.notes;
    await tx.store.put(out);
    await tx.done;
    return out;
  });
}

export async function removeFirmware(db: FlasherDb, fileSha256: string): Promise<boolean> {
  return stored('delete firmware from the library', async () => {
    const tx = db.transaction(['firmware', 'firmware-bytes'], 'readwrite');
    const existed = (await tx.objectStore('firmware').getKey(fileSha256)) !== undefined;
    await tx.objectStore('firmware').delete(fileSha256);
    await tx.objectStore('firmware-bytes').delete(fileSha256);
    await tx.done;
    return existed;
  });
}

export function notInLibrary(fileSha256: string): FlashError {
  return new FlashError('bad-image', 'That firmware is no longer in the library.', {
    hint: 'Choose the file again.',
    details: { fileSha256 },
  });
}
