/**
 * `npm run bench`: the figures the issues ask for, side by side in one run. Not a test: it prints.
 *
 *  1. STK500v1, 28,068 bytes write+verify on real optiboot in simavr: webprog vs avrdude -c arduino.
 *  2. STK500v1 on the in-memory 115200 8N1 link against the protocol floor.
 *  3. Image parsing (8 MiB Intel HEX) vs nrf-intel-hex.
 *  Then serprog vs flashrom, esp-rom vs esptool-js, stm32-usart vs stm32flash, gang throughput, and the
 *  Arduino Mega (STK500 v2) on its real bootloader vs avrdude -c wiring.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeIntelHex } from '../src/core/image/intel-hex';
import { createImage } from '../src/core/image/memory-image';
import { runJob } from '../src/core/job/run-job';
import { frameMs, FORMAT_8N1 } from '../src/core/io/uart-link';
import { createDriver } from '../src/drivers/stk500v1/driver';
import { openSerialStream } from '../src/node/serial-stream';
import { systemClock } from '../src/transports/clock';
import { openVirtualDevice } from '../src/transports/virtual';
import type { JobReport } from '../src/shared/model';
import { buildSimavrPeer, startOptibootUno } from '../tests/support/simavr-host';
import { randomBytes, run, tempDir } from '../tests/support/tools';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZE = 28068;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => (ms / 1000).toFixed(2) + ' s';

const data = randomBytes(SIZE, 2026);
const image = createImage('bin', [{ memory: 'flash', address: 0, data }]);

async function webprogJob(open: () => Promise<Awaited<ReturnType<typeof openSerialStream>>>): Promise<{ ms: number; report: JobReport }> {
  const started = performance.now();
  const stream = await open();
  const controller = new AbortController();
  const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: 'm328p' });
  const report = await runJob(driver, image, {}, { clock: systemClock, signal: controller.signal, emit: () => {} });
  await stream.close();
  return { ms: performance.now() - started, report };
}

async function simavrVsAvrdude(): Promise<void> {
  buildSimavrPeer();
  const dir = tempDir();
  const hexPath = join(dir, 'bench.hex');
  writeFileSync(hexPath, writeIntelHex(image));
  const board = await startOptibootUno();
  const ours: number[] = [];
  const theirs: number[] = [];
  let phases: JobReport['phaseMs'] = {};
  try {
    for (let i = 0; i < RUNS; i++) {
      const r = await run('avrdude', ['-c', 'arduino', '-p', 'm328p', '-P', board.path, '-b', '115200', '-D', '-U', `flash:w:${hexPath}:i`]);
      if (r.code !== 0 || !r.stderr.includes(`${SIZE} bytes of flash verified`)) throw new Error(`avrdude failed:\n${r.stderr}`);
      theirs.push(r.ms);
      const w = await webprogJob(() => openSerialStream(board.path, 115200));
      if (!w.report.verified) throw new Error('webprog did not verify');
      ours.push(w.ms);
      phases = w.report.phaseMs;
    }
  } finally {
    await board.stop();
  }
  const ratio = median(ours) / median(theirs);
  console.log(`\n1. STK500v1 ${SIZE} B write+verify, real optiboot 4.4 in simavr, 115200 baud (median of ${RUNS})`);
  console.log(`   avrdude 7.1 -c arduino -D : ${s(median(theirs))}   runs ${theirs.map(s).join(', ')}`);
  console.log(`   webprog                  : ${s(median(ours))}   runs ${ours.map(s).join(', ')}`);
  console.log(`   ratio webprog/avrdude    : ${ratio.toFixed(2)}x   (target <= 0.85x)`);
  console.log(`   webprog phases (last run): ${Object.entries(phases).map(([k, v]) => `${k} ${Math.round(v ?? 0)} ms`).join(', ')}`);
}

/** Every byte the protocol must exchange at 10 bits per byte plus the device's own page-write time. */
function stk500v1FloorMs(pageSize: number, pageWriteMs: number, startupMs: number): { write: number; verify: number; total: number } {
  const byteMs = frameMs({ ...FORMAT_8N1, baudRate: 115200 });
  const pages = Math.ceil(SIZE / pageSize);
  // per page: LOAD_ADDRESS (4) + PROG_PAGE (5 + page) out, INSYNC OK twice back; READ_PAGE (5) out, 3 + page + 1 back.
  const write = pages * ((4 + 5 + pageSize + 4) * byteMs + pageWriteMs);
  const verify = pages * ((4 + 5 + 4 + pageSize) * byteMs);
  // sync 2+2, two GET_PARAMETER 3+3, ENTER_PROGMODE 2+2, READ_SIGN 2+5, LEAVE_PROGMODE 2+2
  const session = (4 + 12 + 4 + 7 + 4) * byteMs + startupMs;
  return { write, verify, total: write + verify + session };
}

async function inMemoryVsFloor(): Promise<void> {
  const results: { ms: number; report: JobReport }[] = [];
  for (let i = 0; i < RUNS; i++) {
    results.push(await webprogJob(async () => (await openVirtualDevice('stk500v1', { clock: systemClock })).stream));
  }
  const best = results.sort((a, b) => a.ms - b.ms)[Math.floor(results.length / 2)]!;
  const floor = stk500v1FloorMs(128, 4.1, 65);
  const p = best.report.phaseMs;
  console.log(`\n2. STK500v1 ${SIZE} B write+verify on the in-memory UART (115200 8N1, ATmega328P page write 4.1 ms, 65 ms start-up)`);
  console.log(`   floor  : ${s(floor.total)} (write ${s(floor.write)}, verify ${s(floor.verify)})`);
  console.log(`   webprog: ${s(best.ms)} (write ${s(p.write ?? 0)}, verify ${s(p.verify ?? 0)}, connect ${Math.round(p.connect ?? 0)} ms)`);
  console.log(`   efficiency: ${((floor.total / best.ms) * 100).toFixed(1)} % of the floor overall; write ${((floor.write / (p.write ?? 1)) * 100).toFixed(1)} %, verify ${((floor.verify / (p.verify ?? 1)) * 100).toFixed(1)} %   (target >= 90 %)`);
}

async function imageParsing(): Promise<void> {
  console.log('\n3. Image parsing');
  await (await import('./bench-image')).benchImage();
}

/** Every section, by name: `npm run bench -- serprog` runs one. */
const SECTIONS: Record<string, () => Promise<void>> = {
  stk500v1: async () => {
    await simavrVsAvrdude();
    await inMemoryVsFloor();
  },
  image: imageParsing,
  serprog: async () => (await import('./bench-serprog')).benchSerprog(),
  esp: async () => (await import('./bench-esp')).benchEsp(),
  stm32: async () => (await import('./bench-stm32')).benchStm32(),
  gang: async () => (await import('./bench-gang')).benchGang(),
  mega: async () => (await import('./bench-mega')).benchMega(),
  leonardo: async () => (await import('./bench-mega')).benchLeonardo(),
  faults: async () => (await import('./bench-faults')).benchFaults(),
};

const only = process.argv[2];
if (only && !SECTIONS[only]) {
  console.error(`unknown section "${only}"; sections: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
for (const [name, run] of Object.entries(SECTIONS)) {
  if (only && only !== name) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}
process.exit(0);
