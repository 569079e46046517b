/**
 * Gang programming figures (issue 6): how throughput scales when many devices are programmed at
 * once from one process. Not a test: it prints.
 *
 *  1. 1, 4, 8, 16 and 32 virtual STK500v1 boards (ATmega328P simulator behind the in-memory UART at
 *     its real 115200 baud), an ~8 KiB image each, all started together: aggregate throughput and
 *     efficiency against N times one board alone (target: 32 at once >= 90 %).
 *  2. 4 real optiboot boards in simavr at once against one alone (target: <= 1.3x the time).
 *
 * Run alone with `npx tsx scripts/bench-gang.ts`, or through `npm run bench` (which imports
 * `benchGang`).
 */
import { availableParallelism } from 'node:os';
import { createImage, type FirmwareImage } from '../src/core/image/memory-image';
import type { ByteStream } from '../src/core/io/byte-stream';
import { runJob } from '../src/core/job/run-job';
import { createDriver } from '../src/drivers/stk500v1/driver';
import { openSerialStream } from '../src/node/serial-stream';
import { systemClock } from '../src/transports/clock';
import { openVirtualDevice } from '../src/transports/virtual';
import { buildSimavrPeer, startOptibootUno } from '../tests/support/simavr-host';
import { randomBytes } from '../tests/support/tools';

const SIZE = 8 * 1024;
const GANGS = [1, 4, 8, 16, 32];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One board: its image (each a little different, as serialization would make it) and the job time. */
async function programOne(open: () => Promise<ByteStream>, image: FirmwareImage): Promise<number> {
  const started = performance.now();
  const stream = await open();
  const controller = new AbortController();
  try {
    const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: 'm328p' });
    const report = await runJob(driver, image, {}, { clock: systemClock, signal: controller.signal, emit: () => {} });
    if (!report.verified) throw new Error('not verified');
  } finally {
    await stream.close();
  }
  return performance.now() - started;
}

function imageFor(i: number): FirmwareImage {
  return createImage('bin', [{ memory: 'flash', address: 0, data: randomBytes(SIZE, 100 + i) }]);
}

/** Runs `n` jobs together; resolves with the wall time of the whole gang and each job's own time. */
async function gang(n: number, open: (i: number) => Promise<ByteStream>): Promise<{ wallMs: number; jobMs: number[] }> {
  const started = performance.now();
  const jobMs = await Promise.all(Array.from({ length: n }, (_, i) => programOne(() => open(i), imageFor(i))));
  return { wallMs: performance.now() - started, jobMs };
}

const kib = (bytes: number, ms: number) => ((bytes / 1024) * (1000 / ms)).toFixed(1);
const pad = (s: string | number, w: number) => String(s).padStart(w);

async function virtualGangs(): Promise<void> {
  const open = async () => (await openVirtualDevice('stk500v1', { clock: systemClock, targetId: 'm328p' })).stream;
  await gang(1, open); // warm-up: module loading and JIT
  const single = await gang(1, open);
  const oneMs = single.wallMs;
  console.log(`\n1. Gang of virtual STK500v1 boards (ATmega328P, 115200 baud), ${SIZE} B write+verify each, one process`);
  console.log(`   ${pad('N', 3)} ${pad('wall', 8)} ${pad('slowest job', 12)} ${pad('aggregate', 12)} ${pad('boards/h', 9)} ${pad('efficiency', 11)}`);
  for (const n of GANGS) {
    const r = n === 1 ? single : await gang(n, open);
    // Efficiency: the aggregate rate of N at once over N times the rate of one alone.
    const efficiency = (n * SIZE) / r.wallMs / ((n * SIZE) / oneMs);
    const perHour = Math.round((n * 3_600_000) / r.wallMs);
    console.log(
      `   ${pad(n, 3)} ${pad((r.wallMs / 1000).toFixed(2) + ' s', 8)} ${pad((Math.max(...r.jobMs) / 1000).toFixed(2) + ' s', 12)} ${pad(kib(n * SIZE, r.wallMs) + ' KiB/s', 12)} ${pad(perHour, 9)} ${pad((efficiency * 100).toFixed(1) + ' %', 11)}`,
    );
  }
  console.log('   efficiency = aggregate throughput / (N x one board alone); target for N = 32: >= 90 %');
}

async function simavrGang(): Promise<void> {
  try {
    buildSimavrPeer();
  } catch (err) {
    console.log(`\n2. simavr boards: not available (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    return;
  }
  const boards = await Promise.all(Array.from({ length: 4 }, () => startOptibootUno()));
  try {
    const open = (i: number) => openSerialStream(boards[i]!.path, 115200);
    await gang(1, open); // warm-up
    const ones: number[] = [];
    const fours: number[] = [];
    let cpuMs = 0;
    for (let r = 0; r < RUNS; r++) {
      ones.push((await gang(1, open)).wallMs);
      const cpu = process.cpuUsage();
      fours.push((await gang(4, open)).wallMs);
      const used = process.cpuUsage(cpu);
      cpuMs = (used.user + used.system) / 1000;
    }
    const one = median(ones);
    const four = median(fours);
    console.log(`\n2. Real optiboot 4.4 in simavr (ATmega328P at 16 MHz, PTY at 115200), ${SIZE} B write+verify each, median of ${RUNS}`);
    console.log(`   one board alone : ${(one / 1000).toFixed(2)} s   runs ${ones.map((ms) => (ms / 1000).toFixed(2)).join(', ')}`);
    console.log(`   four at once    : ${(four / 1000).toFixed(2)} s   runs ${fours.map((ms) => (ms / 1000).toFixed(2)).join(', ')}`);
    console.log(`   ratio           : ${(four / one).toFixed(2)}x the time of one   (target <= 1.3x)`);
    console.log(
      `   webprog's own CPU for the four: ${cpuMs.toFixed(0)} ms in ${(fours.at(-1)! / 1000).toFixed(2)} s; each simavr simulates a 16 MHz core in real time, ` +
        `${availableParallelism()} CPU(s) here`,
    );
  } finally {
    await Promise.all(boards.map((b) => b.stop()));
  }
}

/** Prints both tables. */
export async function benchGang(): Promise<void> {
  await virtualGangs();
  await simavrGang();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchGang();
  process.exit(0);
}
