import type { SerialLineOptions, SerialPortLike } from '../../src/transports/web-serial';

/**
 * A Web Serial port as the spec describes it: streams that exist while open, a non-fatal line error
 * replacing `readable`, a fatal one (unplugged) leaving it null and firing 'disconnect', and close()
 * refusing while a stream is locked.
 */
export class FakePort implements SerialPortLike {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  opens: SerialLineOptions[] = [];
  written: number[] = [];
  signals: { dataTerminalReady?: boolean; requestToSend?: boolean }[] = [];
  failOpen: DOMException | null = null;
  #rx: ReadableStreamDefaultController<Uint8Array> | null = null;
  #listeners = new Set<() => void>();

  constructor(readonly info: { usbVendorId?: number; usbProductId?: number } = { usbVendorId: 0x2341, usbProductId: 0x0043 }) {}

  async open(options: SerialLineOptions) {
    if (this.failOpen) throw this.failOpen;
    if (this.readable) throw new DOMException('The port is already open.', 'InvalidStateError');
    this.opens.push(options);
    this.#newReadable();
    this.writable = new WritableStream({ write: (chunk) => void this.written.push(...chunk) });
  }
  async close() {
    if (this.readable?.locked || this.writable?.locked) throw new TypeError('Cannot close a locked stream');
    this.readable = this.writable = null;
    this.#rx = null;
  }
  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean }) {
    if (!this.readable) throw new DOMException('The port is closed.', 'InvalidStateError');
    this.signals.push(s);
  }
  getInfo() {
    return this.info;
  }
  addEventListener(_: 'disconnect', l: () => void) {
    this.#listeners.add(l);
  }
  removeEventListener(_: 'disconnect', l: () => void) {
    this.#listeners.delete(l);
  }

  /** Bytes arriving from the device. */
  receive(...bytes: number[]) {
    this.#rx!.enqueue(Uint8Array.from(bytes));
  }
  /** A framing error: the current stream errors, a fresh one takes its place. */
  lineError() {
    const old = this.#rx!;
    this.#newReadable();
    old.error(new DOMException('Framing error', 'FramingError'));
  }
  unplug() {
    const rx = this.#rx;
    this.readable = this.writable = null;
    rx?.error(new DOMException('The device has been lost.', 'NetworkError'));
    for (const l of this.#listeners) l();
  }
  #newReadable() {
    this.readable = new ReadableStream<Uint8Array>({ start: (c) => void (this.#rx = c) });
  }
}

