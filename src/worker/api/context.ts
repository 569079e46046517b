import { toErrorInfo, type Result } from '../../shared/errors';
import { FirmwareCache } from '../firmware-cache';
import { MesQueue } from '../production/mes-queue';
import { Sessions } from '../sessions';
import { markInterrupted } from '../storage/audit-log';
import type { FlasherDb } from '../storage/db';
import * as serials from '../storage/serials';
import type { ApiDeps, Timers } from './deps';

/**
 * What the API's concerns share inside one worker: the running jobs, the parsed-firmware cache, the
 * MES queue and the reconcile step that marks jobs of closed tabs interrupted. Built once per worker.
 */
export interface WorkerContext {
  deps: ApiDeps;
  sessions: Sessions;
  timers: Timers;
  firmware: FirmwareCache;
  mes: MesQueue;
  /** Marks jobs whose tab went away as interrupted and voids their reserved serials. */
  reconcile(db: FlasherDb): Promise<void>;
  /** `reconcile` once per worker, failures ignored: before a station's first serial. */
  reconcileOnce(db: FlasherDb): Promise<void>;
}

export function createWorkerContext(deps: ApiDeps): WorkerContext {
  const sessions = new Sessions();
  const timers = deps.timers ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const mes = new MesQueue({
    db: deps.db,
    fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
    now: deps.now,
    timers,
    ...(deps.mesBackoff
      ? { baseBackoffMs: deps.mesBackoff.baseMs, maxBackoffMs: deps.mesBackoff.maxMs, ...(deps.mesBackoff.random ? { random: deps.mesBackoff.random } : {}) }
      : {}),
  });
  // Records newer than the lock snapshot are left alone: their job may not hold its lock yet.
  const reconcile = async (db: FlasherDb) => {
    const before = deps.now();
    const alive = await deps.locks.held();
    await markInterrupted(db, (r) => r.startedAt >= before || alive.has(r.jobId) || sessions.has(r.jobId));
    // A serial reserved by such a job is voided the same way: it may be in a half-written device.
    await serials.voidAbandoned(db, (r) => r.reservedAt >= before || alive.has(r.jobId) || sessions.has(r.jobId), deps.now());
  };
  let reconciled: Promise<void> | null = null;
  const reconcileOnce = (db: FlasherDb) => (reconciled ??= reconcile(db).catch(() => {}));
  return { deps, sessions, timers, firmware: new FirmwareCache(deps.db), mes, reconcile, reconcileOnce };
}

/** Exceptions inside, values across the boundary: every API method's body runs in here. */
export async function guard<T>(op: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await op() };
  } catch (err) {
    return { ok: false, error: toErrorInfo(err) };
  }
}

/** Calls a page's listener; a page that went away (a comlink proxy that rejects) must not fail the worker. */
export function deliver<E>(listener: ((event: E) => void) | undefined, event: E): void {
  try {
    void Promise.resolve(listener?.(event)).catch(() => {});
  } catch {
    // same: the listener's problems are not the worker's
  }
}

export function newId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
}
