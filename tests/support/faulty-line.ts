import { createImage } from '../../src/core/image/memory-image';
import { runJob } from '../../src/core/job/run-job';
import { findDriverOfKind } from '../../src/drivers/registry';
import type { DriverContext } from '../../src/drivers/types';
import type { FlashError } from '../../src/shared/errors';
import type { FaultSpec } from '../../src/shared/model';
import { systemClock } from '../../src/transports/clock';
import { openVirtualDevice } from '../../src/transports/virtual';
import { randomBytes } from './tools';

/** One bit flipped per 4 KiB on the line, on average (the figure). */
export const ONE_BIT_PER_4KIB = 1 / 4096;

/** The serial protocols whose read-back may be garbled by the line. */
export const SERIAL_PROTOCOLS = ['stk500v1', 'stk500v2', 'avr109', 'stm32-usart', 'serprog', 'esp-rom'];

/**
 * Flashes `length` random bytes to a driver's first part on its virtual device behind a faulty line:
 * the job's outcome, and whether the simulated chip holds the image afterwards.
 */

export async function flashOverFaultyLine(driverId: string, fault: FaultSpec, length: number) {
  const entry = findDriverOfKind(driverId, 'serial')!;
  const target = entry.meta.targets[0]!;
  const flash = target.memories.find((m) => m.name === 'flash')!;
  const data = randomBytes(length, fault.seed + 100);
  const image = createImage('test', [{ memory: 'flash', address: flash.base, data }]);
  const dev = await openVirtualDevice(driverId, { clock: systemClock, targetId: target.id, fault });
  const { createDriver } = await entry.load();
  const controller = new AbortController();
  const ctx: DriverContext = { stream: dev.stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: target.id };
  const outcome = await runJob(createDriver(ctx), image, {}, { clock: systemClock, signal: controller.signal, emit: () => {} }).then(
    (report) => ({ report }),
    (error: unknown) => ({ error: error as FlashError }),
  );
  await dev.stream.close();
  const held = dev.simulator.memory('flash').subarray(0, length);
  return { outcome, intact: Buffer.from(held).equals(Buffer.from(data)) };
}
