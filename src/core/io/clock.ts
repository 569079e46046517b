/**
 * Time comes in from outside: core/ and drivers/ have no timers of their own (tsconfig.core has no
 * DOM or Node types), so tests and simulators can run on any clock.
 */
export interface Clock {
  /** Milliseconds, monotonic, fractional. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignalLike): Promise<void>;
}

/** The subset of AbortSignal that core needs; the real one satisfies it. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
