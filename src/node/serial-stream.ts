import { SerialPort } from 'serialport';
import type { ByteStream, ModemSignals, ReadOptions } from '../core/io/byte-stream';
import type { LineFormat } from '../core/io/uart-link';
import { Trigger, anySignal } from '../core/io/signal';
import { systemClock } from '../transports/clock';
import { FlashError } from '../shared/errors';

/**
 * A serial device (or PTY) as a ByteStream, through node-serialport. PTYs cannot do modem signals
 * (ENOTTY) or parity; those failures are reported to the driver, which treats them as non-fatal.
 */
export async function openSerialStream(path: string, baudRate: number, format: Partial<Omit<LineFormat, 'baudRate'>> = {}): Promise<ByteStream> {
  const port = new SerialPort({
    path,
    baudRate,
    dataBits: format.dataBits ?? 8,
    parity: format.parity ?? 'none',
    stopBits: format.stopBits ?? 1,
    autoOpen: false,
    hupcl: false,
  });
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err
        ? reject(
            new FlashError('port-unavailable', `Cannot open ${path}: ${err.message}`, {
              hint: 'Check the port name, that the device is plugged in, and that no other program uses it.',
            }),
          )
        : resolve(),
    ),
  );
  const chunks: Uint8Array[] = [];
  let buffered = 0;
  let dataArrived = new Trigger();
  const closedTrigger = new Trigger();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  port.on('data', (data: Buffer) => {
    chunks.push(new Uint8Array(data));
    buffered += data.length;
    dataArrived.fire();
  });
  // A PTY has no modem lines; its DTR edge is stood in for by closing and opening it again (below).
  const isPty = path.startsWith('/dev/pts/');
  let reopening = false;
  let dtr = false;
  port.on('close', () => {
    if (reopening) return;
    closedTrigger.fire();
    resolveClosed();
  });
  port.on('error', () => closedTrigger.fire());

  const take = (max: number): Uint8Array => {
    const n = Math.min(max, buffered);
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const head = chunks[0]!;
      const part = Math.min(head.length, n - got);
      out.set(head.subarray(0, part), got);
      got += part;
      if (part === head.length) chunks.shift();
      else chunks[0] = head.subarray(part);
    }
    buffered -= n;
    return out;
  };

  const reopen = async () => {
    reopening = true;
    try {
      await new Promise<void>((resolve) => port.close(() => resolve()));
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } finally {
      reopening = false;
    }
  };

  const lost = () => new FlashError('device-lost', `${path} was closed or unplugged.`);

  return {
    async write(data) {
      if (closedTrigger.aborted) throw lost();
      await new Promise<void>((resolve, reject) => port.write(Buffer.from(data), (err) => (err ? reject(lost()) : resolve())));
    },
    async read(max: number, opts: ReadOptions) {
      const deadline = systemClock.now() + opts.timeoutMs;
      for (;;) {
        if (buffered > 0) return take(max);
        if (closedTrigger.aborted) throw lost();
        if (opts.signal?.aborted) throw opts.signal.reason;
        const left = deadline - systemClock.now();
        if (left <= 0) throw new FlashError('timeout', 'No answer from the device in time.');
        const wake = (dataArrived = new Trigger());
        const stop = anySignal(wake, closedTrigger, opts.signal);
        await systemClock.sleep(left, stop).catch(() => {});
        stop.dispose();
      }
    },
    async setSignals(s: ModemSignals) {
      const flags: { dtr?: boolean; rts?: boolean } = {};
      if (s.dtr !== undefined) flags.dtr = s.dtr;
      if (s.rts !== undefined) flags.rts = s.rts;
      try {
        await new Promise<void>((resolve, reject) => port.set(flags, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        if (!isPty) throw err;
        // The simulator host sees a new open as the DTR auto-reset an Uno's adapter gives, so asserting
        // DTR on a PTY reopens it: drivers that reset by DTR work against simulated boards unchanged.
        const rising = s.dtr === true && !dtr;
        if (s.dtr !== undefined) dtr = s.dtr;
        if (rising) await reopen();
      }
    },
    async setBaud(rate: number) {
      if (port.baudRate === rate) return;
      await new Promise<void>((resolve, reject) => port.update({ baudRate: rate }, (err) => (err ? reject(err) : resolve())));
    },
    async close() {
      if (!port.isOpen) return;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
    closed,
  };
}
