import { FlashError } from '../../shared/errors';
import type { ByteStream, ModemSignals, ReadOptions } from './byte-stream';
import type { AbortSignalLike, Clock } from './clock';
import { Trigger, anySignal } from './signal';

export interface LineFormat {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

export const FORMAT_8N1 = { dataBits: 8, parity: 'none', stopBits: 1 } as const;

/** The line a driver's device talks on: its meta's serial defaults, 8N1 where it names none. */
export function lineFormatOf(meta: { serialDefaults?: Partial<Omit<LineFormat, 'baudRate'>> }, baudRate: number): LineFormat {
  const d = meta.serialDefaults ?? {};
  return {
    baudRate,
    dataBits: d.dataBits ?? FORMAT_8N1.dataBits,
    parity: d.parity ?? FORMAT_8N1.parity,
    stopBits: d.stopBits ?? FORMAT_8N1.stopBits,
  };
}

/** Start bit + data + parity + stop bits: what one byte costs on the wire. */
export function bitsPerFrame(f: Omit<LineFormat, 'baudRate'>): number {
  return 1 + f.dataBits + (f.parity === 'none' ? 0 : 1) + f.stopBits;
}

/** Milliseconds one byte occupies the line. */
export function frameMs(f: LineFormat): number {
  return (bitsPerFrame(f) * 1000) / f.baudRate;
}

/** UARTs tolerate a few percent of rate error; beyond that every byte is a framing error. */
const BAUD_TOLERANCE = 0.03;

/** Seen by a device simulator: a ByteStream plus the host's modem lines. */
export interface DevicePort extends ByteStream {
  onSignals(listener: (signals: Required<ModemSignals>) => void): void;
  /** The rate the host currently talks at (for simulators that autobaud). */
  hostBaud(): number;
  /**
   * Queues bytes that leave no earlier than `time` (clock ms): how a device answers when it finishes
   * a page write, without a timer of its own adding scheduling slack to the simulated timing.
   */
  sendAt(data: Uint8Array, time: number): void;
}

/** Bytes sent back to back: byte i arrives at `firstArrival + i * step`. */
interface Burst {
  data: Uint8Array;
  firstArrival: number;
  step: number;
  /** Bytes of `data` already taken by the reader. */
  taken: number;
}

/** One direction of the wire: bytes leave the writer back to back and arrive one frame time apart. */
class Wire {
  private bursts: Burst[] = [];
  private lineFreeAt = 0;
  private wake: Trigger | null = null;

  constructor(private readonly clock: Clock) {}

  send(data: Uint8Array, writer: LineFormat, readerBaud: number, notBefore = 0): void {
    if (data.length === 0) return;
    const step = frameMs(writer);
    const start = Math.max(this.clock.now(), this.lineFreeAt, notBefore);
    // A receiver at the wrong rate samples a different bit pattern; model it deterministically.
    const garble = Math.abs(writer.baudRate - readerBaud) / readerBaud > BAUD_TOLERANCE;
    const bytes = garble ? data.map((b) => (b * 37 + 0x5b) & 0xff) : data.slice();
    this.bursts.push({ data: bytes, firstArrival: start + step, step, taken: 0 });
    this.lineFreeAt = start + step * bytes.length;
    this.wake?.fire();
  }

  async receive(max: number, opts: ReadOptions, closed: AbortSignalLike): Promise<Uint8Array> {
    const deadline = this.clock.now() + opts.timeoutMs;
    for (;;) {
      if (closed.aborted) throw lost();
      if (opts.signal?.aborted) throw opts.signal.reason;
      const now = this.clock.now();
      const arrived = this.take(now, max);
      if (arrived) return arrived;
      if (now >= deadline) throw new FlashError('timeout', 'No answer from the device in time.');
      // Sleep until the max-th queued byte has arrived (the caller would loop for it anyway), the
      // deadline, or new data being sent, whichever is first.
      const until = this.arrivalOf(max);
      const wake = (this.wake = new Trigger());
      const stop = anySignal(wake, closed, opts.signal);
      try {
        await this.clock.sleep(Math.max(0, Math.min(until, deadline) - now), stop);
      } catch {
        // woken early: the loop re-evaluates why
      } finally {
        stop.dispose();
        if (this.wake === wake) this.wake = null;
      }
    }
  }

  /** Arrival time of the n-th byte still queued, or of the last one if fewer are queued. */
  private arrivalOf(n: number): number {
    let left = n;
    let last = Infinity;
    for (const b of this.bursts) {
      const queued = b.data.length - b.taken;
      if (left <= queued) return b.firstArrival + (b.taken + left - 1) * b.step;
      left -= queued;
      last = b.firstArrival + (b.data.length - 1) * b.step;
    }
    return last;
  }

  /** Up to `max` bytes that have arrived by `now`, or null if none has. */
  private take(now: number, max: number): Uint8Array | null {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < max && this.bursts.length > 0) {
      const b = this.bursts[0]!;
      const arrivedInBurst = Math.min(b.data.length, Math.floor((now - b.firstArrival) / b.step) + 1);
      const n = Math.min(arrivedInBurst - b.taken, max - total);
      if (n <= 0) break;
      parts.push(b.data.subarray(b.taken, b.taken + n));
      b.taken += n;
      total += n;
      if (b.taken < b.data.length) break;
      this.bursts.shift();
    }
    if (total === 0) return null;
    if (parts.length === 1) return parts[0]!.slice();
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function lost(): FlashError {
  return new FlashError('device-lost', 'The device disconnected.');
}

/**
 * An in-memory UART between a host and a device, with real timing: every byte takes
 * bits-per-frame / baud on the wire, each direction is independent (full duplex), and the two ends
 * must agree on the rate or the receiver gets garbage, as on a real line.
 */
export function createUartPair(
  clock: Clock,
  format: LineFormat,
  deviceFormat: LineFormat = format,
): { host: ByteStream; device: DevicePort } {
  const toDevice = new Wire(clock);
  const toHost = new Wire(clock);
  const closedTrigger = new Trigger();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const close = async () => {
    closedTrigger.fire();
    resolveClosed();
  };
  const hostFormat: LineFormat = { ...format };
  const devFormat: LineFormat = { ...deviceFormat };
  const signals: Required<ModemSignals> = { dtr: false, rts: false };
  const signalListeners: ((s: Required<ModemSignals>) => void)[] = [];

  const host: ByteStream = {
    async write(data) {
      if (closedTrigger.aborted) throw lost();
      toDevice.send(data, hostFormat, devFormat.baudRate);
    },
    read: (max, opts) => toHost.receive(max, opts, closedTrigger),
    async setSignals(s) {
      if (closedTrigger.aborted) throw lost();
      if (s.dtr !== undefined) signals.dtr = s.dtr;
      if (s.rts !== undefined) signals.rts = s.rts;
      for (const l of signalListeners) l({ ...signals });
    },
    async setBaud(baudRate) {
      hostFormat.baudRate = baudRate;
    },
    close,
    closed,
  };
  const device: DevicePort = {
    async write(data) {
      if (closedTrigger.aborted) throw lost();
      toHost.send(data, devFormat, hostFormat.baudRate);
    },
    read: (max, opts) => toDevice.receive(max, opts, closedTrigger),
    async setSignals() {},
    async setBaud(baudRate) {
      devFormat.baudRate = baudRate;
    },
    close,
    closed,
    sendAt(data, time) {
      if (!closedTrigger.aborted) toHost.send(data, devFormat, hostFormat.baudRate, time);
    },
    onSignals: (l) => void signalListeners.push(l),
    hostBaud: () => hostFormat.baudRate,
  };
  return { host, device };
}
