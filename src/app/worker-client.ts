import { wrap, type Remote } from 'comlink';
import type { FlasherApi } from '../shared/api';
import type { FlashErrorInfo, Result } from '../shared/errors';

/*
 * The page's only way to the engine: one dedicated worker, started on first use, spoken to through
 * the FlasherApi contract. `call` also turns a broken edge (the worker failed to start, a value that
 * cannot be cloned) into a Result, so the UI handles exactly one kind of failure.
 */

let remote: Remote<FlasherApi> | null = null;
let broken: FlashErrorInfo | null = null;
const waiting = new Set<(error: FlashErrorInfo) => void>();

export function flasher(): Remote<FlasherApi> {
  if (!remote) {
    const worker = new Worker(new URL('../worker/index.ts', import.meta.url), { type: 'module', name: 'webprog-flasher' });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      broken = {
        code: 'internal',
        message: 'The flashing engine could not start in this browser.',
        hint: 'Reload the page; if it keeps happening, use a current Chrome or Edge.',
        details: { error: event.message || 'worker error' },
      };
      for (const fail of waiting) fail(broken);
      waiting.clear();
    });
    remote = wrap<FlasherApi>(worker);
  }
  return remote;
}

export async function call<T>(op: (api: Remote<FlasherApi>) => Promise<Result<T>>): Promise<Result<T>> {
  if (broken) return { ok: false, error: broken };
  let fail!: (error: FlashErrorInfo) => void;
  const died = new Promise<Result<T>>((resolve) => (fail = (error) => resolve({ ok: false, error })));
  waiting.add(fail);
  try {
    return await Promise.race([op(flasher()), died]);
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
    waiting.delete(fail);
  }
}
