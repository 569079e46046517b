import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../../src/core/image/index';
import { flatten } from '../../src/core/image/memory-image';
import { runJob, runRead } from '../../src/core/job/run-job';
import { createDriver } from '../../src/drivers/stk500v1/driver';
import { FlashError } from '../../src/shared/errors';
import { openSerialStream } from '../../src/node/serial-stream';
import { systemClock } from '../../src/transports/clock';
import { appOutput, buildSimavrPeer, SIMAVR_DIR, startOptibootUno, type SimavrBoard } from '../support/simavr-host';

/**
 * Our STK500v1 driver against real device code nobody here wrote: optiboot, built from Debian's
 * source, running on simavr's ATmega328P. Afterwards the programmed application must run.
 */
describe('stk500v1 driver against real optiboot in simavr', () => {
  let board: SimavrBoard;

  beforeAll(async () => {
    buildSimavrPeer();
    board = await startOptibootUno();
  });
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

  it('flashes an application that then runs and prints over the UART', async () => {
    const image = readImage(readFileSync(join(SIMAVR_DIR, 'blink-uart-2.hex')), { name: 'blink-uart-2.hex' });
    const report = await session('m328p', (driver, rt) => runJob(driver, image, {}, rt));
    expect(report.verified).toBe(true);
    expect(report.device.id).toBe('1e950f');
    expect(report.device.bootloader).toContain('4.4');
    expect(await appOutput(board.path, 4000)).toContain('webprog-app-ok 2');
  });

  it('reads back the application and the untouched optiboot', async () => {
    const app = readImage(readFileSync(join(SIMAVR_DIR, 'blink-uart-2.hex')));
    const boot = readImage(readFileSync(join(SIMAVR_DIR, 'optiboot_atmega328.hex')));
    const { data } = await session('m328p', (driver, rt) => runRead(driver, 'flash', {}, rt));
    expect(data.length).toBe(32768);
    const appEnd = app.segments.at(-1)!.address + app.segments.at(-1)!.data.length;
    expect(Buffer.from(data.subarray(0, appEnd)).equals(Buffer.from(flatten(app, 'flash', 0, appEnd)))).toBe(true);
    const bootEnd = boot.segments[0]!.address + boot.segments[0]!.data.length;
    expect(Buffer.from(data.subarray(0x7e00, bootEnd)).equals(Buffer.from(boot.segments[0]!.data))).toBe(true);
  });

  it('refuses a wrong part choice without writing', async () => {
    const image = readImage(readFileSync(join(SIMAVR_DIR, 'blink-uart.hex')));
    const err = await session('m168', (driver, rt) => runJob(driver, image, {}, rt)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).code).toBe('wrong-target');
    expect(await appOutput(board.path, 4000)).toContain('webprog-app-ok 2'); // still the previous application
  });
});
