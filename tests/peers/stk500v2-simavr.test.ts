import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../../src/core/image/index';
import { createImage, flatten } from '../../src/core/image/memory-image';
import { runJob, runRead } from '../../src/core/job/run-job';
import { createDriver } from '../../src/drivers/stk500v2/driver';
import { openSerialStream } from '../../src/node/serial-stream';
import { FlashError } from '../../src/shared/errors';
import { systemClock } from '../../src/transports/clock';
import { appOutput, buildSimavrPeer, SIMAVR_DIR, startMega2560, type SimavrBoard } from '../support/simavr-host';
import { randomBytes } from '../support/tools';

/**
 * Our STK500 v2 driver against the Arduino Mega 2560's own bootloader (Debian's
 * stk500boot_v2_mega2560.hex, unchanged) on simavr's ATmega2560: a 118 KiB application is written
 * past the 64 KiB line, verified, and then runs and checks its own bytes.
 */
describe('stk500v2 driver against the real Mega 2560 bootloader in simavr', () => {
  let board: SimavrBoard;
  const big = () => readImage(readFileSync(join(SIMAVR_DIR, 'blink-mega-big.hex')), { name: 'blink-mega-big.hex' });

  beforeAll(async () => {
    buildSimavrPeer();
    board = await startMega2560();
  }, 120_000);
  afterAll(() => board.stop());

  async function session<T>(targetId: string | undefined, job: (driver: ReturnType<typeof createDriver>, rt: Parameters<typeof runJob>[3]) => Promise<T>) {
    const stream = await openSerialStream(board.path, 115200);
    const controller = new AbortController();
    try {
      const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId });
      return await job(driver, { clock: systemClock, signal: controller.signal, emit: () => {} });
    } finally {
      await stream.close();
    }
  }

  it('flashes a 118 KiB application that then runs, checks its own bytes and prints over UART0', async () => {
    const image = big();
    const report = await session('m2560', (driver, rt) => runJob(driver, image, {}, rt));
    expect(report.verified).toBe(true);
    expect(report.bytesWritten).toBeGreaterThan(118 * 1024);
    expect(report.device).toMatchObject({ id: '1e9801', bootloader: 'STK500 v2 AVRISP_2 2.10' });
    expect(await appOutput(board.path, 5000)).toContain('webprog-app-ok 4 pad-ok');
  }, 120_000);

  it('reads back the application above 64 KiB and the untouched bootloader', async () => {
    const app = big();
    const boot = readImage(readFileSync(join(SIMAVR_DIR, 'stk500boot_v2_mega2560.hex')));
    const bootStart = boot.segments[0]!.address;
    const { data } = await session('m2560', (driver, rt) => runRead(driver, 'flash', { address: 0x10000, length: 0x40000 - 0x10000 }, rt));
    const appEnd = app.segments.at(-1)!.address + app.segments.at(-1)!.data.length;
    expect(Buffer.from(data.subarray(0, appEnd - 0x10000)).equals(Buffer.from(flatten(app, 'flash', 0x10000, appEnd)))).toBe(true);
    const bootEnd = bootStart + boot.segments[0]!.data.length;
    expect(Buffer.from(data.subarray(bootStart - 0x10000, bootEnd - 0x10000)).equals(Buffer.from(boot.segments[0]!.data))).toBe(true);
  }, 120_000);

  it('writes EEPROM through the bootloader and reads it back where it belongs', async () => {
    const ee = randomBytes(48, 21);
    const image = createImage('ee', [{ memory: 'eeprom', address: 0x208, data: ee }]);
    const report = await session('m2560', (driver, rt) => runJob(driver, image, {}, rt));
    expect(report.verified).toBe(true);
    const { data } = await session('m2560', (driver, rt) => runRead(driver, 'eeprom', { address: 0x200, length: 0x40 }, rt));
    expect(Buffer.from(data.subarray(8, 56)).equals(Buffer.from(ee))).toBe(true);
    expect(data[7]).toBe(0xff);
  }, 60_000);

  it('replaces the large application with a small one that runs', async () => {
    const small = readImage(readFileSync(join(SIMAVR_DIR, 'blink-mega.hex')));
    const report = await session('m2560', (driver, rt) => runJob(driver, small, {}, rt));
    expect(report.verified).toBe(true);
    expect(await appOutput(board.path, 5000)).toMatch(/webprog-app-ok 3\r\n/);
  }, 60_000);

  it('refuses a wrong part choice without writing', async () => {
    const err = await session('m1280', (driver, rt) => runJob(driver, big(), {}, rt)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).code).toBe('wrong-target');
    expect(await appOutput(board.path, 5000)).toMatch(/webprog-app-ok 3\r\n/);
  }, 60_000);
});
