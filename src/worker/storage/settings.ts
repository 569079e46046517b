import { DEFAULT_SETTINGS, type Settings } from '../../shared/api';
import { stored, type FlasherDb } from './db';

/** Settings live in one record, merged over the defaults so new settings need no migration. */
const KEY = 'settings';

export async function getSettings(db: FlasherDb): Promise<Settings> {
  const saved = await stored('read settings', () => db.get('settings', KEY));
  return { ...DEFAULT_SETTINGS, ...(isRecord(saved) ? saved : {}) };
}

export async function updateSettings(db: FlasherDb, patch: Partial<Settings>): Promise<Settings> {
  return stored('save settings', async () => {
    const tx = db.transaction('settings', 'readwrite');
    const saved = await tx.store.get(KEY);
    const next: Settings = { ...DEFAULT_SETTINGS, ...(isRecord(saved) ? saved : {}), ...withoutUndefined(patch) };
    await tx.store.put(next, KEY);
    await tx.done;
    return next;
  });
}

function isRecord(v: unknown): v is Partial<Settings> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withoutUndefined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
