import { describe, expect, it } from 'vitest';
import { findSpiNorChip } from '../../chips/spi-nor/index';
import type { SpiNorChip } from '../../chips/spi-nor/types';
import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import { runErase, runJob, runRead } from '../../core/job/run-job';
import { seededRandom, withFaults } from '../../core/io/faults';
import { createUartPair, FORMAT_8N1 } from '../../core/io/uart-link';
import { FlashError } from '../../shared/errors';
import type { JobEvent } from '../../shared/events';
import type { FaultSpec } from '../../shared/model';
import { systemClock } from '../../transports/clock';
import { createDriver } from './driver';
import { FlashModel, type FlashModelOptions } from './flash-model';
import { S_CMD } from './protocol';
import { createSimulator, PROGRAMMERS, SerprogSimulator } from './simulator';
import { insertionOutcome, newSocketRecord, recordInsertion } from '../../core/production/socket';
import { parseTarget } from './target';

const clock = systemClock;

function bytes(length: number, seed = 1): Uint8Array {
  const rnd = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
}

function image(data: Uint8Array, address = 0): FirmwareImage {
  return createImage('test', [{ memory: 'flash', address, data }]);
}

/**
 * A simulated programmer + part on an in-memory UART, and our driver on the other end. Built here
 * rather than through the registry, so these tests depend on this driver only.
 */
function setup(
  opts: { sim?: string; variant?: string; targetId?: string; fault?: FaultSpec; chip?: SpiNorChip; model?: FlashModelOptions } = {},
) {
  const sim = opts.chip
    ? new SerprogSimulator(clock, PROGRAMMERS[opts.variant ?? 'pico-serprog']!, new FlashModel(opts.chip, opts.model))
    : createSimulator({ clock, targetId: opts.sim ?? 'W25Q16', variant: opts.variant });
  const { host, device } = createUartPair(clock, { ...FORMAT_8N1, baudRate: sim.baudRate });
  sim.attach(device);
  const stream = opts.fault ? withFaults(host, opts.fault, clock) : host;
  const controller = new AbortController();
  const logs: string[] = [];
  const events: JobEvent[] = [];
  const driver = createDriver({ stream, clock, log: (level, m) => logs.push(`${level}: ${m}`), signal: controller.signal, targetId: opts.targetId });
  const rt = { clock, signal: controller.signal, emit: (e: JobEvent) => events.push(e) };
  return { sim, flash: sim.flash!, driver, rt, logs, events, stream };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('serprog driver against the pico-serprog simulator (W25Q16)', () => {
  it('writes, verifies and reads back an image with an odd start and tail', async () => {
    const { driver, flash, rt, events } = setup({ targetId: 'W25Q16' });
    const data = bytes(20_000, 2);
    const report = await runJob(driver, image(data, 0x3100), {}, rt);
    expect(report).toMatchObject({ verified: true, device: { id: 'ef4015', name: 'W25Q16' } });
    expect(report.device.bootloader).toMatch(/pico-serprog.*SPI 16 MHz/);
    // Whole 4 KiB sectors 0x3000..0x7FFF, padded with FFh around the image.
    expect(report.bytesWritten).toBe(0x5000);
    expect(same(flash.memory.subarray(0x3100, 0x3100 + data.length), data)).toBe(true);
    expect(flash.memory.subarray(0x3000, 0x3100).every((b) => b === 0xff)).toBe(true);
    expect(flash.memory.subarray(0x3100 + data.length, 0x8000).every((b) => b === 0xff)).toBe(true);
    // Erases stayed inside the block: 0x3000-0x7FFF needs 4K x5 (no aligned 32K fits).
    expect(flash.erases.every((e) => e.address >= 0x3000 && e.address + e.size <= 0x8000)).toBe(true);
    const phases = events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(['connect', 'identify', 'validate', 'write', 'verify', 'finish']);

    const again = setup({ targetId: 'W25Q16' });
    again.flash.memory.set(flash.memory);
    const read = await runRead(again.driver, 'flash', { address: 0x3100, length: data.length }, again.rt);
    expect(same(read.data, data)).toBe(true);
    expect(read.fill).toBe(0xff);
  });

  it('erases a 64 KiB-aligned block with one 64 KiB erase and skips blank pages', async () => {
    const { driver, flash, rt } = setup({});
    const data = new Uint8Array(0x10000).fill(0xff);
    data.set(bytes(1000, 3), 0x8000);
    flash.memory.fill(0x00, 0x10000, 0x20000); // old contents everywhere
    const report = await runJob(driver, image(data, 0x10000), {}, rt);
    expect(report.verified).toBe(true);
    expect(flash.erases).toEqual([{ address: 0x10000, size: 0x10000 }]);
    expect(flash.pagesProgrammed).toBe(4); // 1000 bytes at a page boundary: 4 pages, the other 252 stay erased
    expect(flash.memory[0x10000]).toBe(0xff);
  });

  it('with skip-unchanged, erases and programs only the one 4 KiB sector that differs', async () => {
    const { driver, flash, rt } = setup({ targetId: 'W25Q16' });
    const data = bytes(64 * 1024, 4);
    flash.memory.set(data, 0);
    flash.memory[0x5123]! ^= 0x40;
    const report = await runJob(driver, image(data), { skipUnchanged: true }, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 4096, bytesVerified: 4096, bytesSkipped: 60 * 1024 });
    expect(flash.erases).toEqual([{ address: 0x5000, size: 4096 }]);
    expect(flash.pagesProgrammed).toBe(16);
    expect(same(flash.memory.subarray(0, data.length), data)).toBe(true);
  });

  it('with skip-unchanged on a blank part, programs without erasing (the read showed it blank)', async () => {
    const { driver, flash, rt } = setup({ targetId: 'W25Q16' });
    const data = bytes(8192, 14);
    const report = await runJob(driver, image(data, 0x40000), { skipUnchanged: true }, rt);
    expect(report).toMatchObject({ verified: true, bytesWritten: 8192 });
    expect(flash.erases).toEqual([]);
    expect(same(flash.memory.subarray(0x40000, 0x42000), data)).toBe(true);
  });

  it('refuses a part that is not the chosen one, before anything is written', async () => {
    const { driver, flash, sim, rt } = setup({ sim: 'MX25L6406E', targetId: 'W25Q16' });
    const err = await failure(runJob(driver, image(bytes(4096)), {}, rt));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toContain('MX25L6406E');
    expect(err.details).toMatchObject({ expected: 'ef4015', actual: 'c22017' });
    expect(err.hint).toMatch(/nothing was written/);
    expect(insertionOutcome(err)).toBe('wrong-id');
    expect(flash.erases).toEqual([]);
    expect(flash.pagesProgrammed).toBe(0);
    expect(flash.memory.every((b) => b === 0xff)).toBe(true);
    expect(sim.commandCounts.get(S_CMD.O_SPIOP)).toBeLessThan(10); // ID reads only
  });

  it.each([
    ['none', 'ffffff'],
    ['none+low', '000000'],
  ])('reports an empty socket (%s) as "no chip detected"', async (simTarget, id) => {
    const { driver, rt } = setup({ sim: simTarget, targetId: 'W25Q16' });
    const err = await failure(runJob(driver, image(bytes(256)), {}, rt));
    expect(err.code).toBe('no-chip');
    expect(err.message).toMatch(/No chip detected/);
    expect(err.message).toContain(id);
    expect(err.hint).toMatch(/orientation.*contact/);
    expect(insertionOutcome(err)).toBe('contact');
  });

  it('refuses a programmer that has no SPI bus, saying what it has', async () => {
    const { driver, rt } = setup({ variant: 'no-spi' });
    const err = await failure(runJob(driver, image(bytes(256)), {}, rt));
    expect(err.code).toBe('unsupported');
    expect(err.message).toMatch(/"lpc-serprog" has no SPI bus \(it reports LPC, FWH\)/);
  });

  it('reports "no programmer answered" within a few seconds when nothing answers', async () => {
    const { driver, rt } = setup({ fault: { seed: 1, dropRate: 1 } });
    const started = performance.now();
    const err = await failure(runJob(driver, image(bytes(256)), {}, rt));
    expect(err.code).toBe('no-sync');
    expect(err.message).toMatch(/No serprog programmer answered/);
    expect(err.hint).toMatch(/serprog firmware/);
    expect(performance.now() - started).toBeLessThan(4000);
    expect(insertionOutcome(err)).toBeNull(); // not the socket's fault
  });

  it('finds the part without a selection, and logs a 1.8 V warning for 1.8 V parts', async () => {
    const { driver, rt, logs } = setup({ sim: 'W25Q32DW' });
    const read = await runRead(driver, 'flash', { address: 0, length: 4096 }, rt);
    expect(read.identified.device).toMatchObject({ name: 'W25Q32DW', id: 'ef6016' });
    expect(logs.join('\n')).toMatch(/1.8 V adapter/);
  });

  it('writes through the small-buffer UART programmer without overrunning it', async () => {
    const { driver, flash, sim, rt } = setup({ variant: 'uart', targetId: 'GD25Q16', sim: 'GD25Q16' });
    const data = bytes(6000, 5);
    const report = await runJob(driver, image(data), {}, rt);
    expect(report.verified).toBe(true);
    expect(report.device.bootloader).toMatch(/serprog-uart.*SPI 8 MHz/);
    expect(same(flash.memory.subarray(0, data.length), data)).toBe(true);
    expect(sim.overruns).toBe(0);
  });

  it('recovers pages a slower-than-measured part ignored, and still writes everything', async () => {
    const chip = { ...findSpiNorChip('W25Q16')!, program: { typMs: 0.4, maxMs: 5 } };
    const { driver, flash, logs } = setup({ chip, targetId: 'W25Q16' });
    await driver.connect();
    await driver.identify();
    await driver.writeBlock('flash', 0, bytes(4096, 6));
    chip.program = { typMs: 1.5, maxMs: 5 }; // the part slows down after the padding was measured
    const second = bytes(8192, 7);
    await driver.writeBlock('flash', 0x10000, second);
    expect(same(flash.memory.subarray(0x10000, 0x12000), second)).toBe(true);
    expect(same(await driver.readBlock!('flash', 0x10000, 8192), second)).toBe(true);
    expect(logs.join('\n')).toMatch(/pages found the part busy; padding now \d+ bytes/);
    await driver.close();
  });

  it('names the first differing address when verify fails', async () => {
    const { driver, flash, rt } = setup({ targetId: 'W25Q16' });
    const transfer = flash.transfer.bind(flash);
    // A stuck-at-1 bit: the cell at 0x1234 cannot be programmed to 0 in bit 0.
    flash.transfer = (tx, n, start, byteMs) => {
      const out = transfer(tx, n, start, byteMs);
      flash.memory[0x1234]! |= 0x01;
      return out;
    };
    const data = bytes(8192, 8);
    data[0x1234] = 0xfe;
    const err = await failure(runJob(driver, image(data), {}, rt));
    expect(err.code).toBe('verify-mismatch');
    expect(err.message).toMatch(/holds 0xFF at 0x0*1234 where the image has 0xFE/i);
  });

  it('handles a part with 64 KiB sectors only, capping a faster requested clock to its READ limit', async () => {
    const { driver, flash, rt } = setup({ sim: 'M25P16', targetId: 'M25P16+spi=40M' });
    const data = bytes(3000, 13);
    flash.memory.fill(0x00, 0, 0x10000);
    const report = await runJob(driver, image(data, 0x100), {}, rt);
    expect(report.device.bootloader).toMatch(/SPI 20 MHz/);
    expect(report.bytesWritten).toBe(0x10000); // the whole sector is the smallest unit
    expect(flash.erases).toEqual([{ address: 0, size: 0x10000 }]);
    expect(same(flash.memory.subarray(0x100, 0x100 + data.length), data)).toBe(true);
  });

  it('refuses an image larger than the part', async () => {
    const { driver, flash, rt } = setup({ sim: 'W25Q40', targetId: 'W25Q40' });
    const err = await failure(runJob(driver, image(bytes(16), 512 * 1024 - 8), {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(flash.erases).toEqual([]);
  });
});

describe('block protection', () => {
  it('refuses a protected part without consent, and writes nothing', async () => {
    const { driver, flash, rt, logs } = setup({ sim: 'W25Q16+protected', targetId: 'W25Q16' });
    const err = await failure(runJob(driver, image(bytes(4096)), {}, rt));
    expect(err.code).toBe('write-protected');
    expect(err.message).toMatch(/write-protected \(SR1=0x1C.*nothing was written/);
    expect(err.hint).toContain('W25Q16+unprotect');
    expect(logs.join('\n')).toMatch(/block protection set/);
    expect(flash.sr1 & 0x1c).toBe(0x1c);
    expect(flash.erases).toEqual([]);
  });

  it('clears the protection bits with consent (+unprotect), then writes and verifies', async () => {
    const { driver, flash, rt, logs } = setup({ sim: 'W25Q16+protected', targetId: 'W25Q16+unprotect' });
    const data = bytes(4096, 9);
    const report = await runJob(driver, image(data, 0x1f0000), {}, rt);
    expect(report.verified).toBe(true);
    expect(flash.sr1 & 0x1c).toBe(0);
    expect(logs.join('\n')).toMatch(/Block protection cleared on W25Q16 \(status SR1=0x1C → SR1=0x00\)/);
    expect(same(flash.memory.subarray(0x1f0000, 0x1f1000), data)).toBe(true);
  });

  it('says so when the WP# pin locks the status register', async () => {
    const { driver, flash, rt } = setup({ sim: 'W25Q16+wp', targetId: '+unprotect' });
    const err = await failure(runJob(driver, image(bytes(4096)), {}, rt));
    expect(err.message).toMatch(/kept its write protection/);
    expect(err.hint).toMatch(/WP# pin/);
    expect(flash.erases).toEqual([]);
  });

  it('reads a protected part without consent (read-only jobs need none)', async () => {
    const { driver, flash, rt } = setup({ sim: 'W25Q16+protected' });
    flash.memory.set([1, 2, 3], 0x100);
    const read = await runRead(driver, 'flash', { address: 0x100, length: 3 }, rt);
    expect(Array.from(read.data)).toEqual([1, 2, 3]);
  });
});

describe('parts beyond the table and beyond 16 MiB', () => {
  it('programs an unknown part from its SFDP tables', async () => {
    const { driver, flash, rt, logs } = setup({ sim: 'GD25Q32+unknown' });
    const data = bytes(5000, 10);
    const report = await runJob(driver, image(data, 0x200000), {}, rt);
    expect(report.device).toMatchObject({ id: 'ab4016', name: 'SFDP-AB4016' });
    expect(logs.join('\n')).toMatch(/not in webprog's table; using its SFDP tables \(4194304 bytes, erase 4K\/32K\/64K\)/);
    expect(same(flash.memory.subarray(0x200000, 0x200000 + data.length), data)).toBe(true);
  });

  it('refuses an unknown part without SFDP', async () => {
    const { driver, rt } = setup({ sim: 'W25Q16+unknown+nosfdp' });
    const err = await failure(runJob(driver, image(bytes(16)), {}, rt));
    expect(err.code).toBe('unsupported');
    expect(err.message).toMatch(/Unknown SPI flash part \(ID ab4015\) without SFDP/);
  });

  it.each([
    ['W25Q256', '4-enter'],
    ['W25Q256JV-M', '4-native'],
  ])('writes above 16 MiB on %s (%s addressing) and leaves 4-byte mode on close', async (name) => {
    const { driver, flash, rt } = setup({ sim: name, targetId: name });
    const data = bytes(8192, 11);
    const at = 0x1ff0000;
    const report = await runJob(driver, image(data, at), {}, rt);
    expect(report.verified).toBe(true);
    expect(same(flash.memory.subarray(at, at + data.length), data)).toBe(true);
    // The same offset in the lower 16 MiB (where 3-byte addressing would have landed) is untouched.
    expect(flash.memory.subarray(at - 0x1000000, at - 0x1000000 + data.length).every((b) => b === 0xff)).toBe(true);
    expect(flash.fourByteMode).toBe(false);
  });

  it('wakes a part left in deep power-down', async () => {
    const { driver, rt } = setup({ sim: 'W25Q80+dp' });
    const read = await runRead(driver, 'flash', { address: 0, length: 16 }, rt);
    expect(read.identified.device.name).toBe('W25Q80');
  });
});

describe('chip erase and blank check', () => {
  it('erases the whole part with chip erase, and a read of all of it is blank', async () => {
    const { driver, flash, rt } = setup({ sim: 'GD25Q10', targetId: 'GD25Q10' });
    flash.memory.fill(0x5a);
    const identified = await runErase(driver, rt);
    expect(identified.device.name).toBe('GD25Q10');
    expect(flash.chipErases).toBe(1);
    const again = setup({ sim: 'GD25Q10' });
    again.flash.memory.set(flash.memory);
    const read = await runRead(again.driver, 'flash', {}, again.rt);
    expect(read.data.length).toBe(128 * 1024);
    expect(read.data.every((b) => b === read.fill)).toBe(true);
  });

  it('erase then write does not erase again what the chip erase just cleared', async () => {
    const { driver, flash, rt } = setup({ sim: 'GD25Q10', targetId: 'GD25Q10' });
    flash.memory.fill(0);
    const report = await runJob(driver, image(bytes(4096, 12)), { erase: true }, rt);
    expect(report.verified).toBe(true);
    expect(flash.chipErases).toBe(1);
    expect(flash.erases).toEqual([]);
  });
});

describe('simulated SPI NOR part (datasheet semantics)', () => {
  const w25q16 = findSpiNorChip('W25Q16')!;
  const op = (...b: number[]) => Uint8Array.of(...b);
  const byteMs = 0.0005; // 16 MHz

  it('needs WEL for a page program, wraps inside the page, only clears bits, and is busy for tPP', () => {
    const m = new FlashModel(w25q16);
    m.transfer(op(0x02, 0, 0x01, 0x00, 0x00), 0, 0, byteMs); // no WREN: ignored
    expect(m.memory[0x100]).toBe(0xff);
    m.transfer(op(0x06), 0, 1, byteMs);
    expect(m.transfer(op(0x05), 1, 2, byteMs)[0]).toBe(0x02); // WEL
    // 4 bytes from 0x1FE: two at the end of the page, two wrapping to its start (0x100).
    m.transfer(op(0x02, 0x00, 0x01, 0xfe, 0xa1, 0xa2, 0xa3, 0xa4), 0, 3, byteMs);
    expect(Array.from(m.memory.subarray(0x1fe, 0x200))).toEqual([0xa1, 0xa2]);
    expect(Array.from(m.memory.subarray(0x100, 0x102))).toEqual([0xa3, 0xa4]);
    expect(m.memory[0x200]).toBe(0xff);
    expect(m.transfer(op(0x05), 1, 3.01, byteMs)[0]! & 0x03).toBe(0x03); // WIP + WEL while programming
    m.transfer(op(0x06), 0, 3.02, byteMs); // WREN while busy: ignored
    const after = m.busyUntil + 0.001;
    expect(m.transfer(op(0x05), 1, after, byteMs)[0]).toBe(0x00); // done, WEL cleared
    m.transfer(op(0x06), 0, after, byteMs);
    m.transfer(op(0x02, 0x00, 0x01, 0xfe, 0x5f), 0, after + 0.01, byteMs);
    expect(m.memory[0x1fe]).toBe(0xa1 & 0x5f); // programming ANDs
  });

  it('erases only with WEL and only outside the protected range', () => {
    const m = new FlashModel(w25q16, { protected: true });
    m.memory.fill(0);
    m.transfer(op(0x06), 0, 0, byteMs);
    m.transfer(op(0x20, 0x1f, 0xf0, 0x00), 0, 0.01, byteMs); // top sector: protected (BP=7 covers all)
    expect(m.memory[0x1ff000]).toBe(0);
    expect(m.erases).toEqual([]);
    m.transfer(op(0x06), 0, 1, byteMs);
    m.transfer(op(0x01, 0x04), 0, 1.01, byteMs); // WRSR: BP0 only, top 1/64 (32 KiB) protected
    const t = m.busyUntil + 0.001;
    m.transfer(op(0x06), 0, t, byteMs);
    m.transfer(op(0x20, 0x00, 0x10, 0x00), 0, t + 0.01, byteMs);
    expect(m.memory.subarray(0x1000, 0x2000).every((b) => b === 0xff)).toBe(true);
    expect(m.protectedRange()).toEqual([0x1f8000, 0x200000]);
  });

  it('answers RDID, SFDP (with a read-phase dummy byte, as flashrom sends it) and nothing but FFh for unknown opcodes', () => {
    const m = new FlashModel(w25q16);
    expect(Array.from(m.transfer(op(0x9f), 3, 0, byteMs))).toEqual([0xef, 0x40, 0x15]);
    expect(Array.from(m.transfer(op(0x5a, 0, 0, 0), 5, 0, byteMs))).toEqual([0xff, 0x53, 0x46, 0x44, 0x50]);
    expect(Array.from(m.transfer(op(0x5a, 0, 0, 0, 0), 4, 0, byteMs))).toEqual([0x53, 0x46, 0x44, 0x50]);
    expect(Array.from(m.transfer(op(0x77), 2, 0, byteMs))).toEqual([0xff, 0xff]);
  });
});

describe('part selection string and socket bookkeeping', () => {
  it('parses CHIP+options', () => {
    const t = parseTarget('W25Q16+unprotect+spi=8M+cs=1');
    expect(t.chip).toBe('W25Q16');
    expect(t.options.has('unprotect')).toBe(true);
    expect(t.spiHz).toBe(8_000_000);
    expect(t.cs).toBe(1);
    expect(parseTarget('auto').chip).toBeUndefined();
    expect(parseTarget(undefined).options.size).toBe(0);
  });

  it('counts insertions and warns near the socket’s rated life and on frequent contact failures', () => {
    let rec = newSocketRecord(100, 0.9);
    let warning: string | null = null;
    for (let i = 0; i < 89; i++) ({ record: rec, warning } = recordInsertion(rec, 'ok'));
    expect(warning).toBeNull();
    ({ record: rec, warning } = recordInsertion(rec, 'wrong-id'));
    expect(rec).toMatchObject({ insertions: 90, idFailures: 1 });
    expect(warning).toMatch(/90 of its rated 100/);
    let worn = newSocketRecord(10_000);
    for (let i = 0; i < 30; i++) ({ record: worn, warning } = recordInsertion(worn, i % 5 === 0 ? 'contact' : 'ok'));
    expect(warning).toMatch(/6 of 30 insertions had contact failures/);
  });
});
