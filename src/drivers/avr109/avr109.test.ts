import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/io/faults';
import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import { runErase, runJob, runRead } from '../../core/job/run-job';
import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import { systemClock } from '../../transports/clock';
import { openVirtualDevice } from '../../transports/virtual';
import { createDriver } from './driver';
import type { Avr109Simulator } from './simulator';

function bytes(length: number, seed: number): Uint8Array {
  const rnd = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
}

function image(address: number, data: Uint8Array, memory = 'flash'): FirmwareImage {
  return createImage('test', [{ memory, address, data }]);
}

async function setup(opts: { targetId?: string; variant?: string; fault?: FaultSpec; options?: Record<string, string> } = {}) {
  const controller = new AbortController();
  const dev = await openVirtualDevice('avr109', { clock: systemClock, variant: opts.variant, fault: opts.fault });
  const logs: string[] = [];
  const driver = createDriver({ stream: dev.stream, clock: systemClock, log: (_l, m) => logs.push(m), signal: controller.signal, targetId: opts.targetId, options: opts.options });
  const rt = { clock: systemClock, signal: controller.signal, emit: () => {} };
  return { driver, sim: dev.simulator as Avr109Simulator, rt, logs };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

describe('avr109 driver against the Caterina simulator', () => {
  it('writes, verifies and names the bootloader and the chip', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm32u4' });
    const data = bytes(3000, 1);
    const report = await runJob(driver, image(0, data), {}, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 3072 });
    expect(report.device).toMatchObject({ id: '1e9587', name: 'ATmega32U4', bootloader: 'CATERIN 1.0 (AVR109)' });
    expect(Buffer.from(sim.flash.subarray(0, 3000)).equals(Buffer.from(data))).toBe(true);
    expect(sim.flash[3000]).toBe(0xff);
  });

  it('enters the bootloader from a running sketch with the 1200-baud touch', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm32u4', variant: 'sketch' });
    expect(sim.state).toBe('app');
    const report = await runJob(driver, image(0, bytes(256, 2)), {}, rt);
    expect(report.verified).toBe(true);
    expect(sim.bootCount).toBe(1);
  });

  it('without the touch a running sketch never hears the bootloader commands', async () => {
    const { driver, rt } = await setup({ targetId: 'm32u4', variant: 'sketch', options: { touch: 'none' } });
    const err = await failure(runJob(driver, image(0, bytes(128, 9)), {}, rt));
    expect(err.code).toBe('no-sync');
    expect(err.details).toMatchObject({ step: 'sync' });
  });

  it('on the bootloader port it does not touch again (touch=none) and still syncs', async () => {
    const { driver, rt, logs } = await setup({ targetId: 'm32u4', options: { touch: 'none' } });
    const report = await runJob(driver, image(0x100, bytes(128, 3)), {}, rt);
    expect(report.verified).toBe(true);
    expect(logs.join('\n')).toContain('Bootloader "CATERIN" answered.');
  });

  it('reads flash back and writes EEPROM where it belongs', async () => {
    const { driver, sim, rt } = await setup({});
    const ee = bytes(20, 4);
    const report = await runJob(driver, image(0x40, ee, 'eeprom'), {}, rt);
    expect(report.verified).toBe(true);
    expect(Buffer.from(sim.eeprom.subarray(0x40, 0x54)).equals(Buffer.from(ee))).toBe(true);
  });

  it('erases the application section and leaves the bootloader', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm32u4' });
    sim.flash.fill(0x12, 0, 0x1000);
    const boot = sim.flash.slice(0x7000);
    await runErase(driver, rt);
    expect(sim.flash.subarray(0, 0x7000).every((b) => b === 0xff)).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0x7000)).equals(Buffer.from(boot))).toBe(true);
  });

  it('reads 1 KiB per request across the 28 KiB application', async () => {
    const { driver, sim, rt } = await setup({});
    const data = bytes(0x7000, 5);
    sim.flash.set(data, 0);
    const read = await runRead(driver, 'flash', { address: 0, length: 0x7000 }, rt);
    expect(Buffer.from(read.data).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses a wrong part before writing', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm328p' });
    const err = await failure(runJob(driver, image(0, bytes(128, 6)), {}, rt));
    expect(err.code).toBe('wrong-target');
    expect(err.details).toMatchObject({ expected: '1e950f', actual: '1e9587' });
    expect(sim.flash[0]).toBe(0xff);
  });

  it('refuses an image reaching into Caterina before writing', async () => {
    const { driver, rt } = await setup({ targetId: 'm32u4' });
    const err = await failure(runJob(driver, image(0x6f80, bytes(256, 7)), {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toContain('Caterina');
  });

  it('names the touch when nothing answers', async () => {
    const { driver, rt } = await setup({ fault: { seed: 1, dropRate: 1 } });
    const err = await failure(runJob(driver, image(0, bytes(128, 8)), {}, rt));
    expect(err.code).toBe('no-sync');
    expect(err.message).toContain('1200-baud touch');
    expect(err.hint).toMatch(/reset button twice/);
  });
});
