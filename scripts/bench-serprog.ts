/**
 * serprog + SPI NOR figures for the issue note, side by side on the same simulator:
 *
 *  1. 2 MiB write+verify of a W25Q16, webprog vs flashrom 1.3, on a blank part and over older,
 *     different contents (then both tools must erase);
 *  2. re-flashing an image that differs from the part in one 4 KiB sector: webprog with
 *     skip-unchanged vs webprog's full write (and flashrom, which always reads and compares first).
 *
 * Both tools talk to the same simulated pico-serprog (USB CDC modelled at ~400 KB/s, SPI 16 MHz,
 * W25Q16JV typical program/erase times) hosted on a PTY; each run gets a fresh simulator with the
 * stated contents. Wall time of the whole session, port open to close. `npm run bench` calls
 * benchSerprog(); `tsx scripts/bench-serprog.ts` runs it alone. SERPROG_BENCH_RUNS (default 1)
 * repeats each measurement and prints medians.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createImage } from '../src/core/image/memory-image';
import { runJob } from '../src/core/job/run-job';
import { createDriver } from '../src/drivers/serprog/driver';
import { createSimulator } from '../src/drivers/serprog/simulator';
import { hostOnPty } from '../src/node/pty-host';
import { openSerialStream } from '../src/node/serial-stream';
import { systemClock } from '../src/transports/clock';
import type { JobReport } from '../src/shared/model';
import { randomBytes, run, tempDir } from '../tests/support/tools';

const CHIP = 'W25Q16';
const FLASHROM_CHIP = 'W25Q16.V';
const SIZE = 2 * 1024 * 1024;
const SPI = '16M';
const RUNS = Number(process.env.SERPROG_BENCH_RUNS ?? 1);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => (ms / 1000).toFixed(2) + ' s';

/** A fresh simulated programmer holding `contents`, served on a PTY for the length of `use`. */
async function withSimulator<T>(contents: Uint8Array | null, use: (path: string) => Promise<T>): Promise<T> {
  const sim = createSimulator({ clock: systemClock, targetId: CHIP });
  if (contents) sim.flash!.memory.set(contents);
  const host = await hostOnPty(sim);
  try {
    return await use(host.path);
  } finally {
    await host.stop();
  }
}

async function flashrom(path: string, file: string): Promise<number> {
  const r = await run('flashrom', ['-p', `serprog:dev=${path}:115200,spispeed=${SPI}`, '-c', FLASHROM_CHIP, '-w', file], { timeoutMs: 600_000 });
  if (r.code !== 0 || !r.stdout.includes('VERIFIED')) throw new Error(`flashrom failed:\n${r.stdout}\n${r.stderr}`);
  return r.ms;
}

async function webprog(path: string, data: Uint8Array, skipUnchanged: boolean): Promise<{ ms: number; report: JobReport }> {
  const started = performance.now();
  const stream = await openSerialStream(path, 115200);
  const c = new AbortController();
  const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: c.signal, targetId: `${CHIP}+spi=${SPI}` });
  const report = await runJob(driver, createImage('bench', [{ memory: 'flash', address: 0, data }]), { skipUnchanged }, { clock: systemClock, signal: c.signal, emit: () => {} });
  await stream.close();
  if (!report.verified) throw new Error('webprog did not verify');
  return { ms: performance.now() - started, report };
}

function phases(report: JobReport): string {
  return Object.entries(report.phaseMs)
    .filter(([, v]) => (v ?? 0) >= 10)
    .map(([k, v]) => `${k} ${s(v ?? 0)}`)
    .join(', ');
}

export async function benchSerprog(): Promise<void> {
  if (spawnSync('flashrom', ['--version']).status !== 0) {
    console.log('\nserprog: flashrom is not installed (apt-get install flashrom); skipped.');
    return;
  }
  const dir = tempDir();
  const image = randomBytes(SIZE, 2026);
  const old = randomBytes(SIZE, 1999);
  const file = join(dir, 'image.bin');
  writeFileSync(file, image);
  // The same image with one 4 KiB sector changed, as after a small firmware fix.
  const oneSector = image.slice();
  for (let i = 0x123000; i < 0x124000; i++) oneSector[i] = (i * 13) & 0xff;

  const rows: { name: string; ours: number[]; theirs: number[]; last?: JobReport }[] = [];
  for (const [name, before] of [
    ['blank part', null],
    ['over old contents', old],
  ] as const) {
    const row: (typeof rows)[number] = { name, ours: [], theirs: [] };
    for (let i = 0; i < RUNS; i++) {
      row.theirs.push(await withSimulator(before, (path) => flashrom(path, file)));
      const w = await withSimulator(before, (path) => webprog(path, image, false));
      row.ours.push(w.ms);
      row.last = w.report;
    }
    rows.push(row);
  }

  const skip: number[] = [];
  const full: number[] = [];
  const theirsSkip: number[] = [];
  let skipReport: JobReport | undefined;
  for (let i = 0; i < RUNS; i++) {
    const w = await withSimulator(oneSector, (path) => webprog(path, image, true));
    skip.push(w.ms);
    skipReport = w.report;
    full.push((await withSimulator(oneSector, (path) => webprog(path, image, false))).ms);
    theirsSkip.push(await withSimulator(oneSector, (path) => flashrom(path, file)));
  }

  console.log(`\nserprog: ${CHIP} 2 MiB on the simulated pico-serprog (USB CDC ~400 KB/s, SPI ${SPI}Hz), PTY, ${RUNS === 1 ? 'one run' : `median of ${RUNS}`}`);
  for (const r of rows) {
    const ratio = median(r.ours) / median(r.theirs);
    console.log(`  write+verify, ${r.name}:`);
    console.log(`    flashrom 1.3 -w      : ${s(median(r.theirs))}`);
    console.log(`    webprog              : ${s(median(r.ours))}   (${phases(r.last!)})`);
    console.log(`    ratio webprog/flashrom: ${ratio.toFixed(2)}x   (target <= 0.8x)`);
  }
  const ratio = median(skip) / median(full);
  console.log(`  re-flash, one 4 KiB sector differs:`);
  console.log(`    webprog --skip-unchanged: ${s(median(skip))}   (${phases(skipReport!)}; wrote ${skipReport!.bytesWritten} B, skipped ${skipReport!.bytesSkipped} B)`);
  console.log(`    webprog full write      : ${s(median(full))}`);
  console.log(`    flashrom 1.3 -w         : ${s(median(theirsSkip))}   (reads, diffs, erases and writes the changed blocks, verifies the chip)`);
  console.log(`    skip-unchanged / full   : ${(ratio * 100).toFixed(1)} %   (target < 10 %)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchSerprog();
  process.exit(0);
}
