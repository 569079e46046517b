import type { AbortSignalLike, Clock } from '../core/io/clock';

/**
 * Timers fire late: Node rounds to whole milliseconds and browsers clamp nested timeouts to 4 ms.
 * A simulated UART at 115200 baud moves a byte every 87 µs, so that slack would dominate the timing
 * we measure. The clock therefore sleeps by timer until shortly before the deadline and yields to the
 * event loop for the rest (I/O and messages still run meanwhile).
 */
const TIMER_SLACK_MS = 2;

const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return () => new Promise<void>((resolve) => void setImmediate(resolve));
  }
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(0);
    });
})();

/** Wall-clock time for real links; sleeps reject with the signal's reason when aborted. */
export const systemClock: Clock = {
  now: () => performance.now(),
  async sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
    const deadline = performance.now() + ms;
    if (ms > TIMER_SLACK_MS) await timerSleep(ms - TIMER_SLACK_MS, signal);
    while (performance.now() < deadline) {
      if (signal?.aborted) throw signal.reason;
      await yieldToEventLoop();
    }
    if (signal?.aborted) throw signal.reason;
  },
};

function timerSleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
