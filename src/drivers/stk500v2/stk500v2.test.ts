import { describe, expect, it } from 'vitest';
import type { ByteStream } from '../../core/io/byte-stream';
import { seededRandom } from '../../core/io/faults';
import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import { runJob, runRead } from '../../core/job/run-job';
import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import { systemClock } from '../../transports/clock';
import { openVirtualDevice } from '../../transports/virtual';
import { createDriver } from './driver';
import { CMD, encodeFrame, FrameParser, loadAddressBody } from './protocol';
import type { Stk500v2Simulator } from './simulator';

function bytes(length: number, seed: number): Uint8Array {
  const rnd = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
}

function image(...parts: { address: number; data: Uint8Array; memory?: string }[]): FirmwareImage {
  return createImage('test', parts.map((p) => ({ memory: p.memory ?? 'flash', address: p.address, data: p.data })));
}

async function setup(opts: { targetId?: string; part?: string; variant?: string; fault?: FaultSpec; wrap?: (s: ByteStream) => ByteStream } = {}) {
  const controller = new AbortController();
  const dev = await openVirtualDevice('stk500v2', { clock: systemClock, targetId: opts.part, variant: opts.variant, fault: opts.fault });
  const logs: string[] = [];
  const stream = opts.wrap ? opts.wrap(dev.stream) : dev.stream;
  const driver = createDriver({ stream, clock: systemClock, log: (_l, m) => logs.push(m), signal: controller.signal, targetId: opts.targetId });
  const rt = { clock: systemClock, signal: controller.signal, emit: () => {} };
  return { driver, sim: dev.simulator as Stk500v2Simulator, rt, logs };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

/** Damages the device's answer to the n-th `cmd` (its checksum byte), as a noisy line would. */
function losingAnswer(inner: ByteStream, cmd: number, n: number): ByteStream {
  const parser = new FrameParser();
  let writes = 0;
  return {
    ...inner,
    write: inner.write.bind(inner),
    async read(max, opts) {
      const chunk = await inner.read(max, opts);
      for (const f of parser.push(chunk).frames) {
        if (f.body[0] === cmd && ++writes === n) chunk[chunk.length - 1]! ^= 0x01;
      }
      return chunk;
    },
  };
}

describe('stk500v2 frame codec (AVR068)', () => {
  it('encodes the sign-on exactly as on the wire', () => {
    expect(Array.from(encodeFrame(1, Uint8Array.of(CMD.SIGN_ON)))).toEqual([0x1b, 0x01, 0x00, 0x01, 0x0e, 0x01, 0x14]);
  });

  it('sets bit 31 of LOAD_ADDRESS for parts beyond 64 K words, big-endian', () => {
    expect(Array.from(loadAddressBody(0x1f000, true))).toEqual([0x06, 0x80, 0x01, 0xf0, 0x00]);
    expect(Array.from(loadAddressBody(0x1f00, false))).toEqual([0x06, 0x00, 0x00, 0x1f, 0x00]);
  });

  it('skips noise, drops a frame with a bad checksum and keeps the next', () => {
    const good = encodeFrame(7, Uint8Array.of(0x03, 0x00, 0x02));
    const bad = encodeFrame(6, Uint8Array.of(0x03, 0x00, 0x01));
    bad[bad.length - 1]! ^= 0x40;
    const { frames, badChecksums } = new FrameParser().push(Uint8Array.from([0x55, 0xaa, ...bad, ...good]));
    expect(badChecksums).toBe(1);
    expect(frames).toEqual([{ seq: 7, body: Uint8Array.of(0x03, 0x00, 0x02) }]);
  });
});

describe('stk500v2 driver against the Mega bootloader simulator', () => {
  it('writes, verifies and reads back an image, and names the bootloader', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm2560' });
    const data = bytes(3000, 1);
    const report = await runJob(driver, image({ address: 0, data }), {}, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 3072 });
    expect(report.device).toMatchObject({ id: '1e9801', name: 'ATmega2560', bootloader: 'STK500 v2 AVRISP_2 2.10' });
    expect(Buffer.from(sim.flash.subarray(0, 3000)).equals(Buffer.from(data))).toBe(true);
    expect(sim.flash[3000]).toBe(0xff);
  });

  it('reads beyond 128 KiB with extended addressing', async () => {
    const { driver, sim, rt } = await setup({});
    sim.flash.set([0xde, 0xad, 0xbe, 0xef], 0x3dffc);
    const read = await runRead(driver, 'flash', { address: 0x3dffc, length: 4 }, rt);
    expect(read.identified.device.name).toBe('ATmega2560');
    expect(Array.from(read.data)).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it('keeps pages before the image: the bootloader erases in order, so they are rewritten as they were', async () => {
    const { driver, sim, rt, logs } = await setup({ targetId: 'm2560' });
    const before = bytes(0x800, 2);
    sim.flash.set(before, 0);
    const data = bytes(512, 3);
    const report = await runJob(driver, image({ address: 0x800, data }), {}, rt);
    expect(report.verified).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0, 0x800)).equals(Buffer.from(before))).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0x800, 0xa00)).equals(Buffer.from(data))).toBe(true);
    expect(logs.join('\n')).toContain('Rewriting 8 unchanged pages');
  });

  it('re-flashes with skip-unchanged and still leaves every page right', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm2560' });
    const data = bytes(4096, 4);
    sim.flash.set(data, 0);
    sim.flash[0x900]! ^= 0xff; // page 9 differs: pages 0..8 must survive the bootloader's in-order erase
    const report = await runJob(driver, image({ address: 0, data }), { skipUnchanged: true }, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 256 });
    expect(Buffer.from(sim.flash.subarray(0, 4096)).equals(Buffer.from(data))).toBe(true);
  });

  it('checks a page whose answer was lost instead of writing it twice, and loses no later page', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm2560', wrap: (s) => losingAnswer(s, CMD.PROGRAM_FLASH_ISP, 3) });
    const after = bytes(256, 5);
    sim.flash.set(after, 0x600);
    const data = bytes(0x600, 6);
    const report = await runJob(driver, image({ address: 0, data }), {}, rt);
    expect(report.verified).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0, 0x600)).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0x600, 0x700)).equals(Buffer.from(after))).toBe(true); // not erased by a repeat
  });

  it('reads the right page again when an answer was damaged (the bootloader had already moved on)', async () => {
    const { driver, sim, rt, logs } = await setup({ wrap: (s) => losingAnswer(s, CMD.READ_FLASH_ISP, 2) });
    const data = bytes(1024, 12);
    sim.flash.set(data, 0);
    const read = await runRead(driver, 'flash', { address: 0, length: 1024 }, rt);
    expect(Buffer.from(read.data).equals(Buffer.from(data))).toBe(true);
    expect(logs.join('\n')).toContain('Reading 0x0100 again');
  });

  it('writes a page again below the erase pointer and keeps the pages around it', async () => {
    const { driver, sim } = await setup({ targetId: 'm2560' });
    await driver.connect();
    await driver.identify();
    const first = bytes(1024, 13);
    for (let a = 0; a < 1024; a += 256) await driver.writeBlock('flash', a, first.subarray(a, a + 256));
    const again = bytes(256, 14);
    await driver.writeBlock('flash', 0x100, again);
    await driver.close({ ok: true });
    expect(Buffer.from(sim.flash.subarray(0, 0x100)).equals(Buffer.from(first.subarray(0, 0x100)))).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0x100, 0x200)).equals(Buffer.from(again))).toBe(true);
    expect(Buffer.from(sim.flash.subarray(0x200, 0x400)).equals(Buffer.from(first.subarray(0x200)))).toBe(true);
  });

  it('writes EEPROM and reads it back where it was written', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm2560' });
    const ee = bytes(40, 7);
    const report = await runJob(driver, image({ memory: 'eeprom', address: 0x108, data: ee }), {}, rt);
    expect(report.verified).toBe(true);
    expect(Buffer.from(sim.eeprom.subarray(0x108, 0x130)).equals(Buffer.from(ee))).toBe(true);
    expect(sim.eeprom[0x107]).toBe(0xff);
  });

  it('refuses a wrong part before writing anything', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm2560', part: 'm1280' });
    const err = await failure(runJob(driver, image({ address: 0, data: bytes(256, 8) }), {}, rt));
    expect(err.code).toBe('wrong-target');
    expect(err.details).toMatchObject({ expected: '1e9801', actual: '1e9703' });
    expect(sim.flash.subarray(0, 256).every((b) => b === 0xff)).toBe(true);
  });

  it('refuses an image reaching into the bootloader before writing', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'm2560' });
    const err = await failure(runJob(driver, image({ address: 0x3df00, data: bytes(512, 9) }), {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toMatch(/0x3E000.*Mega bootloader/);
    expect(sim.flash[0x3df00]).toBe(0xff);
  });

  it('refuses an ISP programmer, which needs an erase and timing this driver does not send', async () => {
    const { driver, rt } = await setup({ variant: 'STK500_2' });
    const err = await failure(runJob(driver, image({ address: 0, data: bytes(256, 10) }), {}, rt));
    expect(err.code).toBe('unsupported');
    expect(err.message).toContain('in-system programmer');
  });

  it('reports "no answer" within 2 s when nothing answers', async () => {
    const { driver, rt } = await setup({ fault: { seed: 1, dropRate: 1 } });
    const started = performance.now();
    const err = await failure(runJob(driver, image({ address: 0, data: bytes(256, 11) }), {}, rt));
    expect(err.code).toBe('no-sync');
    expect(err.hint).toMatch(/RESET/);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
