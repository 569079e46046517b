/** How often a long-running command checks that whoever started it is still there. */
const PARENT_POLL_MS = 500;

/**
 * Resolves on SIGINT, SIGTERM, SIGHUP, or when the parent process ends (the process is re-parented,
 * e.g. after `kill -9` of the npm or tsx that started it), so a `simulate` never outlives its owner.
 */
export function untilStopped(): Promise<string> {
  const parent = process.ppid;
  return new Promise((resolve) => {
    const stop = (why: string) => {
      clearInterval(timer);
      for (const s of SIGNALS) process.off(s, handlers[s]);
      resolve(why);
    };
    const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const handlers = Object.fromEntries(SIGNALS.map((s) => [s, () => stop(s)])) as Record<(typeof SIGNALS)[number], () => void>;
    for (const s of SIGNALS) process.once(s, handlers[s]);
    const timer = setInterval(() => {
      if (process.ppid !== parent) stop('parent ended');
    }, PARENT_POLL_MS);
  });
}
