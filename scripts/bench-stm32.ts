/**
 * STM32 USART bootloader (AN3155) figures for the issue note, side by side on the same simulator:
 * 64 KiB write+verify at 115200 baud, webprog vs stm32flash 0.7 (`-m 8n1 -w -v`), and both against
 * the protocol floor (every byte the exchange needs at 11 bits per 8E1 frame ÷ baud, plus the part's
 * datasheet erase and programming time).
 *
 *  1. STM32F103CB (bootloader v2.2, Erase 0x43, no Get Checksum): verify must read everything back.
 *     stm32flash erases the 64 pages the file covers; webprog the same by default, or with --erase
 *     one mass erase (what "erase the chip first" costs on an F1: 30 ms instead of 64 x 30 ms).
 *  2. STM32G071RB with a v3.3 ROM that lists Get Checksum (0xA1): webprog verifies by device CRC,
 *     stm32flash still reads back.
 *
 * The simulator runs in its own process (`webprog simulate`, a fresh one per run) behind a PTY, so
 * neither tool shares an event loop with it; the PTY hop (pty, python bridge, pipes) costs every
 * round trip about a millisecond, which stm32flash pays three times per frame and webprog once. The
 * floor rows also run webprog on the in-memory UART (the virtual device), as the STK500 bench does.
 * Wall time of the whole session, port open to close.
 * `tsx scripts/bench-stm32.ts` runs it alone; BENCH_RUNS (default 3) sets the runs per row (median).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { eraseTimeMs, findStm32Family, findStm32Part, massEraseTimeMs, programTimeMs, STM32_FLASH_BASE, type Stm32Family } from '../src/chips/stm32';
import { createImage } from '../src/core/image/memory-image';
import { runJob } from '../src/core/job/run-job';
import type { ByteStream } from '../src/core/io/byte-stream';
import { openVirtualDevice } from '../src/transports/virtual';
import { createDriver } from '../src/drivers/stm32-usart/driver';
import { openSerialStream } from '../src/node/serial-stream';
import type { JobReport } from '../src/shared/model';
import { systemClock } from '../src/transports/clock';
import { randomBytes, run, tempDir } from '../tests/support/tools';

const SIZE = 64 * 1024;
const BAUD = 115200;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BYTE_MS = (11 * 1000) / BAUD;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => (ms / 1000).toFixed(2) + ' s';

/** A fresh simulator in its own process, on a PTY, for the length of `use`. */
async function withSimulator<T>(part: string, variant: string, use: (pty: string) => Promise<T>): Promise<T> {
  const args = ['--import', 'tsx', 'src/node/cli.ts', 'simulate', 'stm32-usart', '--part', part, ...(variant ? ['--variant', variant] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const pty = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
      createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('PTY ') && resolve(line.slice(4)));
    });
    return await use(pty);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

async function stm32flash(pty: string, file: string): Promise<number> {
  const r = await run('stm32flash', ['-b', String(BAUD), '-m', '8n1', '-w', file, '-v', pty], { timeoutMs: 120_000 });
  const end = (STM32_FLASH_BASE + SIZE).toString(16).padStart(8, '0');
  if (r.code !== 0 || !r.stdout.includes(`Wrote and verified address 0x${end} (100.00%) Done.`)) throw new Error(`stm32flash failed:\n${r.stdout}\n${r.stderr}`);
  return r.ms;
}

async function webprog(pty: string | (() => Promise<ByteStream>), part: string, data: Uint8Array, erase: boolean): Promise<{ ms: number; report: JobReport }> {
  const started = performance.now();
  const stream = typeof pty === 'string' ? await openSerialStream(pty, BAUD) : await pty();
  const c = new AbortController();
  try {
    const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: c.signal, targetId: part });
    const image = createImage('bin', [{ memory: 'flash', address: STM32_FLASH_BASE, data }]);
    const report = await runJob(driver, image, { erase }, { clock: systemClock, signal: c.signal, emit: () => {} });
    if (!report.verified) throw new Error('webprog did not verify');
    return { ms: performance.now() - started, report };
  } finally {
    await stream.close();
  }
}

/**
 * What the exchange cannot go below: sync, Get, Get Version, Get ID, the erase, 256-byte Write Memory
 * frames (2 + 1 + 5 + 1 + 258 + 1 bytes), and the verify: Read Memory (2 + 1 + 5 + 1 + 2 + 1 + 256) or,
 * with Get Checksum, one 21-byte exchange per 8 KiB plus the CRC unit's time; then the flash's own time.
 */
function floorMs(fam: Stm32Family, flashSize: number, opts: { mass: boolean; crc: boolean }): { total: number; line: number; device: number } {
  const blocks = SIZE / 256;
  const pages = Math.ceil(SIZE / (fam.layout.kind === 'pages' ? fam.layout.pageSize : 16 * 1024));
  const legacy = fam.bootloader.erase === 'legacy';
  const session = 2 + (2 + 1 + 1 + 12 + 1) + (2 + 5) + (2 + 5);
  const eraseBytes = opts.mass ? 2 + 1 + (legacy ? 2 : 3) + 1 : 2 + 1 + (legacy ? 2 + pages : 3 + 2 * pages) + 1;
  const verifyBytes = opts.crc ? (SIZE / 8192) * 21 : blocks * 268;
  const line = (session + eraseBytes + blocks * 268 + verifyBytes) * BYTE_MS;
  const erase = opts.mass ? massEraseTimeMs(fam, flashSize) : pages * eraseTimeMs(fam, SIZE / pages);
  const device = erase + blocks * programTimeMs(fam, 256) + (opts.crc ? (SIZE / 4) * 0.25e-3 : 0);
  return { total: line + device, line, device };
}

interface Row {
  label: string;
  runs: number[];
  floor?: number;
  /** Not a PTY row: no ratio to stm32flash. */
  inMemory?: boolean;
}

async function measure(part: string, variant: string, data: Uint8Array, file: string, withMass: boolean): Promise<Row[]> {
  const fam = findStm32Family(findStm32Part(part)!.pid)!;
  const flashSize = findStm32Part(part)!.flashSize;
  const crc = variant.includes('crc');
  const rows: Row[] = [
    { label: `stm32flash 0.7 -m 8n1 -w -v (${SIZE / (fam.layout.kind === 'pages' ? fam.layout.pageSize : 1)} page erases, read-back verify)`, runs: [] },
    { label: `webprog (page erases, ${crc ? 'Get Checksum verify' : 'read-back verify'})`, runs: [], floor: floorMs(fam, flashSize, { mass: false, crc }).total },
  ];
  if (withMass) rows.push({ label: `webprog --erase (one mass erase, ${crc ? 'Get Checksum' : 'read-back'} verify)`, runs: [], floor: floorMs(fam, flashSize, { mass: true, crc }).total });
  rows[0]!.floor = floorMs(fam, flashSize, { mass: false, crc: false }).total;
  const memory = rows.slice(1).map((r) => ({ ...r, label: `  same on the in-memory UART (no PTY)`, runs: [] as number[], inMemory: true }));
  const virtual = () => async () => (await openVirtualDevice('stm32-usart', { clock: systemClock, targetId: part, variant })).stream;
  // Interleaved, so load from anything else on the machine spreads over all rows alike.
  for (let i = 0; i < RUNS; i++) {
    rows[0]!.runs.push(await withSimulator(part, variant, (pty) => stm32flash(pty, file)));
    rows[1]!.runs.push((await withSimulator(part, variant, (pty) => webprog(pty, part, data, false))).ms);
    memory[0]!.runs.push((await webprog(virtual(), part, data, false)).ms);
    if (withMass) {
      rows[2]!.runs.push((await withSimulator(part, variant, (pty) => webprog(pty, part, data, true))).ms);
      memory[1]!.runs.push((await webprog(virtual(), part, data, true)).ms);
    }
  }
  return [rows[0]!, ...rows.slice(1).flatMap((r, i) => [r, memory[i]!])];
}

function print(title: string, rows: Row[], target: string): void {
  const base = median(rows[0]!.runs);
  console.log(`   ${title}`);
  for (const [i, r] of rows.entries()) {
    const m = median(r.runs);
    const ratio = i === 0 || r.inMemory ? '' : `  ${(m / base).toFixed(2)}x stm32flash`;
    const eff = r.floor ? `  floor ${s(r.floor)} = ${((r.floor / m) * 100).toFixed(1)} %` : '';
    console.log(`   ${r.label.padEnd(62)} ${s(m)}${ratio}${eff}   runs ${r.runs.map(s).join(', ')}`);
  }
  console.log(`   target: ${target}`);
}

/** Prints the STM32 USART rows of `npm run bench`. */
export async function benchStm32(): Promise<void> {
  const dir = tempDir();
  const data = randomBytes(SIZE, 3155);
  const file = join(dir, 'bench.bin');
  writeFileSync(file, data);
  console.log(`\n4. STM32 USART bootloader (AN3155): ${SIZE / 1024} KiB write+verify at ${BAUD} baud, simulator on a PTY, fresh per run (median of ${RUNS})`);
  console.log(`   floor = all protocol bytes at 11 bits/frame ÷ baud + datasheet erase/program time (F1: page/mass erase 30 ms, 52.5 µs per half-word; G0: page 22 ms, 85 µs per double-word)`);
  print('STM32F103CB, bootloader v2.2 (no Get Checksum)', await measure('stm32f103cb', '', data, file, true), 'webprog <= 0.9x stm32flash; >= 95 % of the floor');
  print('STM32G071RB, bootloader v3.3 listing Get Checksum (0xA1)', await measure('stm32g071rb', 'crc', data, file, false), 'webprog <= 0.8x stm32flash (verify without reading back); >= 95 % of the floor');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchStm32();
  process.exit(0);
}
