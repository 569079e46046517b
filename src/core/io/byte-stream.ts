import { FlashError } from '../../shared/errors';
import type { AbortSignalLike } from './clock';

export interface ModemSignals {
  /** Asserted = true = TTL line low, as in Web Serial's setSignals. */
  dtr?: boolean;
  rts?: boolean;
}

export interface ReadOptions {
  timeoutMs: number;
  signal?: AbortSignalLike;
}

/**
 * A serial-like byte pipe. Framing (STK500 sync, SLIP, STM32 ACK) lives in drivers, never here.
 *
 * Invariants:
 * - `read` resolves with 1..max bytes as soon as any are available, in arrival order.
 * - `read` rejects with FlashError 'timeout' when nothing arrives in time, 'device-lost' once closed,
 *   or the signal's reason when aborted. A timeout loses no bytes.
 * - `write` resolves when the bytes are accepted by the link, not when they are delivered.
 */
export interface ByteStream {
  write(data: Uint8Array): Promise<void>;
  read(max: number, opts: ReadOptions): Promise<Uint8Array>;
  setSignals(signals: ModemSignals): Promise<void>;
  /** Changes the line rate; links without a rate (pty, virtual) may ignore it. */
  setBaud(baudRate: number): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the link closes from either side. */
  readonly closed: Promise<void>;
}

/** Reads exactly `n` bytes or throws; `timeoutMs` bounds the whole read, not each chunk. */
export async function readExactly(
  stream: ByteStream,
  n: number,
  opts: ReadOptions & { now: () => number },
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  const deadline = opts.now() + opts.timeoutMs;
  while (got < n) {
    const left = deadline - opts.now();
    if (left <= 0) throw timeoutError(n, got);
    let chunk: Uint8Array;
    try {
      chunk = await stream.read(n - got, { timeoutMs: left, signal: opts.signal });
    } catch (err) {
      if (err instanceof FlashError && err.code === 'timeout') throw timeoutError(n, got);
      throw err;
    }
    out.set(chunk, got);
    got += chunk.length;
  }
  return out;
}

function timeoutError(wanted: number, got: number): FlashError {
  return new FlashError('timeout', `The device stopped answering (got ${got} of ${wanted} bytes).`, {
    details: { wanted, got },
  });
}

/** Discards whatever arrives until the line has been quiet for `quietMs`. Returns the bytes dropped. */
export async function drain(stream: ByteStream, quietMs: number, signal?: AbortSignalLike): Promise<number> {
  let dropped = 0;
  for (;;) {
    try {
      dropped += (await stream.read(4096, { timeoutMs: quietMs, signal })).length;
    } catch (err) {
      if (err instanceof FlashError && err.code === 'timeout') return dropped;
      throw err;
    }
  }
}
