import type { JobEvent } from '../shared/events';

/*
 * Per-job session bookkeeping in the worker: the AbortController the page's cancel() fires, and the
 * cross-tab "this job is alive" lock that lets a later page tell an interrupted job from a running one.
 */

/** Cross-tab liveness of jobs. The Web Locks API is the browser's; tests use the in-process one. */
export interface JobLocks {
  /** Holds the job's lock until the returned release function is called (or the tab closes). */
  hold(jobId: string): Promise<() => void>;
  /** Job IDs whose lock is held by any tab of this origin. */
  held(): Promise<Set<string>>;
}

const LOCK_PREFIX = 'webprog-job:';

/**
 * Web Locks: a lock is released by the browser when its holder's worker or tab goes away, which is
 * exactly "the job is no longer running anywhere".
 */
export function webLocks(locks: LockManager): JobLocks {
  return {
    hold(jobId) {
      return new Promise((granted, refused) => {
        locks
          .request(LOCK_PREFIX + jobId, () => new Promise<void>((release) => granted(release)))
          .catch(refused);
      });
    },
    async held() {
      const snapshot = await locks.query();
      const ids = new Set<string>();
      for (const lock of snapshot.held ?? []) {
        if (lock.name?.startsWith(LOCK_PREFIX)) ids.add(lock.name.slice(LOCK_PREFIX.length));
      }
      return ids;
    },
  };
}

/** Without Web Locks only this thread's jobs are known to be alive. */
export function localLocks(): JobLocks {
  const alive = new Set<string>();
  return {
    async hold(jobId) {
      alive.add(jobId);
      return () => void alive.delete(jobId);
    },
    async held() {
      return new Set(alive);
    },
  };
}

export class Sessions {
  readonly #jobs = new Map<string, AbortController>();

  /** Registers a job; a second job with the same ID is refused (false). */
  start(jobId: string): AbortController | null {
    if (this.#jobs.has(jobId)) return null;
    const controller = new AbortController();
    this.#jobs.set(jobId, controller);
    return controller;
  }

  cancel(jobId: string): boolean {
    const controller = this.#jobs.get(jobId);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  end(jobId: string): void {
    this.#jobs.delete(jobId);
  }

  has(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }
}

/**
 * Forwards job events to the page with progress coalesced to at most one per `intervalMs`: the
 * engine may report every 128-byte page, the page needs ~25 updates a second. Any other event
 * first flushes the pending progress, so the page sees events in order and the last progress of a
 * phase is never dropped.
 */
export function throttleEvents(
  forward: (event: JobEvent) => void,
  intervalMs: number,
  now: () => number,
  timers: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void },
): { emit: (event: JobEvent) => void; flush: () => void } {
  let pending: JobEvent | null = null;
  let lastSent = -Infinity;
  let timer: unknown = null;

  const flush = () => {
    if (timer !== null) {
      timers.clear(timer);
      timer = null;
    }
    if (pending) {
      const event = pending;
      pending = null;
      lastSent = now();
      forward(event);
    }
  };

  const emit = (event: JobEvent) => {
    if (event.type !== 'progress') {
      flush();
      forward(event);
      return;
    }
    pending = event;
    const wait = lastSent + intervalMs - now();
    if (wait <= 0) flush();
    else timer ??= timers.set(flush, wait);
  };

  return { emit, flush };
}
