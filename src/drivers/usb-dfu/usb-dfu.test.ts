import { describe, expect, it } from 'vitest';
import { readImage, writeDfuse } from '../../core/image/index';
import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import { seededRandom } from '../../core/io/faults';
import { type UsbPipe } from '../../core/io/usb-pipe';
import { createUsbPipe, withUsbFaults, type SimulatedUsbPipe } from '../../core/io/usb-bus';
import type { FaultSpec } from '../../shared/model';
import { runErase, runJob, runRead } from '../../core/job/run-job';
import { FlashError } from '../../shared/errors';
import type { JobEvent } from '../../shared/events';
import type { AbortSignalLike, Clock } from '../../core/io/clock';
import { systemClock } from '../../transports/clock';
import type { UsbDriverContext } from '../types';
import { createDriver } from './driver';
import { DFU_PARTS, type DfuPart } from './parts';
import { DFU_REQUEST, DFU_STATUS } from './protocol';
import { createSimulator, DfuDeviceSimulator } from './simulator';

const FLASH = 0x08000000;

/**
 * For the long sessions (seconds of datasheet erase time): a clock for one sequential host where
 * sleeping moves time forward at once. The simulator, the pipe and the driver all take their time from
 * it, so the timing is exactly what they compute and the test takes milliseconds.
 */
class VirtualClock implements Clock {
  private t = 0;
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.t += Math.max(0, ms);
  }
}

function random(length: number, seed = 1): Uint8Array {
  const rnd = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
}

function image(address: number, data: Uint8Array, memory = 'flash'): FirmwareImage {
  return createImage('test', [{ memory, address, data }]);
}

/** Waits until the simulated device is back on the bus and opens it again, as the worker's getDevices() loop would. */
async function reopenWhenPresent(sim: DfuDeviceSimulator, opened: UsbPipe[], clock: Clock): Promise<UsbPipe> {
  const deadline = clock.now() + 20_000;
  for (;;) {
    try {
      const pipe = createUsbPipe(sim, clock);
      opened.push(pipe);
      return pipe;
    } catch (err) {
      if (clock.now() > deadline) throw err;
      await clock.sleep(10);
    }
  }
}

interface SetupOptions {
  part?: string;
  sim?: DfuDeviceSimulator;
  variant?: string;
  targetId?: string;
  leave?: boolean;
  consent?: UsbDriverContext['consent'];
  /** Run on a VirtualClock (with `sim`, the one that simulator was made with). */
  clock?: Clock;
  fault?: FaultSpec;
}

/** A new session; a simulator passed in that runs its application is first put back into DFU mode (BOOT0 + reset). */
async function setup(opts: SetupOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const sim = opts.sim ?? (createSimulator({ clock, targetId: opts.part, variant: opts.variant }) as DfuDeviceSimulator);
  if (opts.sim && (!sim.present || sim.running)) {
    sim.reset();
    while (!sim.present) await clock.sleep(5);
  }
  const pipe = createUsbPipe(sim, clock);
  const opened: UsbPipe[] = [pipe];
  const controller = new AbortController();
  const logs: string[] = [];
  const events: JobEvent[] = [];
  const ctx: UsbDriverContext = {
    usb: opts.fault ? withUsbFaults(pipe, opts.fault, clock) : pipe,
    clock,
    log: (level, m) => logs.push(`${level}: ${m}`),
    signal: controller.signal,
    reopen: () => reopenWhenPresent(sim, opened, clock),
  };
  if (opts.targetId) ctx.targetId = opts.targetId;
  if (opts.leave !== undefined) ctx.leave = opts.leave;
  if (opts.consent) ctx.consent = opts.consent;
  const driver = createDriver(ctx);
  const rt = { clock, signal: controller.signal, emit: (e: JobEvent) => events.push(e) };
  return { sim, pipe: pipe as SimulatedUsbPipe, driver, rt, logs, events, opened, clock, controller };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

function flashAt(sim: DfuDeviceSimulator, address: number, length: number): Uint8Array {
  return sim.memory('flash').subarray(address - FLASH, address - FLASH + length);
}

function sectorsErased(sim: DfuDeviceSimulator): number[] {
  return sim.stats.erasedSectors.map((s) => s.address);
}

describe('USB DFU driver against the STM32F4 DfuSe simulator', () => {
  it('writes, verifies by upload, and leaves DFU mode into the application', async () => {
    const { sim, driver, rt, events } = await setup({ targetId: 'stm32f40x' });
    const data = random(3000);
    const report = await runJob(driver, image(FLASH, data), {}, rt);
    expect(report.verified).toBe(true);
    expect(report.device).toMatchObject({ id: '0483:df11', name: 'STM32F405/407/415/417 (1 MiB)' });
    expect(Buffer.from(flashAt(sim, FLASH, 3000)).equals(Buffer.from(data))).toBe(true);
    expect(sectorsErased(sim)).toEqual([FLASH]);
    expect(sim.stats.earlyPolls).toBe(0); // every GETSTATUS waited its bwPollTimeout
    expect(sim.running).toBe(true);
    expect(sim.jumpedTo).toBe(FLASH);
    const phases = events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(['connect', 'identify', 'validate', 'write', 'verify', 'finish']);
  });

  it('takes the datasheet time: 64 KiB = four 16 KiB sector erases plus 32 word-programmed chunks', async () => {
    // Floor: 4 x 250 ms erase + 16384 words x 16 us; USB frames and the poll rounds add the rest.
    const floor = 4 * 250 + (65536 / 4) * 0.016;
    const timed = async (clock?: Clock) => {
      const { driver, rt, sim, clock: c } = await setup(clock ? { clock } : {});
      const started = c.now();
      const report = await runJob(driver, image(FLASH, random(65536, 2)), {}, rt);
      expect(report.verified).toBe(true);
      expect(sectorsErased(sim)).toEqual([FLASH, FLASH + 0x4000, FLASH + 0x8000, FLASH + 0xc000]);
      return c.now() - started;
    };
    const exact = await timed(new VirtualClock());
    expect(exact).toBeGreaterThan(floor);
    expect(exact).toBeLessThan(floor + 600);
    expect(await timed(new VirtualClock())).toBe(exact); // no timer slack anywhere: the same to the microsecond
    // On the wall clock it can only take longer (the event loop wakes late, never early); how much longer
    // depends on the machine's load, so the bound is loose.
    const wall = await timed();
    expect(wall).toBeGreaterThanOrEqual(exact - 1);
    expect(wall).toBeLessThan(exact * 2);
  });

  it('erases only the sectors the image touches, keeping the rest of a partly covered sector', async () => {
    const { sim, driver, rt } = await setup({ clock: new VirtualClock() });
    const flash = sim.memory('flash');
    const old = random(0x10000, 9);
    flash.set(old, 0x10000); // the 64 KiB sector 4 holds an older program
    flash.set(random(0x4000, 10), 0x40000); // and so does a sector far away
    const data = random(70000, 3); // sectors 0-3 and the first 4.4 KiB of sector 4
    const report = await runJob(driver, image(FLASH, data), {}, rt);
    expect(report.verified).toBe(true);
    expect(sectorsErased(sim)).toEqual([FLASH, FLASH + 0x4000, FLASH + 0x8000, FLASH + 0xc000, FLASH + 0x10000]);
    expect(Buffer.from(flash.subarray(0, 70000)).equals(Buffer.from(data))).toBe(true);
    // Planned blocks end on the 16 KiB planning page (padding is erased flash); the sector's other bytes are as before.
    expect(flash.subarray(70000, 0x14000).every((b) => b === 0xff)).toBe(true);
    expect(Buffer.from(flash.subarray(0x14000, 0x20000)).equals(Buffer.from(old.subarray(0x4000)))).toBe(true);
    expect(flash[0x40000]).not.toBe(0xff);
  });

  it('re-flashing with skip-unchanged rewrites one page of a 128 KiB sector without losing the others', async () => {
    const first = await setup({ clock: new VirtualClock() });
    const data = random(0x20000, 4);
    await runJob(first.driver, image(FLASH + 0x20000, data), {}, first.rt);
    const second = await setup({ sim: first.sim, clock: first.clock });
    const changed = data.slice();
    changed[0x4123] = changed[0x4123]! ^ 0xff;
    first.sim.stats.erasedSectors.length = 0;
    const report = await runJob(second.driver, image(FLASH + 0x20000, changed), { skipUnchanged: true }, second.rt);
    expect(report.bytesWritten).toBe(0x4000);
    expect(report.bytesSkipped).toBe(0x20000 - 0x4000);
    expect(sectorsErased(first.sim)).toEqual([FLASH + 0x20000]);
    expect(Buffer.from(flashAt(first.sim, FLASH + 0x20000, 0x20000)).equals(Buffer.from(changed))).toBe(true);
  });

  it('reads flash back with runRead (UPLOAD from a Set Address pointer) and stays in DFU mode', async () => {
    const { sim, driver, rt } = await setup();
    sim.memory('flash').set([1, 2, 3, 4, 5, 6], 0x1234);
    const read = await runRead(driver, 'flash', { address: FLASH + 0x1235, length: 4 }, rt);
    expect(Array.from(read.data)).toEqual([2, 3, 4, 5]);
    expect(read.fill).toBe(0xff);
    expect(sim.mode).toBe('dfu'); // a read-only session does not leave DFU mode (that is one-way)
  });

  it('writes a .dfu file target by target: alt 0 flash and alt 1 option bytes', async () => {
    const { sim, driver, rt } = await setup();
    const app = random(5000, 5);
    const options = Uint8Array.of(0xaa, 0xec, 0x55, 0x13, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00);
    const file = writeDfuse(
      createImage('dfuse', [
        { memory: 'alt0', address: FLASH, data: app },
        { memory: 'alt1', address: 0x1fffc000, data: options },
      ]),
    );
    const img = readImage(file, { name: 'app.dfu' });
    const report = await runJob(driver, img, {}, rt);
    expect(report.verified).toBe(true);
    expect(Buffer.from(flashAt(sim, FLASH, 5000)).equals(Buffer.from(app))).toBe(true);
    expect(Array.from(sim.memory('alt1'))).toEqual(Array.from(options));
    expect(sim.stats.erasedSectors).toEqual([
      { alt: 0, address: FLASH },
      { alt: 1, address: 0x1fffc000 },
    ]);
  });

  it('refuses a different part before erasing anything', async () => {
    const { sim, driver, rt } = await setup({ targetId: 'stm32f10x-cl' });
    const err = await failure(runJob(driver, image(FLASH, random(256)), {}, rt));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toContain('STM32F405/407/415/417');
    expect(err.message).toContain('STM32F105/107');
    expect(sim.stats.erasedSectors).toEqual([]);
    expect(sim.mode).toBe('dfu'); // a failed session does not start the application
  });

  it('refuses a file for an alternate setting the device lacks, and bytes outside the layout, before erasing', async () => {
    const a = await setup();
    const err = await failure(runJob(a.driver, image(0x20000000, random(64), 'alt7'), {}, a.rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toContain('alt7');
    const b = await setup();
    const outside = await failure(runJob(b.driver, image(FLASH + 0xfff00, random(0x200)), {}, b.rt));
    expect(outside.code).toBe('image-out-of-range');
    expect(outside.message).toMatch(/0x81000FF.*0x80FFFFF/);
    const c = await setup();
    const wrongAlt = await failure(runJob(c.driver, image(FLASH, random(64), 'alt1'), {}, c.rt));
    expect(wrongAlt.code).toBe('image-out-of-range'); // flash addresses given for the option-byte memory
    for (const s of [a.sim, b.sim, c.sim]) expect(s.stats.erasedSectors).toEqual([]);
  });

  it('treats sectors a layout marks read-only (type a) as reserved', async () => {
    const part: DfuPart = { ...DFU_PARTS[0]!, id: 'custom', alts: ['@Internal Flash  /0x08000000/02*016Ka,02*016Kg'] };
    const a = await setup({ sim: new DfuDeviceSimulator(systemClock, part) });
    const err = await failure(runJob(a.driver, image(FLASH, random(64)), {}, a.rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toMatch(/read-only sectors.*0x08000000/);
    const b = await setup({ sim: a.sim });
    const report = await runJob(b.driver, image(FLASH + 0x8000, random(100)), {}, b.rt);
    expect(report.verified).toBe(true);
  });

  it('clears a dfuERROR the device starts in (as a real F4 ROM reports errFIRMWARE)', async () => {
    const { driver, rt, logs } = await setup({ variant: 'starts-in-error' });
    const report = await runJob(driver, image(FLASH, random(100)), {}, rt);
    expect(report.verified).toBe(true);
    expect(logs.join('\n')).toMatch(/dfuERROR \(errFIRMWARE/);
  });

  it('recovers from one programming error by clearing it and retrying the chunk', async () => {
    const { sim, driver, rt, logs } = await setup();
    sim.failNext('program', DFU_STATUS.errPROG);
    const data = random(8192, 6);
    const report = await runJob(driver, image(FLASH, data), {}, rt);
    expect(report.verified).toBe(true);
    expect(Buffer.from(flashAt(sim, FLASH, 8192)).equals(Buffer.from(data))).toBe(true);
    expect(logs.join('\n')).toMatch(/errPROG.*trying once more/);
  });

  it('gives up after the retry fails too, naming the status and the address', async () => {
    const { sim, driver, rt } = await setup();
    sim.failNext('program', DFU_STATUS.errWRITE, 2);
    const err = await failure(runJob(driver, image(FLASH, random(4096)), {}, rt));
    expect(err.code).toBe('nak');
    expect(err.message).toContain('errWRITE');
    expect(err.message).toContain('0x08000000');
    expect(err.hint).toMatch(/write-protected/);
  });

  it('reports device-lost naming the address when the cable goes mid-transfer', async () => {
    const { sim, pipe, driver, rt } = await setup();
    const control = sim.control.bind(sim);
    let dataBlocks = 0;
    sim.control = (req) => {
      if (req.setup.request === DFU_REQUEST.DFU_DNLOAD && req.setup.value >= 2 && ++dataBlocks === 5) pipe.unplug();
      return control(req);
    };
    const err = await failure(runJob(driver, image(FLASH, random(32768)), {}, rt));
    expect(err.code).toBe('device-lost');
    expect(err.message).toMatch(/while writing flash at 0x8000000/);
    expect(err.details.address).toBeDefined();
  });

  it('stays in DFU mode when the job is cancelled, so half-written firmware never starts', async () => {
    const { sim, driver, rt, controller } = await setup({ clock: new VirtualClock() });
    const control = sim.control.bind(sim);
    let dataBlocks = 0;
    sim.control = (req) => {
      if (req.setup.request === DFU_REQUEST.DFU_DNLOAD && req.setup.value >= 2 && ++dataBlocks === 9) controller.abort();
      return control(req);
    };
    const err = await failure(runJob(driver, image(FLASH, random(65536)), {}, rt));
    expect(err.code).toBe('aborted');
    expect(sim.mode).toBe('dfu');
    expect(sim.jumpedTo).toBeUndefined();
  });

  it('survives a device that under-reports bwPollTimeout (its early GETSTATUS is stalled and asked again)', async () => {
    const { sim, driver, rt } = await setup({ variant: 'slow-poll' });
    const report = await runJob(driver, image(FLASH, random(6000, 7)), {}, rt);
    expect(report.verified).toBe(true);
    expect(sim.stats.earlyPolls).toBeGreaterThan(0);
  });

  it('mass-erases on request (STM32F107: 20 ms), then writes without sector erases', async () => {
    const { sim, driver, rt } = await setup({ part: 'stm32f10x-cl', targetId: 'stm32f10x-cl' });
    sim.memory('flash').fill(0x00, 0x30000, 0x30010);
    const report = await runJob(driver, image(FLASH, random(5000)), { erase: true }, rt);
    expect(report.verified).toBe(true);
    expect(sim.stats.massErases).toBe(1);
    expect(sim.stats.erasedSectors).toEqual([]);
    expect(sim.memory('flash')[0x30000]).toBe(0xff);
  });

  it('erases the chip alone with runErase', async () => {
    const { sim, driver, rt } = await setup({ part: 'stm32f10x-cl' });
    await runErase(driver, rt);
    expect(sim.stats.massErases).toBe(1);
  });

  it('explains read-out protection before erasing, and removes it only with consent', async () => {
    const locked = await setup({ variant: 'protected', clock: new VirtualClock() });
    const data = random(1000, 8);
    const err = await failure(runJob(locked.driver, image(FLASH, data), {}, locked.rt));
    expect(err.code).toBe('nak');
    expect(err.message).toMatch(/read-out protection/);
    expect(err.hint).toMatch(/erases the whole flash/);
    expect(err.details.readProtected).toBe(true);
    expect(locked.sim.stats.massErases).toBe(0);
    expect(locked.sim.readProtected).toBe(true);

    const agreed = await setup({ sim: locked.sim, clock: locked.clock, consent: { readUnprotect: true } });
    const report = await runJob(agreed.driver, image(FLASH, data), {}, agreed.rt);
    expect(report.verified).toBe(true);
    expect(locked.sim.readProtected).toBe(false);
    expect(locked.sim.stats.massErases).toBe(1);
    expect(agreed.logs.join('\n')).toMatch(/Removing read-out protection/);
  });

  it('stays in DFU mode when told not to leave', async () => {
    const { sim, driver, rt } = await setup({ leave: false });
    await runJob(driver, image(FLASH, random(100)), {}, rt);
    expect(sim.mode).toBe('dfu');
  });

  it('stays in DFU mode when core finds a verify mismatch the driver itself did not see', async () => {
    const { sim, driver, rt } = await setup();
    // A read-back that always shows other bytes at the block's start (as a chip that lost them would):
    // every re-read agrees, so the job fails at verify.
    const read = driver.readBlock!.bind(driver);
    driver.readBlock = async (m, a, n) => {
      const data = await read(m, a, n);
      if (a === FLASH) data[0]! ^= 0xff;
      return data;
    };
    const err = await failure(runJob(driver, image(FLASH, random(100)), {}, rt));
    expect(err.code).toBe('verify-mismatch');
    expect(sim.mode).toBe('dfu'); // the half-trusted application is not started
  });

});

describe('USB DFU driver against a plain DFU 1.1 device', () => {
  it('downloads one block stream, manifests, verifies by upload and resets into the application', async () => {
    const { sim, driver, rt, logs } = await setup({ part: 'dfu-generic', targetId: 'dfu-generic' });
    const data = random(5000, 11);
    const report = await runJob(driver, image(0, data), {}, rt);
    expect(report.verified).toBe(true);
    expect(report.device.bootloader).toMatch(/^DFU 1\.1/);
    expect(Buffer.from(sim.memory('flash').subarray(0, 5000)).equals(Buffer.from(data))).toBe(true);
    expect(sim.running).toBe(true);
    expect(logs.join('\n')).toMatch(/application starts/);
  });

  it('fills a gap between two segments with erased bytes (DFU 1.1 has no addresses)', async () => {
    const { sim, driver, rt } = await setup({ part: 'dfu-generic' });
    const img = createImage('test', [
      { memory: 'flash', address: 0x100, data: Uint8Array.of(1, 2, 3) },
      { memory: 'flash', address: 0x2000, data: Uint8Array.of(4, 5, 6) },
    ]);
    const report = await runJob(driver, img, {}, rt);
    expect(report.verified).toBe(true);
    const mem = sim.memory('flash');
    expect(Array.from(mem.subarray(0x100, 0x103))).toEqual([1, 2, 3]);
    expect(Array.from(mem.subarray(0x2000, 0x2003))).toEqual([4, 5, 6]);
    expect(mem.subarray(0, 0x100).every((b) => b === 0xff)).toBe(true);
  });

  it('detaches a running application into DFU mode (DFU_DETACH + USB reset) and re-opens it', async () => {
    const { sim, driver, rt, logs, opened } = await setup({ part: 'dfu-generic', variant: 'runtime' });
    expect(sim.mode).toBe('runtime');
    const report = await runJob(driver, image(0, random(2048, 12)), {}, rt);
    expect(report.verified).toBe(true);
    expect(logs.join('\n')).toMatch(/asking it to detach/);
    expect(opened.length).toBe(2);
    expect(sim.mode).toBe('runtime'); // back in the (new) application after the final reset
  });

  it('has no erase command', async () => {
    const { driver, rt } = await setup({ part: 'dfu-generic' });
    const err = await failure(runErase(driver, rt));
    expect(err.code).toBe('unsupported');
  });
});

/** The registry conformance lifecycle, on a USB link: a faulty link may fail the job, never fake a pass. */
describe('USB DFU driver over a faulty USB link', () => {
  it.each([
    [1, 2e-4],
    [2, 1e-4],
    [3, 3e-5],
    [4, 1e-5],
    [5, 3e-6],
  ])('never reports success it did not earn (seed %i, fault rate %d per byte)', async (seed, rate) => {
    const { sim, driver, rt } = await setup({ clock: new VirtualClock(), fault: { seed, bitFlipRate: rate, dropRate: rate / 2, duplicateRate: rate / 2 } });
    const data = random(3000, seed);
    const outcome = await runJob(driver, image(FLASH, data), {}, rt).then(
      (report) => ({ report }),
      (error: unknown) => ({ error }),
    );
    if ('report' in outcome) {
      expect(outcome.report.verified).toBe(true);
      expect(Buffer.from(flashAt(sim, FLASH, 3000)).equals(Buffer.from(data))).toBe(true);
    } else {
      expect(outcome.error).toBeInstanceOf(FlashError);
      expect((outcome.error as FlashError).code).not.toBe('internal');
      expect((outcome.error as FlashError).hint.length).toBeGreaterThan(10);
    }
  });

  it('reports a cable pulled after N bytes as device-lost', async () => {
    const { driver, rt } = await setup({ clock: new VirtualClock(), fault: { seed: 1, disconnectAfterBytes: 5000 } });
    const err = await failure(runJob(driver, image(FLASH, random(20000)), {}, rt));
    expect(err.code).toBe('device-lost');
  });
});
