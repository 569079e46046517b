import { describe, expect, it } from 'vitest';
import { eraseUnits, findStm32Family, STM32_FAMILIES, STM32_FLASH_BASE, STM32_PARTS } from '../../chips/stm32';
import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import type { ByteStream } from '../../core/io/byte-stream';
import { seededRandom } from '../../core/io/faults';
import { runJob, runRead } from '../../core/job/run-job';
import { FlashError } from '../../shared/errors';
import type { JobEvent } from '../../shared/events';
import type { FaultSpec } from '../../shared/model';
import { systemClock } from '../../transports/clock';
import { openVirtualDevice } from '../../transports/virtual';
import { createDriver, type Stm32UsartDriver } from './driver';
import { stm32UsartMeta } from './meta';
import { parseBootSequence, parseOptions, UNPROTECT_CONSENT, type Stm32UsartOptions } from './options';
import { Cmd, eraseFrame, extendedEraseFrame, stm32Crc, wordFrame, writeDataFrame, xorOf } from './protocol';
import type { Stm32UsartSimulator } from './simulator';

const BASE = STM32_FLASH_BASE;

function randomImage(length: number, address = BASE, seed = 1): FirmwareImage {
  const rnd = seededRandom(seed);
  return createImage('test', [{ memory: 'flash', address, data: Uint8Array.from({ length }, () => Math.floor(rnd() * 256)) }]);
}

interface Setup {
  part?: string;
  targetId?: string;
  variant?: string;
  fault?: FaultSpec;
  options?: Stm32UsartOptions;
  /** As the CLI passes them (`--option key=value`). */
  ctxOptions?: Record<string, string>;
  wrap?: (s: ByteStream) => ByteStream;
}

async function setup(opts: Setup = {}) {
  const controller = new AbortController();
  const dev = await openVirtualDevice('stm32-usart', { clock: systemClock, targetId: opts.part ?? 'stm32f103c8', variant: opts.variant, fault: opts.fault });
  const stream = opts.wrap ? opts.wrap(dev.stream) : dev.stream;
  const logs: string[] = [];
  const events: JobEvent[] = [];
  const driver = createDriver(
    { stream, clock: systemClock, log: (level, m) => logs.push(`${level}: ${m}`), signal: controller.signal, targetId: opts.targetId, options: opts.ctxOptions },
    opts.options,
  );
  const rt = { clock: systemClock, signal: controller.signal, emit: (e: JobEvent) => events.push(e) };
  return { driver, sim: dev.simulator as Stm32UsartSimulator, logs, events, rt, stream: dev.stream };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

const bytesOf = (image: FirmwareImage) => image.segments[0]!.data;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Flips one byte of the host's first write of at least `minLength` bytes (a damaged Write Memory frame). */
function flipFirstBigWrite(minLength: number, at: number) {
  return (inner: ByteStream): ByteStream => {
    let done = false;
    return {
      ...inner,
      async write(data) {
        if (!done && data.length >= minLength) {
          done = true;
          const copy = data.slice();
          copy[at]! ^= 0x10;
          return inner.write(copy);
        }
        return inner.write(data);
      },
      read: (max, o) => inner.read(max, o),
    };
  };
}

/** Loses the answer byte number `nth` (1-based) that follows the host's first write of at least `minLength` bytes. */
function dropAnswerAfterBigWrite(minLength: number, nth: number) {
  return (inner: ByteStream): ByteStream => {
    let armed = false;
    let seen = 0;
    return {
      ...inner,
      async write(data) {
        if (data.length >= minLength && seen === 0) armed = true;
        return inner.write(data);
      },
      async read(max, o) {
        for (;;) {
          const got = await inner.read(armed ? 1 : max, o);
          if (armed && ++seen === nth) {
            armed = false;
            continue;
          }
          return got;
        }
      },
    };
  };
}

describe('STM32 part table', () => {
  it('has consistent families and parts', () => {
    expect(new Set(STM32_FAMILIES.map((f) => f.pid)).size).toBe(STM32_FAMILIES.length);
    expect(new Set(STM32_PARTS.map((p) => p.id)).size).toBe(STM32_PARTS.length);
    for (const f of STM32_FAMILIES) {
      if (f.layout.kind === 'sectors') expect(f.layout.sectors.reduce((a, b) => a + b, 0)).toBe(f.flashMax);
      else expect(f.flashMax % f.layout.pageSize).toBe(0);
      expect(f.ram.start).toBeLessThanOrEqual(f.ram.end);
      expect([0x00, 0xff]).toContain(f.erasedValue);
    }
    for (const p of STM32_PARTS) {
      const f = findStm32Family(p.pid);
      expect(f, p.id).toBeDefined();
      expect(p.flashSize, p.id).toBeLessThanOrEqual(f!.flashMax);
      expect(eraseUnits(f!, p.flashSize).reduce((n, u) => n + u.size, 0), p.id).toBe(p.flashSize);
    }
    const series = new Set(STM32_FAMILIES.map((f) => f.series));
    for (const s of ['F0', 'F1', 'F2', 'F3', 'F4', 'F7', 'G0', 'G4', 'L0', 'L1', 'L4', 'H7']) expect(series).toContain(s);
    expect(stm32UsartMeta.targets[0]!.id).toBe('stm32f103c8');
    expect(stm32UsartMeta.serialDefaults).toMatchObject({ baudRate: 115200, parity: 'even', dataBits: 8, stopBits: 1 });
  });

  it('numbers F4 sectors 0..11 and the second bank 12..23', () => {
    const units = eraseUnits(findStm32Family(0x419)!, 2048 * 1024);
    expect(units).toHaveLength(24);
    expect(units[4]).toEqual({ number: 4, start: BASE + 0x10000, size: 0x10000 });
    expect(units[12]!.start).toBe(BASE + 0x100000);
  });
});

describe('AN3155 frames', () => {
  it('builds frames whose bytes XOR to zero', () => {
    expect(Array.from(wordFrame(0x08000000))).toEqual([0x08, 0, 0, 0, 0x08]);
    const data = Uint8Array.of(1, 2, 3, 4);
    expect(Array.from(writeDataFrame(data))).toEqual([3, 1, 2, 3, 4, 3 ^ 1 ^ 2 ^ 3 ^ 4]);
    expect(Array.from(eraseFrame('global'))).toEqual([0xff, 0x00]);
    expect(Array.from(eraseFrame([0, 1]))).toEqual([1, 0, 1, 0]);
    expect(Array.from(extendedEraseFrame(0xffff))).toEqual([0xff, 0xff, 0x00]);
    expect(Array.from(extendedEraseFrame(0xfffd))).toEqual([0xff, 0xfd, 0x02]);
    const pages = extendedEraseFrame([0x102, 3]);
    expect(Array.from(pages)).toEqual([0, 1, 1, 2, 0, 3, 0 ^ 1 ^ 1 ^ 2 ^ 0 ^ 3]);
    expect(xorOf(pages)).toBe(0);
  });

  it('computes the CRC unit checksum (word-wise, bit by bit reference)', () => {
    const reference = (bytes: Uint8Array) => {
      let crc = 0xffffffff;
      for (let i = 0; i < bytes.length; i += 4) {
        crc ^= (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
        for (let k = 0; k < 32; k++) crc = (crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1) >>> 0;
      }
      return crc >>> 0;
    };
    const data = bytesOf(randomImage(1024));
    expect(stm32Crc(data)).toBe(reference(data));
    expect(stm32Crc(Uint8Array.of(0, 0, 0, 0))).toBe(reference(Uint8Array.of(0, 0, 0, 0)));
  });

  it('parses boot sequences in stm32flash -i syntax and refuses what a browser port cannot drive', () => {
    expect(parseBootSequence('rts&dtr,-dtr,,-rts:-rts&dtr,-dtr')).toEqual({
      entry: [{ signal: 'rts', asserted: true }, { signal: 'dtr', asserted: true }, { delayMs: 100 }, { signal: 'dtr', asserted: false }, { delayMs: 100 }, { delayMs: 100 }, { signal: 'rts', asserted: false }],
      exit: [{ signal: 'rts', asserted: false }, { signal: 'dtr', asserted: true }, { delayMs: 100 }, { signal: 'dtr', asserted: false }],
    });
    expect(() => parseBootSequence('-3&-2,2:3&-2,,,2')).toThrow(/GPIO 3/);
    expect(() => parseBootSequence('brk')).toThrow(/break/);
    expect(() => parseOptions({ unprotec: 'x' })).toThrow(/Unknown stm32-usart option/);
    expect(parseOptions({ go: '0x08000000', pipeline: 'off' })).toEqual({ go: 0x08000000, pipeline: false });
  });
});

describe('the simulated ROM, byte by byte', () => {
  async function talk(stream: ByteStream, bytes: number[], expect: number): Promise<number[]> {
    await stream.write(Uint8Array.from(bytes));
    const got: number[] = [];
    while (got.length < expect) got.push(...(await stream.read(expect - got.length, { timeoutMs: 500 })));
    return got;
  }

  it('syncs on 0x7F, answers Get, NACKs unknown commands, bad complements and bad frames', async () => {
    const { stream, sim } = await setup({ part: 'stm32g071rb' });
    expect(await talk(stream, [0x7f], 1)).toEqual([0x79]);
    expect(await talk(stream, [0x00, 0xff], 15)).toEqual([0x79, 11, 0x31, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, 0x79]);
    expect(await talk(stream, [0x02, 0xfd], 5)).toEqual([0x79, 0x01, 0x04, 0x60, 0x79]);
    expect(await talk(stream, [0xa1, 0x5e], 1)).toEqual([0x1f]); // Get Checksum is not in this ROM's list
    expect(await talk(stream, [0x11, 0x11], 1)).toEqual([0x1f]); // bad complement
    expect(await talk(stream, [0x11, 0xee, 0x08, 0x00, 0x00, 0x00, 0x00], 2)).toEqual([0x79, 0x1f]); // bad address checksum
    // A 3-byte write (length not a multiple of 4) is refused after its checksum.
    expect(await talk(stream, [0x31, 0xce, ...wordFrame(BASE), 2, 1, 2, 3, 2 ^ 1 ^ 2 ^ 3], 3)).toEqual([0x79, 0x79, 0x1f]);
    expect(sim.memory('flash')[0]).toBe(0xff);
  });
});

describe('stm32-usart driver against the simulated ROM', () => {
  it('writes, verifies and reads back an image with an odd tail, erasing only its pages', async () => {
    const { driver, sim, events, rt } = await setup({ targetId: 'stm32f103c8' });
    const image = randomImage(2500, BASE + 0x400);
    const report = await runJob(driver, image, {}, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 3072, device: { id: '0410', name: 'STM32F103C8' } });
    expect(report.device.bootloader).toContain('v2.2');
    const flash = sim.memory('flash');
    expect(same(flash.subarray(0x400, 0x400 + 2500), bytesOf(image))).toBe(true);
    expect(flash[0x400 + 2500]).toBe(0xff); // padded with the erased value
    expect(sim.stats.unitErases).toBe(3); // pages 1..3, nothing else
    expect(sim.stats.massErases).toBe(0);
    const phases = events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(['connect', 'identify', 'validate', 'write', 'verify', 'finish']);
    const read = await runRead(driver, 'flash', { address: BASE + 0x401, length: 300 }, rt);
    expect(same(read.data, bytesOf(image).subarray(1, 301))).toBe(true);
  });

  it('detects the part from its product ID and flash-size register when none is chosen', async () => {
    const { driver, sim, rt } = await setup({ part: 'stm32f411ce' });
    sim.memory('flash').set([1, 2, 3], 0x7fffd);
    const read = await runRead(driver, 'flash', { address: BASE + 0x7fffe, length: 2 }, rt);
    expect(read.identified.device).toMatchObject({ id: '0431', name: 'STM32F411 (512 KiB flash)' });
    expect(read.identified.memories[0]).toMatchObject({ base: BASE, size: 512 * 1024, pageSize: 256 });
    expect(Array.from(read.data)).toEqual([2, 3]);
  });

  it('refuses a board that is not the chosen part before erasing anything', async () => {
    const { driver, sim, rt } = await setup({ part: 'stm32f411ce', targetId: 'stm32f103c8' });
    sim.memory('flash').fill(0x5a, 0, 4096);
    const err = await failure(runJob(driver, randomImage(1024), {}, rt));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toContain('STM32F411');
    expect(err.details).toMatchObject({ expected: '0410', actual: '0431' });
    expect(sim.stats.unitErases + sim.stats.massErases).toBe(0);
    expect(sim.memory('flash')[0]).toBe(0x5a);
  });

  it('refuses an image beyond the part\'s flash before erasing anything', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'stm32f103c8' });
    const err = await failure(runJob(driver, randomImage(2048, BASE + 63 * 1024), {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toMatch(/0x0800FFFF|0x800ffff/i);
    expect(sim.stats.unitErases + sim.stats.massErases + sim.stats.writes).toBe(0);
  });

  it('retries a Write Memory frame the ROM NACKed for a bad checksum', async () => {
    const { driver, sim, rt, logs } = await setup({ targetId: 'stm32f103c8', wrap: flipFirstBigWrite(258, 100) });
    const image = randomImage(2048);
    const report = await runJob(driver, image, {}, rt);
    expect(report.verified).toBe(true);
    expect(sim.stats.nacks).toBeGreaterThan(0);
    expect(logs.join('\n')).toMatch(/Write at 0x08000000 failed \(The bootloader refused Write Memory/);
    expect(same(sim.memory('flash').subarray(0, 2048), bytesOf(image))).toBe(true);
  });

  it('recovers when the ACK after programming is lost, without writing twice', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'stm32f103c8', wrap: dropAnswerAfterBigWrite(258, 3) });
    const image = randomImage(1024);
    const report = await runJob(driver, image, {}, rt);
    expect(report.verified).toBe(true);
    expect(sim.stats.writes).toBe(4); // the block whose answer was lost was found written, not rewritten
    expect(sim.stats.programErrors).toBe(0);
  });

  it('fails clearly after a bounded number of refusals (write-protected page)', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'stm32f103c8' });
    sim.wrp.add(0); // pages 0..3
    const err = await failure(runJob(driver, randomImage(1024), {}, rt));
    expect(err.code).toBe('write-protected');
    expect(err.message).toMatch(/did not accept the write at 0x08000000 \(5 attempts\)/);
    expect(err.hint).toMatch(/write-protected.*Write Unprotect/);
  });

  it('says "set BOOT0 high and reset" within a few seconds when no bootloader answers', async () => {
    const { driver, rt } = await setup({ variant: 'app' });
    const started = performance.now();
    const err = await failure(runJob(driver, randomImage(256), {}, rt));
    expect(err.code).toBe('no-sync');
    expect(err.message).toMatch(/0x7F.*expected 0x79/);
    expect(err.hint).toMatch(/BOOT0 high.*RESET/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('enters and leaves the bootloader with a DTR/RTS sequence, as stm32flash -i', async () => {
    const boot = 'rts&dtr,-dtr,,-rts:-rts&dtr,-dtr';
    const { driver, sim, rt } = await setup({ variant: 'wired', targetId: 'stm32f103c8', ctxOptions: { boot } });
    expect(sim.state).toBe('app');
    const report = await runJob(driver, randomImage(512), {}, rt);
    expect(report.verified).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.state).toBe('app'); // the exit sequence reset it into the application
    expect(sim.stats.boots).toBe(1);
  });

  it('models the AN2606 empty check: a blank F091 runs its ROM with BOOT0 low, and keeps doing so after a reset', async () => {
    const { driver, sim, rt, logs } = await setup({ part: 'stm32f091rc', targetId: 'stm32f091rc', variant: 'wired', options: { boot: ':dtr,-dtr' } });
    expect(sim.state).toBe('sync'); // BOOT0 is low, but the flash is blank
    await runJob(driver, randomImage(512), {}, rt);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.state).toBe('sync'); // reset by the exit sequence: still the ROM until power-cycled
    expect(logs.join('\n')).toMatch(/until it is power-cycled/);
  });

  it('starts the application with Go when asked', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'stm32f103c8', options: { go: 'flash' } });
    await runJob(driver, randomImage(512), {}, rt);
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.state).toBe('app');
  });

  it('uses one mass erase when the job asks for a full erase', async () => {
    const { driver, sim, rt } = await setup({ targetId: 'stm32f103c8' });
    sim.memory('flash').fill(0, 0x8000, 0x9000);
    const report = await runJob(driver, randomImage(2048), { erase: true }, rt);
    expect(report.verified).toBe(true);
    expect(sim.stats).toMatchObject({ massErases: 1, unitErases: 0 });
    expect(sim.memory('flash')[0x8000]).toBe(0xff);
  });

  it('erases page by page on ROMs without mass erase, with 0x00 as the erased value (STM32L0)', async () => {
    const { driver, sim, rt } = await setup({ part: 'stm32l011k4', targetId: 'stm32l011k4' });
    expect(driver.constraints).toBeDefined();
    const image = randomImage(300, BASE + 0x80);
    const report = await runJob(driver, image, { erase: true }, rt);
    expect(report.verified).toBe(true);
    expect(sim.stats.massErases).toBe(0);
    expect(sim.stats.unitErases).toBe(128);
    expect(sim.memory('flash')[0x80 + 300]).toBe(0x00);
  });

  it('erases only the sectors it writes on an F4, and bank 2 on request', async () => {
    const { driver, sim, rt, logs } = await setup({ part: 'stm32f429zi', targetId: 'stm32f429zi' });
    sim.timeScale = 0.05; // a bank takes 8.5 s to erase
    const flash = sim.memory('flash');
    flash.fill(0x11, 0, 0x4000); // sector 0
    flash.fill(0x22, 0x100000, 0x104000); // sector 12 (bank 2)
    const report = await runJob(driver, randomImage(600, BASE + 0x4000), {}, rt);
    expect(report.verified).toBe(true);
    expect(flash[0]).toBe(0x11);
    expect(logs.join('\n')).toContain('Erasing sector 1 (16 KiB at 0x08004000)');
    await driver.connect();
    await driver.identify();
    await (driver as Stm32UsartDriver).eraseBank(2);
    expect(flash[0x100000]).toBe(0xff);
    expect(flash[0]).toBe(0x11);
  });

  it('keeps unchanged pages of a sector that skip-unchanged rewrites (F4)', async () => {
    const { driver, sim, rt } = await setup({ part: 'stm32f411ce', targetId: 'stm32f411ce' });
    const image = randomImage(4096);
    const flash = sim.memory('flash');
    flash.set(bytesOf(image), 0);
    flash[0x300]! ^= 0xff; // one 256-byte block differs
    const report = await runJob(driver, image, { skipUnchanged: true }, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 256, bytesSkipped: 3840 });
    expect(same(flash.subarray(0, 4096), bytesOf(image))).toBe(true);
  });

  it('verifies with Get Checksum when the ROM lists it, and catches a difference', async () => {
    const { driver, sim, rt } = await setup({ part: 'stm32g071rb', targetId: 'stm32g071rb', variant: 'crc' });
    const image = randomImage(4096);
    const report = await runJob(driver, image, {}, rt);
    expect(report.verified).toBe(true);
    expect(report.device.bootloader).toContain('Get Checksum');
    expect(sim.stats.checksums).toBeGreaterThan(0);
    expect(sim.stats.reads).toBe(1); // only the flash-size probe
    await driver.connect();
    await driver.identify();
    sim.memory('flash')[100]! ^= 1;
    const r = await driver.verifyBlock!('flash', BASE, bytesOf(image));
    expect(r.equal).toBe(false);
    expect(r.device).not.toBe(r.expected);
  });

  it('refuses a read-protected chip without consent, explaining that unprotecting erases everything', async () => {
    const { driver, sim, rt } = await setup({ variant: 'rdp', targetId: 'stm32f103c8' });
    sim.memory('flash').fill(0x42, 0, 1024);
    const err = await failure(runJob(driver, randomImage(512), {}, rt));
    expect(err.code).toBe('write-protected');
    expect(err.message).toMatch(/read-out protected/);
    expect(err.hint).toMatch(/erase its entire flash/);
    expect(err.hint).toContain(`unprotect=${UNPROTECT_CONSENT}`);
    expect(err.details.protection).toBe('readout');
    // The UI offers the consent from the typed action, not from details.
    expect(err.action).toEqual({ kind: 'consent-needed', option: 'unprotect', value: UNPROTECT_CONSENT });
    expect(sim.rdp).toBe(true);
    expect(sim.memory('flash')[0]).toBe(0x42);
    await driver.connect();
    await driver.identify().catch(() => {});
    await expect((driver as Stm32UsartDriver).readoutUnprotect('yes')).rejects.toThrow(/explicit consent/);
  });

  it('removes read-out protection with consent, then flashes', async () => {
    const { driver, sim, rt, logs } = await setup({ variant: 'rdp', targetId: 'stm32f103c8', ctxOptions: { unprotect: UNPROTECT_CONSENT } });
    sim.memory('flash').fill(0x42, 0, 0x10000);
    const image = randomImage(1024);
    const report = await runJob(driver, image, {}, rt);
    expect(report.verified).toBe(true);
    expect(sim.rdp).toBe(false);
    expect(sim.memory('flash')[0x8000]).toBe(0xff); // the ROM erased everything
    expect(logs.join('\n')).toMatch(/erases the whole flash/);
    expect(sim.stats.unitErases).toBe(0); // no page needed erasing after the wipe
  });

  it('sets and clears read-out and write protection (each resets the chip)', async () => {
    const { driver, sim } = await setup({ targetId: 'stm32f103c8' });
    const d = driver as Stm32UsartDriver;
    await d.connect();
    await d.identify();
    await d.writeProtect([0, 1]);
    expect([...sim.wrp]).toEqual([0, 1]);
    await d.writeUnprotect();
    expect(sim.wrp.size).toBe(0);
    await d.readoutProtect();
    expect(sim.rdp).toBe(true);
    expect(sim.stats.boots).toBe(4);
    await d.readoutUnprotect(UNPROTECT_CONSENT);
    expect(sim.rdp).toBe(false);
  });

  it('follows the host rate with auto-baud (57600)', async () => {
    const controller = new AbortController();
    const dev = await openVirtualDevice('stm32-usart', { clock: systemClock, targetId: 'stm32f103c8' });
    const driver = createDriver({ stream: dev.stream, clock: systemClock, log: () => {}, signal: controller.signal, baudRate: 57600 });
    const report = await runJob(driver, randomImage(256), {}, { clock: systemClock, signal: controller.signal, emit: () => {} });
    expect(report.device.baudRate).toBe(57600);
    expect(report.verified).toBe(true);
    expect(Cmd.GET).toBe(0);
  });
});
