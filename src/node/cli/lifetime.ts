import { existsSync, readFileSync } from 'node:fs';

/** How often a long-running command checks that whoever started it is still there. */
const PARENT_POLL_MS = 300;
/**
 * How many ancestors to watch. `npm run webprog -- simulate` is npm → sh → tsx → node: when npm is
 * killed, tsx lives on as an orphan and our own parent never changes, so the watch goes further up.
 */
const ANCESTORS = 3;

/** The parent of `pid` from /proc (Linux), or undefined when it has ended (or is a zombie). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}

function ancestors(): number[] {
  const chain = [process.ppid];
  while (chain.length < ANCESTORS) {
    const up = parentOf(chain[chain.length - 1]!);
    if (up === undefined || up <= 1) break;
    chain.push(up);
  }
  return chain;
}

/**
 * Resolves on SIGINT, SIGTERM or SIGHUP, or when a process that started this one ends (however it
 * ended, kill -9 included), so a `simulate` never outlives its owner.
 */
export function untilStopped(): Promise<string> {
  const watched = ancestors();
  const parent = process.ppid;
  const gone = (pid: number) => (existsSync('/proc') ? parentOf(pid) === undefined : false);
  return new Promise((resolve) => {
    const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const stop = (why: string) => {
      clearInterval(timer);
      for (const s of SIGNALS) process.off(s, handlers[s]);
      resolve(why);
    };
    const handlers = Object.fromEntries(SIGNALS.map((s) => [s, () => stop(s)])) as Record<(typeof SIGNALS)[number], () => void>;
    for (const s of SIGNALS) process.once(s, handlers[s]);
    const timer = setInterval(() => {
      if (process.ppid !== parent || watched.some(gone)) stop('parent ended');
    }, PARENT_POLL_MS);
  });
}
