import { nextSerial, type SerialAllocator, type SerialOutcome, type SerialReservation, type SerialSource } from '../../core/production/allocator';
import type { SerialPoolStatus, SerialRecord, SerialSettings } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { stored, type FlasherDb, type SerialPoolRecord } from './db';

/*
 * The app's serial counter, with the journal's rules (src/node/state-dir.ts) in IndexedDB.
 *
 * Invariants:
 * - a number is reserved in one readwrite transaction (pool maximum + the number's own record)
 *   before its device is touched; IndexedDB runs overlapping readwrite transactions one after the
 *   other, even from several workers, so two jobs never get the same number;
 * - a number's record is never deleted, so a number once reserved is never handed out again,
 *   whatever became of its device;
 * - a reservation is settled once: 'used' after a verified device, 'voided' otherwise;
 * - a reservation whose job is alive nowhere (its tab or worker went away mid-job) is voided as
 *   interrupted, the same Web Lock test the audit log uses.
 */

/** The recipe's JSON-safe numbering as the core's bigint source. */
export function serialSource(settings: SerialSettings): SerialSource {
  if (settings.source.kind === 'list') return { kind: 'list', values: settings.source.values.map((v) => BigInt(v)) };
  return { kind: 'counter', start: BigInt(settings.source.start), step: BigInt(settings.source.step) };
}

/** How a serial reads on a label: a MAC with colons, hex formats in hex, the rest in decimal. */
export function serialText(value: bigint, format: string): string {
  if (format === 'mac') {
    const hex = value.toString(16).padStart(12, '0');
    return hex.match(/../g)!.join(':').toUpperCase();
  }
  const width = /^(?:ascii-dec|ascii-hex|bcd):(\d+)$/.exec(format)?.[1];
  if (format.startsWith('ascii-hex')) return value.toString(16).toUpperCase().padStart(Number(width ?? 0), '0');
  return width ? value.toString().padStart(Number(width), '0') : value.toString();
}

export interface AllocatorOptions {
  pool: string;
  source: SerialSource;
  format: string;
  /** The job the numbers go to: its lock tells a live reservation from an abandoned one. */
  jobId: string;
  now: () => number;
}

/** SerialAllocator over IndexedDB, one instance per job. */
export class IdbSerialAllocator implements SerialAllocator {
  constructor(
    private readonly db: FlasherDb,
    private readonly opts: AllocatorOptions,
  ) {}

  async reserve(slot: string): Promise<SerialReservation> {
    const { pool, source, format, jobId, now } = this.opts;
    return stored('reserve a serial number', async () => {
      const tx = this.db.transaction(['serials', 'serial-pools'], 'readwrite');
      const pools = tx.objectStore('serial-pools');
      const serials = tx.objectStore('serials');
      const meta = await pools.get(pool);
      let value: bigint | null;
      if (source.kind === 'counter') {
        value = nextSerial(source, meta ? [BigInt(meta.max)] : []);
      } else {
        // A list is taken in order; each candidate is one key lookup, not a scan of the pool.
        value = null;
        for (const v of source.values) {
          if ((await serials.getKey([pool, v.toString()])) === undefined) {
            value = v;
            break;
          }
        }
      }
      if (value === null) {
        quietAbort(tx);
        throw new FlashError('storage', 'The serial number list is used up.', {
          hint: 'Import more numbers into the recipe before programming more devices.',
          details: { pool },
        });
      }
      if ((await serials.getKey([pool, value.toString()])) !== undefined) {
        // Only a counter restarted below numbers another recipe took from a shared pool lands here.
        quietAbort(tx);
        throw new FlashError('storage', `Serial ${value} was handed out before.`, { details: { pool, value: value.toString() } });
      }
      const record: SerialRecord = {
        pool,
        value: value.toString(),
        text: serialText(value, format),
        status: 'reserved',
        slot,
        jobId,
        reservedAt: now(),
      };
      await serials.add(record);
      const max = meta && BigInt(meta.max) > value ? meta.max : value.toString();
      const next: SerialPoolRecord = { pool, max, count: (meta?.count ?? 0) + 1 };
      await pools.put(next);
      await tx.done;
      return { value, slot };
    });
  }

  async settle(reservation: SerialReservation, outcome: SerialOutcome, note?: string): Promise<void> {
    await settleSerial(this.db, this.opts.pool, reservation.value.toString(), outcome, this.opts.now(), note);
  }
}

/** Settles a reservation; a number already settled keeps its first outcome. */
export async function settleSerial(db: FlasherDb, pool: string, value: string, outcome: SerialOutcome, now: number, note?: string): Promise<void> {
  await stored('record the serial number', async () => {
    const tx = db.transaction('serials', 'readwrite');
    const existing = await tx.store.get([pool, value]);
    if (existing && existing.status === 'reserved') {
      await tx.store.put({ ...existing, status: outcome, settledAt: now, ...(note ? { note } : {}) });
    }
    await tx.done;
  });
}

/**
 * Voids reservations whose job is alive nowhere. `isAlive` sees the job ID and when it was reserved,
 * so a reservation made after the caller's lock snapshot is left alone.
 */
export async function voidAbandoned(db: FlasherDb, isAlive: (record: SerialRecord) => boolean, now: number): Promise<number> {
  return stored('update the serial numbers', async () => {
    const tx = db.transaction('serials', 'readwrite');
    let n = 0;
    for await (const cursor of tx.store.index('by-status').iterate('reserved')) {
      if (isAlive(cursor.value)) continue;
      await cursor.update({ ...cursor.value, status: 'voided', settledAt: now, note: 'interrupted: the page or worker went away mid-job' });
      n++;
    }
    await tx.done;
    return n;
  });
}

/** Newest first. */
export async function listSerials(db: FlasherDb, query: { pool?: string; limit?: number } = {}): Promise<SerialRecord[]> {
  const limit = query.limit ?? Infinity;
  return stored('read the serial numbers', async () => {
    const out: SerialRecord[] = [];
    const tx = db.transaction('serials');
    for await (const cursor of tx.store.index('by-reserved').iterate(null, 'prev')) {
      if (out.length >= limit) break;
      if (query.pool === undefined || cursor.value.pool === query.pool) out.push(cursor.value);
    }
    await tx.done;
    return out;
  });
}

/** Counts per outcome and the number the next device would get (without reserving it). */
export async function poolStatus(db: FlasherDb, settings: SerialSettings): Promise<SerialPoolStatus> {
  return stored('read the serial numbers', async () => {
    const tx = db.transaction(['serials', 'serial-pools']);
    const counts = { used: 0, unverified: 0, voided: 0, reserved: 0 };
    const taken = new Set<string>();
    for await (const cursor of tx.objectStore('serials').index('by-pool').iterate(settings.pool)) {
      counts[cursor.value.status]++;
      if (settings.source.kind === 'list') taken.add(cursor.value.value);
    }
    const meta = await tx.objectStore('serial-pools').get(settings.pool);
    await tx.done;
    const source = serialSource(settings);
    const next = source.kind === 'counter' ? nextSerial(source, meta ? [BigInt(meta.max)] : []) : (source.values.find((v) => !taken.has(v.toString())) ?? null);
    const status: SerialPoolStatus = {
      pool: settings.pool,
      next: next === null ? null : next.toString(),
      nextText: next === null ? null : serialText(next, settings.format),
      ...counts,
    };
    if (source.kind === 'list') status.left = source.values.filter((v) => !taken.has(v.toString())).length;
    return status;
  });
}

/** Aborts a transaction whose `done` nobody awaits (it rejects on abort). */
function quietAbort(tx: { done: Promise<void>; abort(): void }): void {
  tx.done.catch(() => {});
  tx.abort();
}
