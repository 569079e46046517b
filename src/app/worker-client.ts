import { wrap, type Remote } from 'comlink';
import type { FlasherApi } from '../shared/api';
import type { FlashErrorInfo, Result } from '../shared/errors';

/*
 * The page's only way to the engine: dedicated workers, each started on first use, spoken to through
 * the FlasherApi contract. `call` also turns a broken edge (the worker failed to start, a value that
 * cannot be cloned) into a Result, so the UI handles exactly one kind of failure.
 *
 * Worker 0 serves the page (library, History, single jobs). A production station spreads its slots
 * over more workers (`callOn(i, …)`): every worker opens the same IndexedDB, whose transactions keep
 * serial numbers unique across them, and the Web Locks they take are visible to all of them.
 */

class FlasherWorker {
  #remote: Remote<FlasherApi> | null = null;
  #broken: FlashErrorInfo | null = null;
  readonly #waiting = new Set<(error: FlashErrorInfo) => void>();

  constructor(private readonly name: string) {}

  get remote(): Remote<FlasherApi> {
    if (!this.#remote) {
      const worker = new Worker(new URL('../worker/index.ts', import.meta.url), { type: 'module', name: this.name });
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        this.#broken = {
          code: 'internal',
          message: 'The flashing engine could not start in this browser.',
          hint: 'Reload the page; if it keeps happening, use a current Chrome or Edge.',
          details: { error: event.message || 'worker error' },
        };
        for (const fail of this.#waiting) fail(this.#broken);
        this.#waiting.clear();
      });
      this.#remote = wrap<FlasherApi>(worker);
    }
    return this.#remote;
  }

  async call<T>(op: (api: Remote<FlasherApi>) => Promise<Result<T>>): Promise<Result<T>> {
    if (this.#broken) return { ok: false, error: this.#broken };
    let fail!: (error: FlashErrorInfo) => void;
    const died = new Promise<Result<T>>((resolve) => (fail = (error) => resolve({ ok: false, error })));
    this.#waiting.add(fail);
    try {
      return await Promise.race([op(this.remote), died]);
    } catch (err) {
      return {
        ok: false,
        error: {
          code: 'internal',
          message: `The page could not talk to the flashing engine: ${err instanceof Error ? err.message : String(err)}`,
          hint: 'Reload the page. If it persists, report it with the details below.',
        },
      };
    } finally {
      this.#waiting.delete(fail);
    }
  }
}

const workers: FlasherWorker[] = [new FlasherWorker('webprog-flasher')];

function workerAt(index: number): FlasherWorker {
  while (workers.length <= index) workers.push(new FlasherWorker(`webprog-flasher-${workers.length}`));
  return workers[index]!;
}

export function call<T>(op: (api: Remote<FlasherApi>) => Promise<Result<T>>): Promise<Result<T>> {
  return workerAt(0).call(op);
}

/** Like `call`, on worker `index` of the pool (0 is the page's own), started on first use. */
export function callOn<T>(index: number, op: (api: Remote<FlasherApi>) => Promise<Result<T>>): Promise<Result<T>> {
  return workerAt(index).call(op);
}

/** How many workers a station of `slots` slots uses when the user leaves it to the page. */
export function autoWorkerCount(slots: number): number {
  const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 4;
  // Measured (tests/e2e/station.spec.ts): one worker runs 32 virtual boards at 115200 baud at 75–85 %
  // of one board's speed each; a second worker helps only with cores to spare. Real ports cost less.
  return Math.max(1, Math.min(Math.ceil(slots / 16), cores - 1, 4));
}
