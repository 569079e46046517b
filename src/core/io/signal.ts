import type { AbortSignalLike } from './clock';

/**
 * A minimal abort source for core code, which has no AbortController (no DOM/Node lib in core).
 * Used to cut short internal waits; user cancellation arrives as a real AbortSignal from outside.
 */
export class Trigger implements AbortSignalLike {
  aborted = false;
  reason: unknown = undefined;
  private listeners = new Set<() => void>();

  fire(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) listener();
    else this.listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.delete(listener);
  }
}

/**
 * A signal that fires when any of the given ones does. Call `dispose()` when done waiting: it
 * detaches from the sources, which may be long-lived (a job's AbortSignal sees thousands of reads).
 */
export function anySignal(...signals: (AbortSignalLike | undefined)[]): Trigger & { dispose(): void } {
  const out = Object.assign(new Trigger(), { dispose: () => {} });
  const detach: (() => void)[] = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      out.fire(s.reason);
      continue;
    }
    const listener = () => out.fire(s.reason);
    s.addEventListener('abort', listener, { once: true });
    detach.push(() => s.removeEventListener('abort', listener));
  }
  out.dispose = () => detach.forEach((d) => d());
  return out;
}
