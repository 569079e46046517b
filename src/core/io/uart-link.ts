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

interface InFlight {
  byte: number;
  arrivesAt: number;
}

/** One direction of the wire: bytes leave the writer back to back and arrive one frame time apart. */
class Wire {
  private queue: InFlight[] = [];
  private head = 0;
  private lineFreeAt = 0;
  private wake: Trigger | null = null;

  constructor(private readonly clock: Clock) {}

  send(data: Uint8Array, writer: LineFormat, readerBaud: number, notBefore = 0): void {
    const ms = frameMs(writer);
    const garble = Math.abs(writer.baudRate - readerBaud) / readerBaud > BAUD_TOLERANCE;
    let t = Math.max(this.clock.now(), this.lineFreeAt, notBefore);
    for (const byte of data) {
      t += ms;
      // A receiver at the wrong rate samples a different bit pattern; model it deterministically.
      this.queue.push({ byte: garble ? (byte * 37 + 0x5b) & 0xff : byte, arrivesAt: t });
    }
    this.lineFreeAt = t;
    this.wake?.fire();
  }

  async receive(max: number, opts: ReadOptions, closed: AbortSignalLike): Promise<Uint8Array> {
    const deadline = this.clock.now() + opts.timeoutMs;
    for (;;) {
      if (closed.aborted) throw lost();
      if (opts.signal?.aborted) throw opts.signal.reason;
      const now = this.clock.now();
      const arrived = this.countArrived(now, max);
      if (arrived > 0) return this.take(arrived);
      if (now >= deadline) throw new FlashError('timeout', 'No answer from the device in time.');
      // Sleep until the max-th queued byte has arrived (the caller would loop for it anyway), the
      // deadline, or new data being sent, whichever is first.
      const pending = this.queue.length - this.head;
      const until = pending > 0 ? this.queue[this.head + Math.min(max, pending) - 1]!.arrivesAt : Infinity;
      const wake = (this.wake = new Trigger());
      const stop = anySignal(wake, closed, opts.signal);
      try {
        await this.clock.sleep(Math.max(0, Math.min(until, deadline) - now), stop);
      } catch {
        // woken early: loop re-evaluates why
      } finally {
        stop.dispose();
        if (this.wake === wake) this.wake = null;
      }
    }
  }

  private countArrived(now: number, max: number): number {
    let n = 0;
    while (n < max && this.head + n < this.queue.length && this.queue[this.head + n]!.arrivesAt <= now) n++;
    return n;
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.queue[this.head + i]!.byte;
    this.head += n;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
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
