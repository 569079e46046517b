import { describe, expect, it } from 'vitest';
import { FlashError } from '../../src/shared/errors';
import { flashOverFaultyLine, ONE_BIT_PER_4KIB, SERIAL_PROTOCOLS } from '../support/faulty-line';

/**
 * A line that flips one bit per 4 KiB, in one direction only, for every serial protocol:
 * - read-back direction (device → host): the chip holds the image, so the job must end Verified;
 * - write direction (host → device): Verified after recovery, or a failure naming the address; never
 *   Verified over wrong data.
 */
const RECOVERING = ['stk500v1', 'stk500v2', 'stm32-usart'];

describe.each(SERIAL_PROTOCOLS)('%s on a line flipping one bit per 4 KiB', (driverId) => {
  it.each([1, 2, 3])('faults only in the read-back direction: Verified (seed %i)', async (seed) => {
    const { outcome, intact } = await flashOverFaultyLine(driverId, { seed, bitFlipRate: ONE_BIT_PER_4KIB, direction: 'to-host' }, 8192);
    expect('report' in outcome ? outcome.report.verified : outcome.error.message).toBe(true);
    expect(intact).toBe(true);
  }, 60_000);

  it.each([1, 2, 3])('faults only in the write direction: Verified after recovery, or a failure naming the address (seed %i)', async (seed) => {
    const { outcome, intact } = await flashOverFaultyLine(driverId, { seed, bitFlipRate: ONE_BIT_PER_4KIB, direction: 'to-device' }, 8192);
    // Protocols with write-side recovery (a NACKed AN3155 frame re-sent, STK500 resync and the page again) must recover.
    if (RECOVERING.includes(driverId)) expect('report' in outcome ? outcome.report.verified : outcome.error.message).toBe(true);
    if ('report' in outcome) {
      expect(outcome.report.verified).toBe(true);
      expect(intact).toBe(true);
    } else {
      expect(outcome.error).toBeInstanceOf(FlashError);
      expect(outcome.error.details.address, outcome.error.message).toEqual(expect.any(Number));
    }
  }, 60_000);
});
