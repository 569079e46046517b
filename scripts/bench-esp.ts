/**
 * ESP figures for `npm run bench` (issue 7), side by side in one run, both tools on the same simulated
 * ESP32 served on a PTY at 921600 baud:
 *   1. 1 MiB half-compressible firmware at 0x10000: webprog vs Espressif's esptool-js (npm), each on a
 *      fresh board, wall time from opening the port to the hard reset, MD5-verified by both.
 *   2. The same image again with one changed sector and skip-unchanged, against webprog's full write.
 *
 * Also exports the pieces tests/peers/esptool-js.test.ts uses: a Web Serial `SerialPort` over
 * node-serialport (what esptool-js's Transport expects) and the two flashing runs.
 */
import { createHash } from 'node:crypto';
import { SerialPort as NodeSerialPort } from 'serialport';
import { ESPLoader, Transport, type IEspLoaderTerminal } from 'esptool-js';
import { createImage, type Segment } from '../src/core/image/memory-image';
import { runJob, runRead } from '../src/core/job/run-job';
import { createDriver } from '../src/drivers/esp-rom/driver';
import { createSimulator, type EspRomSimulator } from '../src/drivers/esp-rom/simulator';
import { hostOnPty } from '../src/node/pty-host';
import { openSerialStream } from '../src/node/serial-stream';
import type { JobOptions, JobReport } from '../src/shared/model';
import { systemClock } from '../src/transports/clock';
import { seededRandom } from '../src/core/io/faults';

/**
 * The Web Serial SerialPort surface esptool-js touches (open/close, readable/writable, setSignals,
 * getInfo), over node-serialport. A PTY has no modem lines: setSignals failures are swallowed, as a
 * browser on a port without them would simply have no effect.
 */
export class NodeWebSerialPort {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private port: NodeSerialPort | null = null;

  constructor(
    private readonly path: string,
    private readonly info: { usbVendorId?: number; usbProductId?: number } = { usbVendorId: 0x10c4, usbProductId: 0xea60 },
  ) {}

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return this.info;
  }

  async open(options: { baudRate: number }): Promise<void> {
    const port = new NodeSerialPort({ path: this.path, baudRate: options.baudRate, autoOpen: false, hupcl: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    let closed = false;
    this.readable = new ReadableStream<Uint8Array>({
      start(controller) {
        port.on('data', (data: Buffer) => {
          if (!closed) controller.enqueue(new Uint8Array(data));
        });
        port.on('close', () => {
          if (closed) return;
          closed = true;
          controller.close();
        });
      },
      cancel() {
        closed = true;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => new Promise<void>((resolve, reject) => port.write(Buffer.from(chunk), (err) => (err ? reject(err) : resolve()))),
    });
  }

  async setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    const flags: { dtr?: boolean; rts?: boolean } = {};
    if (signals.dataTerminalReady !== undefined) flags.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) flags.rts = signals.requestToSend;
    await new Promise<void>((resolve) => this.port?.set(flags, () => resolve()) ?? resolve());
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = null;
    this.readable = null;
    this.writable = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

/** An ESP chip in download mode on a new PTY; the simulator follows CHANGE_BAUDRATE on its own. */
export async function hostEsp(part = 'esp32', variant = '4MB'): Promise<{ sim: EspRomSimulator; path: string; stop: () => Promise<void> }> {
  const sim = createSimulator({ clock: systemClock, targetId: part, variant, pty: true });
  const host = await hostOnPty(sim);
  return { sim, path: host.path, stop: () => host.stop() };
}

/** What a typical ESP Web Tools flash does with esptool-js: main(), writeFlash(compress, MD5), hard reset. */
export async function flashWithEsptoolJs(
  path: string,
  parts: { data: Uint8Array; address: number }[],
  baud: number,
): Promise<{ ms: number; chip: string; log: string[] }> {
  const log: string[] = [];
  const terminal: IEspLoaderTerminal = { clean: () => {}, writeLine: (s) => log.push(s), write: (s) => log.push(s) };
  const started = performance.now();
  const device = new NodeWebSerialPort(path);
  const transport = new Transport(device as unknown as SerialPort, false);
  // Transport.trace() prints to the console even with tracing off (its read loop's exit messages).
  (transport as unknown as { trace: (m: string) => void }).trace = () => {};
  const loader = new ESPLoader({ transport, baudrate: baud, terminal, debugLogging: false });
  try {
    const chip = await loader.main();
    await loader.writeFlash({
      fileArray: parts,
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: true,
      calculateMD5Hash: (image) => createHash('md5').update(image).digest('hex'),
    });
    await loader.after('hard_reset');
    return { ms: performance.now() - started, chip, log };
  } finally {
    await transport.disconnect().catch(() => {});
  }
}

/** The same job through webprog's engine and esp-rom driver, over node-serialport. */
export async function flashWithWebprog(
  path: string,
  segments: Segment[],
  baud: number,
  options: JobOptions = {},
): Promise<{ ms: number; report: JobReport; log: string[] }> {
  const log: string[] = [];
  const started = performance.now();
  const stream = await openSerialStream(path, 115200);
  const controller = new AbortController();
  try {
    const driver = createDriver({ stream, clock: systemClock, log: (l, m) => log.push(`${l}: ${m}`), signal: controller.signal, baudRate: baud });
    const report = await runJob(driver, createImage('bench', segments), options, { clock: systemClock, signal: controller.signal, emit: () => {} });
    return { ms: performance.now() - started, report, log };
  } finally {
    await stream.close();
  }
}

/** Reads flash back through webprog (READ_FLASH with the stub's own MD5 check). */
export async function readWithWebprog(path: string, address: number, length: number, baud: number): Promise<Uint8Array> {
  const stream = await openSerialStream(path, 115200);
  const controller = new AbortController();
  try {
    const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, baudRate: baud });
    const r = await runRead(driver, 'flash', { address, length }, { clock: systemClock, signal: controller.signal, emit: () => {} });
    return r.data;
  } finally {
    await stream.close();
  }
}

/**
 * Firmware-like bytes that zlib -9 halves: 256-byte runs of noise alternate with runs of a short
 * repeating pattern (code and tables next to strings and zero-filled data).
 */
export function halfCompressibleFirmware(length: number, seed = 2026): Uint8Array {
  const rnd = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i >> 8) % 2 === 0 ? Math.floor(rnd() * 256) : (i * 7) & 0x3f;
  return out;
}

const s = (ms: number) => (ms / 1000).toFixed(2) + ' s';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchEsp(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const baud = 921600;
  const size = 1 << 20;
  const address = 0x10000;
  const firmware = halfCompressibleFirmware(size);
  const { deflateSync } = await import('node:zlib');
  const ratio = deflateSync(firmware, { level: 9 }).length / size;
  const theirs: number[] = [];
  const ours: number[] = [];
  let phases: JobReport['phaseMs'] = {};
  let lastOurs: { sim: EspRomSimulator; path: string; stop: () => Promise<void> } | null = null;
  for (let i = 0; i < runs; i++) {
    const a = await hostEsp();
    try {
      const r = await flashWithEsptoolJs(a.path, [{ data: firmware, address }], baud);
      if (!r.log.some((l) => l.includes('Hash of data verified'))) throw new Error(`esptool-js did not verify:\n${r.log.join('\n')}`);
      theirs.push(r.ms);
    } finally {
      await a.stop();
    }
    const b = await hostEsp();
    const w = await flashWithWebprog(b.path, [{ memory: 'flash', address, data: firmware }], baud);
    if (!w.report.verified) throw new Error('webprog did not verify');
    ours.push(w.ms);
    phases = w.report.phaseMs;
    if (lastOurs) await lastOurs.stop();
    lastOurs = b;
  }
  console.log(`\nESP32 on the simulator (PTY, ${baud} baud), 1 MiB firmware at 0x10000, zlib -9 ratio ${(ratio * 100).toFixed(0)} % (median of ${runs})`);
  console.log(`   esptool-js ${'0.7.0'} (main + writeFlash compress + MD5 + hard reset): ${s(median(theirs))}   runs ${theirs.map(s).join(', ')}`);
  console.log(`   webprog (connect + write + MD5 verify + hard reset)               : ${s(median(ours))}   runs ${ours.map(s).join(', ')}`);
  console.log(`   ratio webprog/esptool-js: ${(median(ours) / median(theirs)).toFixed(2)}x   (target <= 0.80x)`);
  console.log(`   webprog phases (last run): ${Object.entries(phases).map(([k, v]) => `${k} ${Math.round(v ?? 0)} ms`).join(', ')}`);

  // Skip-unchanged: the board from the last webprog run holds the image; change one sector.
  const board = lastOurs!;
  try {
    const changed = firmware.slice();
    changed[0x54321]! ^= 0xa5;
    const full = median(ours);
    const skip = await flashWithWebprog(board.path, [{ memory: 'flash', address, data: changed }], baud, { skipUnchanged: true });
    if (!skip.report.verified || skip.report.bytesWritten !== 4096) throw new Error(`skip-unchanged wrote ${skip.report.bytesWritten} bytes`);
    const p = skip.report.phaseMs;
    console.log(`\n   skip-unchanged, one changed sector: ${s(skip.ms)} = ${((skip.ms / full) * 100).toFixed(1)} % of a full write (target < 10 %)`);
    console.log(`   (${skip.report.bytesWritten} bytes written, ${skip.report.bytesSkipped} compared by MD5 on the device; ` +
      `${Object.entries(p).map(([k, v]) => `${k} ${Math.round(v ?? 0)} ms`).join(', ')})`);
  } finally {
    await board.stop();
  }
}
