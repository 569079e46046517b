import { describe, expect, it } from 'vitest';
import { createImage } from '../../src/core/image/memory-image';
import { runJob } from '../../src/core/job/run-job';
import { findDriver } from '../../src/drivers/registry';
import type { DriverContext } from '../../src/drivers/types';
import { FlashError } from '../../src/shared/errors';
import type { FaultSpec } from '../../src/shared/model';
import { systemClock } from '../../src/transports/clock';
import { openVirtualDevice } from '../../src/transports/virtual';
import { randomBytes } from '../support/tools';

/**
 * A line that flips one bit per 4 KiB, in one direction only, for every serial protocol:
 * - read-back direction (device → host): the chip holds the image, so the job must end Verified;
 * - write direction (host → device): Verified after recovery, or a failure naming the address; never
 *   Verified over wrong data.
 */
export const ONE_BIT_PER_4KIB = 1 / 4096;

export async function flashOverFaultyLine(driverId: string, fault: FaultSpec, length: number) {
  const entry = findDriver(driverId)!;
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

const SERIAL_PROTOCOLS = ['stk500v1', 'stm32-usart', 'serprog', 'esp-rom'];

describe.each(SERIAL_PROTOCOLS)('%s on a line flipping one bit per 4 KiB', (driverId) => {
  it.each([1, 2, 3])('faults only in the read-back direction: Verified (seed %i)', async (seed) => {
    const { outcome, intact } = await flashOverFaultyLine(driverId, { seed, bitFlipRate: ONE_BIT_PER_4KIB, direction: 'to-host' }, 8192);
    expect('report' in outcome ? outcome.report.verified : outcome.error.message).toBe(true);
    expect(intact).toBe(true);
  }, 60_000);

  it.each([1, 2, 3])('faults only in the write direction: Verified after recovery, or a failure naming the address (seed %i)', async (seed) => {
    const { outcome, intact } = await flashOverFaultyLine(driverId, { seed, bitFlipRate: ONE_BIT_PER_4KIB, direction: 'to-device' }, 8192);
    if ('report' in outcome) {
      expect(outcome.report.verified).toBe(true);
      expect(intact).toBe(true);
    } else {
      expect(outcome.error).toBeInstanceOf(FlashError);
      expect(outcome.error.details.address, outcome.error.message).toEqual(expect.any(Number));
    }
  }, 60_000);
});
