import { concatBytes } from '../core/bytes/concat';
import type { ByteStream } from '../core/io/byte-stream';
import type { MonitorEvent } from '../shared/api';
import { FlashError, isFlashError, toErrorInfo } from '../shared/errors';

/**
 * Serial monitors: a port opened for a terminal, its bytes forwarded to the page.
 *
 * Invariants:
 * - received bytes are coalesced and sent at most every `intervalMs`, in order, none dropped;
 * - every monitor ends with exactly one 'closed' event, whether the page closed it or the port went away.
 */
export class Monitors {
  readonly #open = new Map<string, { stream: ByteStream; stop: () => Promise<void> }>();
  #next = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly timers: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void },
  ) {}

  start(stream: ByteStream, forward: (event: MonitorEvent) => void): string {
    const id = `monitor-${++this.#next}`;
    let pending: Uint8Array[] = [];
    let timer: unknown = null;
    let stopping = false;
    const flush = () => {
      timer = null;
      if (pending.length === 0) return;
      const bytes = pending.length === 1 ? pending[0]! : concatBytes(...pending);
      pending = [];
      forward({ type: 'data', bytes });
    };
    const pump = (async (): Promise<FlashError | null> => {
      for (;;) {
        try {
          pending.push(await stream.read(4096, { timeoutMs: 60_000 }));
          timer ??= this.timers.set(flush, this.intervalMs);
        } catch (err) {
          if (isFlashError(err, 'timeout')) continue;
          if (stopping) return null;
          return isFlashError(err) ? err : new FlashError('device-lost', 'The serial port stopped.', { cause: err });
        }
      }
    })();
    const finish = pump.then((error) => {
      if (timer !== null) this.timers.clear(timer);
      flush();
      this.#open.delete(id);
      forward({ type: 'closed', error: error ? toErrorInfo(error) : null });
    });
    this.#open.set(id, {
      stream,
      stop: async () => {
        stopping = true;
        await stream.close();
        await finish;
      },
    });
    return id;
  }

  async write(id: string, bytes: Uint8Array): Promise<void> {
    const monitor = this.#open.get(id);
    if (!monitor) throw new FlashError('device-lost', 'The serial monitor is closed.');
    await monitor.stream.write(bytes);
  }

  async stop(id: string): Promise<boolean> {
    const monitor = this.#open.get(id);
    if (!monitor) return false;
    await monitor.stop();
    return true;
  }
}
