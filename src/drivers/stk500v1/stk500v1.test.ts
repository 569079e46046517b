import { describe, expect, it } from 'vitest';
import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import { runJob, runRead } from '../../core/job/run-job';
import { seededRandom } from '../../core/io/faults';
import { systemClock } from '../../transports/clock';
import { openVirtualDevice } from '../../transports/virtual';
import { FlashError } from '../../shared/errors';
import type { JobEvent } from '../../shared/events';
import type { FaultSpec } from '../../shared/model';
import { createDriver } from './driver';
import type { Stk500v1Simulator } from './simulator';

function randomImage(length: number, address = 0, seed = 1, memory = 'flash'): FirmwareImage {
  const rnd = seededRandom(seed);
  const data = Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
  return createImage('test', [{ memory, address, data }]);
}

async function setup(opts: { variant?: string; targetId?: string; part?: string; baudRate?: number; fault?: FaultSpec } = {}) {
  const controller = new AbortController();
  const dev = await openVirtualDevice('stk500v1', { clock: systemClock, variant: opts.variant, targetId: opts.part, fault: opts.fault });
  const events: JobEvent[] = [];
  const logs: string[] = [];
  const driver = createDriver({
    stream: dev.stream,
    clock: systemClock,
    log: (_l, m) => logs.push(m),
    signal: controller.signal,
    targetId: opts.targetId,
    baudRate: opts.baudRate,
  });
  const rt = { clock: systemClock, signal: controller.signal, emit: (e: JobEvent) => events.push(e) };
  const sim = dev.simulator as Stk500v1Simulator;
  return { driver, sim, events, logs, rt, controller, stream: dev.stream };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

describe('stk500v1 driver against the optiboot simulator', () => {
  it('writes, verifies and reports a 2 KiB image with an odd tail', async () => {
    const { driver, sim, events, rt } = await setup({ targetId: 'm328p' });
    const image = randomImage(2000, 0x100);
    const report = await runJob(driver, image, {}, rt);
    expect(report.verified).toBe(true);
    expect(report.device).toMatchObject({ id: '1e950f', name: 'ATmega328P' });
    expect(report.bytesWritten).toBe(2048); // 0x100..0x8D0 in whole 128-byte pages
    expect(Array.from(sim.flash.subarray(0x100, 0x100 + 2000))).toEqual(Array.from(image.segments[0]!.data));
    expect(sim.flash[0x100 + 2000]).toBe(0xff); // the padded tail of the last page
    expect(sim.flash[0xff]).toBe(0xff); // nothing before the image touched
    const phases = events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(['connect', 'identify', 'validate', 'write', 'verify', 'finish']);
    const last = events.filter((e) => e.type === 'progress').at(-1);
    expect(last).toMatchObject({ phase: 'verify', done: 2048, total: 2048 });
    expect(events.at(-1)).toMatchObject({ type: 'phase', phase: 'finish' });
  });

  it('detects the part when none is chosen, and reads flash back', async () => {
    const { driver, sim, rt } = await setup({ part: 'm168' });
    sim.flash.set([1, 2, 3, 4, 5], 0x3000);
    const read = await runRead(driver, 'flash', { address: 0x3001, length: 3 }, rt);
    expect(read.identified.device.name).toBe('ATmega168');
    expect(Array.from(read.data)).toEqual([2, 3, 4]);
  });

  it('refuses a board whose signature is not the chosen part, before writing anything', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm328p', part: 'm168' });
    const err = await failure(runJob(driver, randomImage(256), {}, rt));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toContain('ATmega168');
    expect(err.details).toMatchObject({ expected: '1e950f', actual: '1e9406' });
    expect(sim.flash.subarray(0, 256).every((b) => b === 0xff)).toBe(true);
  });

  it('refuses an image that runs into the bootloader section before writing', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm328p' });
    const err = await failure(runJob(driver, randomImage(512, 0x7d00), {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toMatch(/0x7E00.*bootloader/);
    expect(sim.flash[0x7d00]).toBe(0xff);
  });

  it('refuses an image larger than the flash', async () => {
    const { driver, rt } = await setup({ targetId: 'm328p' });
    const err = await failure(runJob(driver, randomImage(16, 0x8000), {}, rt));
    expect(err.code).toBe('image-out-of-range');
  });

  it('falls back to 57600 baud for the old ATmegaBOOT and writes EEPROM there', async () => {
    const { driver, sim, rt, logs } = await setup({ variant: 'atmegaboot' });
    const image = createImage('test', [
      { memory: 'flash', address: 0, data: randomImage(300).segments[0]!.data },
      { memory: 'eeprom', address: 8, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
    ]);
    const report = await runJob(driver, image, {}, rt);
    expect(report.device.baudRate).toBe(57600);
    expect(logs.join('\n')).toContain('No answer at 115200 baud.');
    expect(Array.from(sim.eeprom.subarray(8, 12))).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(sim.flash[8]).toBe(image.segments[1]!.data[8]); // EEPROM data did not land in flash
  }, 20_000);

  it('refuses EEPROM data on optiboot 4.4, which would write it into flash', async () => {
    const { driver, sim, rt } = await setup({});
    const image = createImage('test', [{ memory: 'eeprom', address: 0, data: Uint8Array.of(1, 2, 3, 4) }]);
    const err = await failure(runJob(driver, image, {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toContain('cannot program EEPROM');
    expect(sim.flash.subarray(0, 4).every((b) => b === 0xff)).toBe(true);
  });

  it('reports "no answer" within 3 s when nothing answers', async () => {
    // A line that loses every byte: as with the wrong port, or a board without a bootloader.
    const silent = await setup({ fault: { seed: 1, dropRate: 1 } });
    const started = performance.now();
    const err = await failure(runJob(silent.driver, randomImage(128), {}, silent.rt));
    expect(err.code).toBe('no-sync');
    expect(err.message).toContain('115200 and 57600');
    expect(err.hint).toMatch(/RESET/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('names the page address when the link is lost mid-write', async () => {
    const { driver, rt } = await setup({ targetId: 'm328p', fault: { seed: 7, disconnectAfterBytes: 1500 } });
    const err = await failure(runJob(driver, randomImage(4096), {}, rt));
    expect(err.code).toBe('device-lost');
    expect(err.message).toMatch(/while writing flash at 0x0[0-9A-F]{3}/);
    expect(err.details.address).toBeGreaterThan(0);
  });

  it('stops between blocks when cancelled and says so', async () => {
    const { driver, rt, controller, events } = await setup({ targetId: 'm328p' });
    const job = runJob(driver, randomImage(8192), {}, {
      ...rt,
      emit: (e) => {
        events.push(e);
        if (e.type === 'progress' && e.done >= 1024) controller.abort();
      },
    });
    const err = await failure(job);
    expect(err.code).toBe('aborted');
    const written = events.filter((e) => e.type === 'progress').at(-1) as { done: number };
    expect(written.done).toBeLessThan(2048);
  });
});

describe('skip unchanged (engine feature, exercised through stk500v1)', () => {
  it('writes only the pages that differ, and verifies them', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm328p' });
    const image = randomImage(4096, 0, 5);
    sim.flash.set(image.segments[0]!.data, 0);
    sim.flash[1000]! ^= 0xff; // one page (0x380..0x3FF) differs
    sim.flash[3000]! ^= 0x01; // and another (0xB80..0xBFF)
    const report = await runJob(driver, image, { skipUnchanged: true }, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 256, bytesVerified: 256, bytesSkipped: 3840 });
    expect(Array.from(sim.flash.subarray(0, 4096))).toEqual(Array.from(image.segments[0]!.data));
  });
});
