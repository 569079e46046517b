/**
 * `npm run bench -- mega`: Arduino Mega 2560 (STK500 v2, avrdude "wiring"), the figures of issue 15.
 *
 *  1. The 118.6 KiB test application (tests/support/simavr, blink-mega-big.hex) written and verified on
 *     the real Mega bootloader in simavr: webprog vs avrdude 7.1 -c wiring -D (the Arduino IDE's command).
 *  2. The same image on the in-memory 115200 8N1 UART against the protocol floor.
 *
 * `npm run bench -- leonardo`: Arduino Leonardo (Caterina, AVR109), 28 KiB write+verify on our simulator
 * behind a PTY, webprog vs avrdude 7.1 -c avr109 (both start on the running bootloader: the IDE's
 * 1200-baud touch happens before avrdude, so webprog runs with touch=none here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImage } from '../src/core/image/index';
import { byteCount, type FirmwareImage } from '../src/core/image/memory-image';
import { runJob } from '../src/core/job/run-job';
import type { ByteStream } from '../src/core/io/byte-stream';
import { frameMs, FORMAT_8N1 } from '../src/core/io/uart-link';
import { findAvrPart } from '../src/chips/avr';
import { createDriver } from '../src/drivers/stk500v2/driver';
import { createDriver as createAvr109Driver } from '../src/drivers/avr109/driver';
import { createSimulator as createCaterina } from '../src/drivers/avr109/simulator';
import { writeIntelHex } from '../src/core/image/intel-hex';
import { createImage } from '../src/core/image/memory-image';
import { hostOnPty } from '../src/node/pty-host';
import { FRAME_OVERHEAD } from '../src/drivers/stk500v2/protocol';
import { openSerialStream } from '../src/node/serial-stream';
import type { JobReport } from '../src/shared/model';
import { systemClock } from '../src/transports/clock';
import { openVirtualDevice } from '../src/transports/virtual';
import { buildSimavrPeer, SIMAVR_DIR, startMega2560 } from '../tests/support/simavr-host';
import { randomBytes, run, tempDir } from '../tests/support/tools';
import { writeFileSync } from 'node:fs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => (ms / 1000).toFixed(2) + ' s';

async function webprogJob(image: FirmwareImage, open: () => Promise<ByteStream>): Promise<{ ms: number; report: JobReport }> {
  const started = performance.now();
  const stream = await open();
  const controller = new AbortController();
  const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: 'm2560' });
  const report = await runJob(driver, image, {}, { clock: systemClock, signal: controller.signal, emit: () => {} });
  await stream.close();
  if (!report.verified) throw new Error('webprog did not verify');
  return { ms: performance.now() - started, report };
}

async function simavrVsAvrdude(hexPath: string, image: FirmwareImage): Promise<void> {
  const size = byteCount(image);
  const board = await startMega2560();
  const ours: number[] = [];
  const theirs: number[] = [];
  let phases: JobReport['phaseMs'] = {};
  try {
    for (let i = 0; i < RUNS; i++) {
      const r = await run('avrdude', ['-c', 'wiring', '-p', 'm2560', '-P', board.path, '-b', '115200', '-D', '-U', `flash:w:${hexPath}:i`], { timeoutMs: 180_000 });
      if (r.code !== 0 || !r.stderr.includes(`${size} bytes of flash verified`)) throw new Error(`avrdude failed:\n${r.stderr}`);
      theirs.push(r.ms);
      const w = await webprogJob(image, () => openSerialStream(board.path, 115200));
      ours.push(w.ms);
      phases = w.report.phaseMs;
    }
  } finally {
    await board.stop();
  }
  console.log(`\n1. Mega 2560, ${size} B write+verify, Debian's stk500boot_v2_mega2560.hex in simavr (median of ${RUNS})`);
  console.log(`   avrdude 7.1 -c wiring -D : ${s(median(theirs))}   runs ${theirs.map(s).join(', ')}`);
  console.log(`   webprog                  : ${s(median(ours))}   runs ${ours.map(s).join(', ')}`);
  console.log(`   ratio webprog/avrdude    : ${(median(ours) / median(theirs)).toFixed(2)}x   (target <= 0.90x)`);
  console.log(`   webprog phases (last run): ${Object.entries(phases).map(([k, v]) => `${k} ${Math.round(v ?? 0)} ms`).join(', ')}`);
}

/**
 * Every byte STK500 v2 must move at 10 bits a byte, plus the device's page erase and write per page:
 * PROGRAM_FLASH_ISP (10 + page body) out and a 2-byte answer back; READ_FLASH_ISP (4) out and
 * page + 3 back; each in a frame of 6 bytes. Session: SIGN_ON, two GET_PARAMETER, ENTER_PROGMODE,
 * three signature reads, CHIP_ERASE, two LOAD_ADDRESS, LEAVE, and the MCU's 65 ms start-up.
 */
function floorMs(bytes: number, pageSize: number, pageOpMs: number): { write: number; verify: number; total: number } {
  const byteMs = frameMs({ ...FORMAT_8N1, baudRate: 115200 });
  const pages = Math.ceil(bytes / pageSize);
  const frame = (body: number) => (body + FRAME_OVERHEAD) * byteMs;
  const write = pages * (frame(10 + pageSize) + frame(2) + 2 * pageOpMs);
  const verify = pages * (frame(4) + frame(pageSize + 3));
  const session = frame(1) + frame(11) + 2 * (frame(2) + frame(3)) + frame(12) + frame(2) + 3 * (frame(6) + frame(4)) + frame(7) + frame(2) + 2 * (frame(5) + frame(2)) + frame(3) + frame(2) + 65;
  return { write, verify, total: write + verify + session };
}

async function inMemoryVsFloor(image: FirmwareImage): Promise<void> {
  const part = findAvrPart('m2560')!;
  const results: { ms: number; report: JobReport }[] = [];
  for (let i = 0; i < RUNS; i++) {
    results.push(await webprogJob(image, async () => (await openVirtualDevice('stk500v2', { clock: systemClock, targetId: 'm2560' })).stream));
  }
  const mid = results.sort((a, b) => a.ms - b.ms)[Math.floor(results.length / 2)]!;
  const floor = floorMs(byteCount(image), part.flashPageSize, part.flashPageWriteMs);
  const p = mid.report.phaseMs;
  console.log(`\n2. Mega 2560, ${byteCount(image)} B write+verify on the in-memory UART (115200 8N1, page erase + write ${2 * part.flashPageWriteMs} ms)`);
  console.log(`   floor  : ${s(floor.total)} (write ${s(floor.write)}, verify ${s(floor.verify)})`);
  console.log(`   webprog: ${s(mid.ms)} (write ${s(p.write ?? 0)}, verify ${s(p.verify ?? 0)}, connect ${Math.round(p.connect ?? 0)} ms)`);
  console.log(`   efficiency: ${((floor.total / mid.ms) * 100).toFixed(1)} % of the floor   (target >= 90 %)`);
}

export async function benchMega(): Promise<void> {
  buildSimavrPeer();
  const hexPath = join(SIMAVR_DIR, 'blink-mega-big.hex');
  const image = readImage(readFileSync(hexPath), { name: 'blink-mega-big.hex' });
  await simavrVsAvrdude(hexPath, image);
  await inMemoryVsFloor(image);
}

export async function benchLeonardo(): Promise<void> {
  const size = 28672;
  const image = createImage('bin', [{ memory: 'flash', address: 0, data: randomBytes(size, 2015) }]);
  const hexPath = join(tempDir(), 'leonardo.hex');
  writeFileSync(hexPath, writeIntelHex(image));
  const host = await hostOnPty(createCaterina({ clock: systemClock, targetId: 'm32u4' }));
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const r = await run('avrdude', ['-c', 'avr109', '-p', 'm32u4', '-P', host.path, '-b', '57600', '-D', '-U', `flash:w:${hexPath}:i`], { timeoutMs: 180_000 });
      if (r.code !== 0 || !r.stderr.includes(`${size} bytes of flash verified`)) throw new Error(`avrdude failed:\n${r.stderr}`);
      theirs.push(r.ms);
      const started = performance.now();
      const stream = await openSerialStream(host.path, 57600);
      const controller = new AbortController();
      const driver = createAvr109Driver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: 'm32u4', options: { touch: 'none' } });
      const report = await runJob(driver, image, {}, { clock: systemClock, signal: controller.signal, emit: () => {} });
      await stream.close();
      if (!report.verified) throw new Error('webprog did not verify');
      ours.push(performance.now() - started);
    }
  } finally {
    await host.stop();
  }
  console.log(`\nLeonardo (Caterina simulator on a PTY, 57600), ${size} B write+verify (median of ${RUNS})`);
  console.log(`   avrdude 7.1 -c avr109 -D : ${s(median(theirs))}   runs ${theirs.map(s).join(', ')}`);
  console.log(`   webprog                  : ${s(median(ours))}   runs ${ours.map(s).join(', ')}`);
  console.log(`   ratio webprog/avrdude    : ${(median(ours) / median(theirs)).toFixed(2)}x   (target <= 0.85x)`);
}
