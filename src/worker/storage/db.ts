import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { AuditRecord, FirmwareEntry, JobStatus, Recipe, SerialRecord, SerialStatus } from '../../shared/api';
import { FlashError } from '../../shared/errors';

/** The IndexedDB schema. One store per concern; firmware bytes apart from their metadata. */
export interface FlasherDB extends DBSchema {
  firmware: {
    key: string; // fileSha256
    value: FirmwareEntry;
    indexes: { 'by-added': number };
  };
  'firmware-bytes': {
    key: string; // fileSha256
    value: { fileSha256: string; bytes: ArrayBuffer };
  };
  audit: {
    key: string; // jobId
    value: AuditRecord;
    indexes: { 'by-started': number; 'by-status': JobStatus };
  };
  settings: {
    key: string;
    value: unknown;
  };
  recipes: {
    key: string; // id
    value: Recipe;
  };
  /** Every serial number handed out, per pool; a key that exists is a number that is never handed out again. */
  serials: {
    key: [string, string]; // [pool, decimal value]
    value: SerialRecord;
    indexes: { 'by-status': SerialStatus; 'by-reserved': number; 'by-pool': string };
  };
  /** Per pool: the highest number reserved so far (a counter's next is found without a scan). */
  'serial-pools': {
    key: string;
    value: SerialPoolRecord;
  };
  /** Audit records waiting for the MES, oldest first. */
  'mes-queue': {
    key: number;
    value: MesQueueItem;
    indexes: { 'by-due': number };
  };
}

export interface SerialPoolRecord {
  pool: string;
  /** Decimal; the highest value reserved in the pool. */
  max: string;
  count: number;
}

export interface MesQueueItem {
  id?: number;
  jobId: string;
  url: string;
  body: string;
  queuedAt: number;
  attempts: number;
  /** Epoch ms of the next try. */
  dueAt: number;
  /** While a delivery is in flight, other drainers (workers) leave the item alone until then. */
  leaseUntil: number;
  lastError?: string;
}

export type FlasherDb = IDBPDatabase<FlasherDB>;
type UpgradeTx = IDBPTransaction<FlasherDB, StoreNames<FlasherDB>[], 'versionchange'>;

export const DB_NAME = 'webprog';

/**
 * Schema migrations, one per version, applied in order from the stored version up. Never edit a
 * shipped step: add a new one. The database version is the number of steps.
 */
export const MIGRATIONS: readonly ((db: FlasherDb, tx: UpgradeTx) => void)[] = [
  // v1: library, audit log, settings.
  (db) => {
    const firmware = db.createObjectStore('firmware', { keyPath: 'fileSha256' });
    firmware.createIndex('by-added', 'addedAt');
    db.createObjectStore('firmware-bytes', { keyPath: 'fileSha256' });
    const audit = db.createObjectStore('audit', { keyPath: 'jobId' });
    audit.createIndex('by-started', 'startedAt');
    db.createObjectStore('settings');
  },
  // v2: find running jobs without a scan, to mark the ones a closed tab cut off as interrupted.
  (_db, tx) => {
    tx.objectStore('audit').createIndex('by-status', 'status');
  },
  // v3: production: recipes, serial numbers and their pools, the MES delivery queue.
  (db) => {
    db.createObjectStore('recipes', { keyPath: 'id' });
    const serials = db.createObjectStore('serials', { keyPath: ['pool', 'value'] });
    serials.createIndex('by-status', 'status');
    serials.createIndex('by-reserved', 'reservedAt');
    serials.createIndex('by-pool', 'pool');
    db.createObjectStore('serial-pools', { keyPath: 'pool' });
    const mes = db.createObjectStore('mes-queue', { keyPath: 'id', autoIncrement: true });
    mes.createIndex('by-due', 'dueAt');
  },
];

export const DB_VERSION = MIGRATIONS.length;

/**
 * Opens (and upgrades) the database. `version` exists for migration tests only. A newer tab asking
 * to upgrade makes this connection close instead of blocking that tab; `onClose` then lets the
 * owner reopen on next use.
 */
export async function openFlasherDb(name = DB_NAME, version = DB_VERSION, onClose?: () => void): Promise<FlasherDb> {
  try {
    const db = await openDB<FlasherDB>(name, version, {
      upgrade(db, oldVersion, newVersion, tx) {
        for (let v = oldVersion; v < (newVersion ?? version); v++) MIGRATIONS[v]!(db, tx);
      },
      blocking() {
        db.close();
        onClose?.();
      },
      terminated() {
        onClose?.();
      },
    });
    return db;
  } catch (err) {
    throw storageError(err, 'open the database');
  }
}

/** One shared connection, opened on first use and reopened after the browser or a newer tab closed it. */
export function lazyDb(name = DB_NAME): () => Promise<FlasherDb> {
  let current: Promise<FlasherDb> | null = null;
  const forget = () => {
    current = null;
  };
  return () => {
    current ??= openFlasherDb(name, DB_VERSION, forget).catch((err: unknown) => {
      forget();
      throw err;
    });
    return current;
  };
}

/**
 * Maps what IndexedDB throws to our vocabulary. A quota failure aborts its transaction, so nothing
 * already stored is touched: the message says so.
 */
export function storageError(err: unknown, doing: string): FlashError {
  if (err instanceof FlashError) return err;
  const name = (err as { name?: unknown } | null)?.name;
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'QuotaExceededError') {
    return new FlashError('storage-full', `The browser's storage for webprog is full, so it could not ${doing}. Nothing stored before was changed.`, {
      details: { operation: doing, error: String(name) },
      cause: err,
    });
  }
  return new FlashError('storage', `Could not ${doing} in the browser's storage: ${message}`, {
    details: { operation: doing, error: String(name ?? 'Error') },
    cause: err,
  });
}

/** Runs a storage operation, turning any failure into a FlashError('storage-full' | 'storage'). */
export async function stored<T>(doing: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storageError(err, doing);
  }
}
