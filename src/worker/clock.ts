import type { AbortSignalLike, Clock } from '../core/io/clock';

/*
 * The worker's clock: one scheduler for every sleeper in the thread.
 *
 * A simulated UART at 115200 baud needs sleeps accurate to about a millisecond. transports/clock.ts
 * gets there by sleeping on a timer until 2 ms before the deadline and yielding in a loop for the
 * rest; that is right for one job, but 32 virtual boards in one worker would each spin on their own
 * and starve each other. Here:
 * - all sleepers share one timer, armed for the earliest deadline;
 * - the timer is always armed from a message task, never from inside a timer callback, so browsers
 *   never apply their 4 ms clamp for nested timers (HTML: "timer nesting level" above 5);
 * - only the last sub-millisecond before the earliest deadline is bridged by yielding to the event
 *   loop, once for all sleepers (measured in Node: 32 boards at once as fast as on the precise clock,
 *   where a timer-only clock was 15 % slower);
 * - a stall (the thread got no CPU, or a long task ran) is taken out of the clock beyond
 *   `STALL_MS`: a virtual device is simulated in this very thread, so it could not have answered
 *   during the stall either, and counting the stall would time out jobs that did nothing wrong.
 *   For a real port it only lengthens timeouts by the time the host itself was frozen. The clock
 *   stays monotonic; job durations then leave out the frozen time.
 */

/** Lateness beyond this is a stall, not timer slack. */
const STALL_MS = 40;

interface Sleeper {
  at: number;
  resolve: () => void;
  cancel?: () => void;
}

export interface WorkerClock extends Clock {
  /** Host time taken out of the clock as stalls, for diagnostics. */
  readonly stalledMs: number;
}

export function createWorkerClock(raw: () => number = () => performance.now()): WorkerClock {
  const sleepers = new Set<Sleeper>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timerAt = Infinity;
  let kicked = false;
  let offset = 0;
  let last = -Infinity;
  const channel = new MessageChannel();

  const now = () => {
    const t = raw() - offset;
    if (t > last) last = t;
    return last;
  };

  const kick = () => {
    if (kicked) return;
    kicked = true;
    channel.port2.postMessage(0);
  };

  /** Runs in a message task: wakes the due sleepers, then waits for the next deadline. */
  const pump = () => {
    kicked = false;
    let earliest = Infinity;
    for (const s of sleepers) if (s.at < earliest) earliest = s.at;
    const lateBy = raw() - offset - earliest;
    if (lateBy > STALL_MS) {
      // Resume as if the thread had been late by STALL_MS only (never turning the clock back).
      const resume = Math.max(last, earliest + STALL_MS);
      offset = raw() - resume;
    }
    const t = now();
    let next = Infinity;
    // Earliest first: a device's own timer (a page write ending) fires before the host's timeout.
    const due = [...sleepers].filter((s) => s.at <= t).sort((a, b) => a.at - b.at);
    for (const s of due) {
      sleepers.delete(s);
      s.cancel?.();
      s.resolve();
    }
    for (const s of sleepers) if (s.at < next) next = s.at;
    if (next === Infinity) return;
    const delay = next - now();
    if (delay < 1) {
      kick(); // less than a timer's resolution away: yield and look again
      return;
    }
    if (timer !== null) {
      if (timerAt <= next) return;
      clearTimeout(timer);
    }
    timerAt = next;
    timer = setTimeout(
      () => {
        timer = null;
        timerAt = Infinity;
        kick();
      },
      Math.floor(delay),
    );
  };
  channel.port1.onmessage = pump;

  return {
    now,
    get stalledMs() {
      return offset;
    },
    sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const sleeper: Sleeper = { at: now() + Math.max(0, ms), resolve };
        if (signal) {
          const onAbort = () => {
            sleepers.delete(sleeper);
            reject(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
          sleeper.cancel = () => signal.removeEventListener('abort', onAbort);
        }
        sleepers.add(sleeper);
        kick();
      });
    },
  };
}
