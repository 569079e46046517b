import type { ByteStream, ModemSignals, ReadOptions } from '../core/io/byte-stream';
import type { Clock } from '../core/io/clock';
import { anySignal, Trigger } from '../core/io/signal';
import { FlashError } from '../shared/errors';

/** Line settings passed to `SerialPort.open()`. */
export interface SerialLineOptions {
  baudRate: number;
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
  parity?: 'none' | 'even' | 'odd';
  bufferSize?: number;
}

/** The part of Web Serial's SerialPort this transport uses; the real one satisfies it, tests pass fakes. */
export interface SerialPortLike {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: SerialLineOptions): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void>;
  getInfo(): { usbVendorId?: number; usbProductId?: number };
  addEventListener(type: 'disconnect', listener: () => void): void;
  removeEventListener(type: 'disconnect', listener: () => void): void;
}

/**
 * Opens a Web Serial port as a ByteStream.
 *
 * Invariants:
 * - one read loop owns `port.readable`; bytes wait in a queue until `read` takes them, so a read
 *   timeout never loses data;
 * - a non-fatal line error (break, framing, parity, overrun) replaces `port.readable` and reading
 *   continues; losing the device (readable gone, the port's 'disconnect' event, a failed write) ends
 *   the stream: pending and later calls reject with 'device-lost' and `closed` resolves;
 * - `setBaud` closes and reopens the port (Web Serial has no rate change on an open port); bytes
 *   received at the old rate are dropped.
 */
export async function openSerialPort(port: SerialPortLike, options: SerialLineOptions, clock: Clock): Promise<ByteStream> {
  const stream = new WebSerialStream(port, options, clock);
  await stream.open();
  return stream;
}

class WebSerialStream implements ByteStream {
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #ended = new Trigger();
  #lost = false;
  #options: SerialLineOptions;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #wake: Trigger | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #pump: Promise<void> = Promise.resolve();
  #stopping = false;
  readonly #onDisconnect = () => this.#markLost();

  constructor(
    private readonly port: SerialPortLike,
    options: SerialLineOptions,
    private readonly clock: Clock,
  ) {
    this.#options = { ...options };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  async open(): Promise<void> {
    try {
      await this.port.open(this.#options);
    } catch (err) {
      throw openError(err);
    }
    this.port.addEventListener('disconnect', this.#onDisconnect);
    this.#start();
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#lost || this.#ended.aborted || !this.#writer) throw lostError();
    try {
      await this.#writer.write(data);
    } catch (err) {
      this.#markLost();
      throw lostError(err);
    }
  }

  async read(max: number, opts: ReadOptions): Promise<Uint8Array> {
    const deadline = this.clock.now() + opts.timeoutMs;
    for (;;) {
      if (this.#queued > 0) return this.#take(max);
      if (this.#lost || this.#ended.aborted) throw lostError();
      if (opts.signal?.aborted) throw opts.signal.reason ?? new FlashError('aborted', 'Cancelled.');
      const left = deadline - this.clock.now();
      if (left <= 0) throw new FlashError('timeout', 'No answer from the device in time.');
      const wake = (this.#wake = new Trigger());
      const stop = anySignal(wake, this.#ended, opts.signal);
      try {
        await this.clock.sleep(left, stop);
      } catch {
        // woken by data, the end of the stream or the caller's signal: the loop sees which
      } finally {
        stop.fire();
        if (this.#wake === wake) this.#wake = null;
      }
    }
  }

  async setSignals(signals: ModemSignals): Promise<void> {
    if (this.#lost || this.#ended.aborted) throw lostError();
    const out: { dataTerminalReady?: boolean; requestToSend?: boolean } = {};
    if (signals.dtr !== undefined) out.dataTerminalReady = signals.dtr;
    if (signals.rts !== undefined) out.requestToSend = signals.rts;
    try {
      await this.port.setSignals(out);
    } catch (err) {
      if (this.#lost) throw lostError(err);
      // Not fatal for the stream: some adapters have no modem lines. Drivers decide what it means.
      throw new FlashError('unsupported', `This port cannot set DTR/RTS: ${errorText(err)}`, { cause: err });
    }
  }

  async setBaud(baudRate: number): Promise<void> {
    if (this.#lost || this.#ended.aborted) throw lostError();
    if (baudRate === this.#options.baudRate) return;
    await this.#stop();
    try {
      await this.port.close();
      this.#options = { ...this.#options, baudRate };
      await this.port.open(this.#options);
    } catch (err) {
      this.#markLost();
      throw openError(err);
    }
    this.#queue = [];
    this.#queued = 0;
    this.#start();
  }

  async close(): Promise<void> {
    if (this.#ended.aborted) return;
    this.port.removeEventListener('disconnect', this.#onDisconnect);
    await this.#stop();
    try {
      await this.port.close();
    } catch {
      // already gone: closing is best effort
    }
    this.#end();
  }

  #start(): void {
    this.#stopping = false;
    this.#writer = this.port.writable?.getWriter() ?? null;
    this.#pump = this.#readLoop();
  }

  /** Stops the read loop and releases both streams, so the port can be closed. */
  async #stop(): Promise<void> {
    this.#stopping = true;
    await this.#reader?.cancel().catch(() => {});
    await this.#pump;
    if (this.#writer) {
      const writer = this.#writer;
      this.#writer = null;
      await writer.close().catch(() => {});
      writer.releaseLock();
    }
  }

  async #readLoop(): Promise<void> {
    while (!this.#stopping && this.port.readable) {
      const reader = (this.#reader = this.port.readable.getReader());
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value && value.length > 0) {
            this.#queue.push(value);
            this.#queued += value.length;
            this.#wake?.fire();
          }
        }
      } catch {
        // A non-fatal line error gives port.readable a fresh stream; a fatal one leaves it null.
      } finally {
        reader.releaseLock();
        this.#reader = null;
      }
    }
    if (!this.#stopping) this.#markLost();
  }

  #take(max: number): Uint8Array {
    const n = Math.min(max, this.#queued);
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const head = this.#queue[0]!;
      const part = Math.min(head.length, n - got);
      out.set(head.subarray(0, part), got);
      got += part;
      if (part === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(part);
    }
    this.#queued -= n;
    return out;
  }

  #markLost(): void {
    if (this.#lost) return;
    this.#lost = true;
    this.port.removeEventListener('disconnect', this.#onDisconnect);
    void this.#stop().then(() => this.port.close().catch(() => {}));
    this.#end();
  }

  #end(): void {
    this.#ended.fire();
    this.#resolveClosed();
  }
}

function lostError(cause?: unknown): FlashError {
  return new FlashError('device-lost', 'The serial port disconnected.', cause === undefined ? {} : { cause });
}

function openError(err: unknown): FlashError {
  const name = (err as { name?: unknown } | null)?.name;
  return new FlashError('port-unavailable', `The serial port could not be opened: ${errorText(err)}`, {
    details: { error: String(name ?? 'Error') },
    cause: err,
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
