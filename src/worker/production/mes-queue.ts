import type { AuditRecord, MesStatus } from '../../shared/api';
import { stored, type FlasherDb, type MesQueueItem } from '../storage/db';

/*
 * Delivery of audit records to a manufacturing execution system (MES): an HTTP POST of the record as
 * JSON, through a queue in IndexedDB.
 *
 * Invariants:
 * - a record is queued in IndexedDB before any attempt, and leaves the queue only after the endpoint
 *   answered 2xx: nothing is lost while the network or the MES is down, or across reloads;
 * - a failed attempt is retried with exponential backoff (base × 2^(attempts−1), capped, ±jitter);
 * - several workers may drain the same queue: an item is leased in a transaction before it is sent,
 *   so two drainers never post it at the same time. A crash after the POST and before the delete can
 *   send a record twice, so every POST carries the job ID as its Idempotency-Key.
 */

export interface MesQueueDeps {
  db: () => Promise<FlasherDb>;
  fetch: (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{ ok: boolean; status: number }>;
  /** Epoch milliseconds. */
  now: () => number;
  timers: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void };
  /** First retry after this long; doubles up to `maxBackoffMs`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** 0..1; 0.5 means no jitter. Tests fix it. */
  random?: () => number;
  /** How long a drainer may hold an item before another may try it. */
  leaseMs?: number;
  requestTimeoutMs?: number;
}

export class MesQueue {
  readonly #deps: Required<Omit<MesQueueDeps, 'random'>> & { random: () => number };
  #timer: unknown = null;
  #timerAt = Infinity;
  #draining: Promise<void> | null = null;
  #again = false;
  #delivered = 0;
  #lastError: string | undefined;

  constructor(deps: MesQueueDeps) {
    this.#deps = {
      baseBackoffMs: 2_000,
      maxBackoffMs: 5 * 60_000,
      leaseMs: 60_000,
      requestTimeoutMs: 15_000,
      random: Math.random,
      ...deps,
    };
  }

  /** Queues a finished job's record for `url`, then tries to deliver it at once. */
  async enqueue(url: string, record: AuditRecord): Promise<void> {
    const db = await this.#deps.db();
    const now = this.#deps.now();
    const item: MesQueueItem = {
      jobId: record.jobId,
      url,
      body: JSON.stringify({ format: 'webprog-audit', version: 1, record }),
      queuedAt: now,
      attempts: 0,
      dueAt: now,
      leaseUntil: 0,
    };
    await stored('queue the record for the MES', () => db.add('mes-queue', item));
    this.kick();
  }

  /** Starts a drain soon (not inside the caller's turn). */
  kick(): void {
    this.#schedule(0);
  }

  /** Delivers every item that is due; resolves when this pass is over. Concurrent calls share one pass. */
  drain(): Promise<void> {
    if (this.#draining) {
      // An item queued while a pass is ending must not wait for the next backoff timer.
      this.#again = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      do {
        this.#again = false;
        await this.#drainOnce();
      } while (this.#again);
    })().finally(() => {
      this.#draining = null;
    });
    return this.#draining;
  }

  /** Makes every waiting item due now, and drains. */
  async retryNow(): Promise<void> {
    const db = await this.#deps.db();
    await stored('update the MES queue', async () => {
      const tx = db.transaction('mes-queue', 'readwrite');
      for await (const cursor of tx.store.iterate()) {
        if (cursor.value.dueAt > this.#deps.now()) await cursor.update({ ...cursor.value, dueAt: this.#deps.now() });
      }
      await tx.done;
    });
    await this.drain();
  }

  async status(url: string | null): Promise<MesStatus> {
    const db = await this.#deps.db();
    const items = await stored('read the MES queue', () => db.getAll('mes-queue'));
    const oldest = items[0];
    const status: MesStatus = { url, pending: items.length, failing: (oldest?.attempts ?? 0) > 0, delivered: this.#delivered };
    const lastError = oldest?.lastError ?? (items.length > 0 ? this.#lastError : undefined);
    if (lastError) status.lastError = lastError;
    const due = items.map((i) => i.dueAt).sort((a, b) => a - b)[0];
    if (due !== undefined) status.nextAttemptAt = due;
    return status;
  }

  async #drainOnce(): Promise<void> {
    const db = await this.#deps.db();
    for (;;) {
      const item = await this.#claim(db);
      if (!item) break;
      const error = await this.#post(item);
      if (error === null) {
        await stored('update the MES queue', () => db.delete('mes-queue', item.id!));
        this.#delivered++;
        this.#lastError = undefined;
      } else {
        this.#lastError = error;
        const delay = this.backoffMs(item.attempts);
        await stored('update the MES queue', async () => {
          const tx = db.transaction('mes-queue', 'readwrite');
          const current = await tx.store.get(item.id!);
          if (current) await tx.store.put({ ...current, dueAt: this.#deps.now() + delay, leaseUntil: 0, lastError: error });
          await tx.done;
        });
      }
    }
    // Wake up for the earliest item still waiting (failed ones, or ones leased by another drainer).
    const items = await stored('read the MES queue', () => db.getAll('mes-queue'));
    if (items.length > 0) {
      const next = Math.min(...items.map((i) => Math.max(i.dueAt, i.leaseUntil)));
      this.#schedule(Math.max(0, next - this.#deps.now()));
    }
  }

  /** The delay before retry number `attempts` (1 = first retry). */
  backoffMs(attempts: number): number {
    const { baseBackoffMs, maxBackoffMs, random } = this.#deps;
    const raw = Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(raw * (0.8 + 0.4 * random()));
  }

  /** Leases the oldest due item, counting the attempt; null when none is due. */
  async #claim(db: FlasherDb): Promise<MesQueueItem | null> {
    const now = this.#deps.now();
    return stored('read the MES queue', async () => {
      const tx = db.transaction('mes-queue', 'readwrite');
      let claimed: MesQueueItem | null = null;
      for await (const cursor of tx.store.iterate()) {
        const item = cursor.value;
        if (item.dueAt > now || item.leaseUntil > now) continue;
        claimed = { ...item, attempts: item.attempts + 1, leaseUntil: now + this.#deps.leaseMs };
        await cursor.update(claimed);
        break;
      }
      await tx.done;
      return claimed;
    });
  }

  /** One POST; null on a 2xx answer, else why not. */
  async #post(item: MesQueueItem): Promise<string | null> {
    const timeout = (AbortSignal as { timeout?: (ms: number) => AbortSignal }).timeout?.(this.#deps.requestTimeoutMs);
    try {
      const res = await this.#deps.fetch(item.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': item.jobId },
        body: item.body,
        ...(timeout ? { signal: timeout } : {}),
      });
      return res.ok ? null : `The MES answered HTTP ${res.status}.`;
    } catch (err) {
      return `The MES could not be reached: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  #schedule(ms: number): void {
    const at = this.#deps.now() + ms;
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) this.#deps.timers.clear(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#deps.timers.set(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      void this.drain().catch(() => {});
    }, ms);
  }
}
