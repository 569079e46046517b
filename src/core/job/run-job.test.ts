import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import type { JobEvent } from '../../shared/events';
import { createImage } from '../image/memory-image';
import { systemClock } from '../../transports/clock';
import type { Driver } from './driver-api';
import { runJob, runRead } from './run-job';

/** A device that is just memory, with hooks to make reads lie; enough to test the loop itself. */
function memoryDriver(opts: { corruptReads?: number; garble?: (address: number, out: Uint8Array) => void } = {}) {
  const flash = new Uint8Array(4096).fill(0xff);
  const calls: string[] = [];
  let corruptReads = opts.corruptReads ?? 0;
  const driver: Driver = {
    async connect() {
      calls.push('connect');
    },
    async identify() {
      calls.push('identify');
      return {
        device: { id: '00', name: 'Test part' },
        memories: [{ name: 'flash', base: 0, size: 4096, pageSize: 64, reserved: [{ start: 3840, end: 4096, what: 'the boot block' }] }],
      };
    },
    constraints: () => ({ pageSize: 64, maxBlock: 128, fill: 0xff }),
    async writeBlock(_m, address, data) {
      calls.push(`write ${address}+${data.length}`);
      flash.set(data, address);
    },
    async readBlock(_m, address, length) {
      calls.push(`read ${address}+${length}`);
      const out = flash.slice(address, address + length);
      if (corruptReads-- > 0) out[0]! ^= 0x01;
      opts.garble?.(address, out);
      return out;
    },
    async close() {
      calls.push('close');
    },
  };
  return { driver, flash, calls };
}

const rt = (events: JobEvent[] = []) => ({ clock: systemClock, signal: new AbortController().signal, emit: (e: JobEvent) => void events.push(e) });
const image = (length: number, address = 0) =>
  createImage('t', [{ memory: 'flash', address, data: Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff) }]);

describe('runJob', () => {
  it('pads to pages, joins pages up to maxBlock, verifies and closes', async () => {
    const { driver, calls } = memoryDriver();
    const report = await runJob(driver, image(200, 10), {}, rt());
    expect(report).toMatchObject({ verified: true, bytesWritten: 256, bytesVerified: 256, bytesSkipped: 0, verifiedBy: 'read-back' });
    expect(calls).toEqual(['connect', 'identify', 'write 0+128', 'write 128+128', 'read 0+128', 'read 128+128', 'close']);
  });

  it('refuses bytes in a reserved range before writing anything', async () => {
    const { driver, calls } = memoryDriver();
    const err = await runJob(driver, image(64, 3800), {}, rt()).catch((e: unknown) => e);
    expect((err as FlashError).code).toBe('image-out-of-range');
    expect((err as FlashError).message).toContain('the boot block');
    expect(calls.some((c) => c.startsWith('write'))).toBe(false);
  });

  it('re-reads only the failing piece of a mismatching block: a garbled copy is not a bad device', async () => {
    const { driver, calls } = memoryDriver({ corruptReads: 1 });
    expect((await runJob(driver, image(128), {}, rt())).verified).toBe(true);
    // One full read, then the first 64-byte piece twice until two reads agree; never the whole block again.
    expect(calls.filter((c) => c.startsWith('read'))).toEqual(['read 0+128', 'read 0+64', 'read 0+64']);
  });

  it('writes a block again when the chip holds other bytes, and verifies it again', async () => {
    const twice = memoryDriver({ corruptReads: 2 });
    expect((await runJob(twice.driver, image(128), {}, rt())).verified).toBe(true);
    expect(twice.calls.filter((c) => c.startsWith('write'))).toEqual(['write 0+128', 'write 0+128']);
  });

  it('names the chip when two reads agree on other bytes than the image, even after writing again', async () => {
    const twice = memoryDriver({ garble: (address, out) => void (address === 0 && (out[0]! ^= 0x01)) });
    const err = await runJob(twice.driver, image(128), {}, rt()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).code).toBe('verify-mismatch');
    expect((err as FlashError).message).toBe('Verify failed: the chip holds 0x01 at 0x00000000 where the image has 0x00 (read twice the same).');
    expect((err as FlashError).details).toMatchObject({ address: 0, expected: '0x00', actual: '0x01', verdict: 'chip' });
  });

  it('blames the line when no two reads of a piece agree, and never passes a chip that holds other data', async () => {
    let n = 0;
    const noisy = memoryDriver({ garble: (_a, out) => void (out[5]! ^= 1 << (n++ % 8)) });
    const err = await runJob(noisy.driver, image(128), {}, rt()).catch((e: unknown) => e);
    expect((err as FlashError).code).toBe('noisy-line');
    expect((err as FlashError).message).toContain('the line garbled the read-back; the chip is probably fine');
    // A wrong byte in the chip behind a line that garbles every other read: still the chip's fault.
    let k = 0;
    const bad = memoryDriver({
      garble: (address, out) => {
        if (address <= 70 && 70 < address + out.length) out[70 - address] = 0x8d;
        if (k % 2 === 0) out[1]! ^= 1 << (k % 8);
        k++;
      },
    });
    const wrong = await runJob(bad.driver, image(128), {}, rt()).catch((e: unknown) => e);
    expect((wrong as FlashError).code).toBe('verify-mismatch');
    expect((wrong as FlashError).details).toMatchObject({ address: 70, actual: '0x8D', verdict: 'chip' });
  });

  it('refuses erase together with skip-unchanged before connecting', async () => {
    const { driver, calls } = memoryDriver();
    const err = await runJob(driver, image(64), { erase: true, skipUnchanged: true }, rt()).catch((e: unknown) => e);
    expect((err as FlashError).code).toBe('invalid-argument');
    expect(calls).toEqual(['close']);
  });

  it('reports a job without verify as not verified', async () => {
    const { driver, calls } = memoryDriver();
    const report = await runJob(driver, image(64), { verify: false }, rt());
    expect(report).toMatchObject({ verified: false, bytesVerified: 0 });
    expect(calls.some((c) => c.startsWith('read'))).toBe(false);
  });
});

describe('job hooks', () => {
  it('accept refuses the identified device before anything is written, and the error names the phase', async () => {
    const { driver, calls } = memoryDriver();
    const seen: string[] = [];
    const err = await runJob(driver, image(64), {}, {
      ...rt(),
      hooks: {
        accept: (found) => {
          seen.push(found.device.id);
          throw new FlashError('wrong-target', 'Not the recipe\'s part.');
        },
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual(['00']);
    expect(err).toMatchObject({ code: 'wrong-target', phase: 'identify' });
    expect(calls).toEqual(['connect', 'identify', 'close']);
  });

  it('accept also guards erase and read jobs', async () => {
    const { driver, calls } = memoryDriver();
    const refuse = { accept: () => Promise.reject(new FlashError('wrong-target', 'No.')) };
    const err = await runRead(driver, 'flash', { length: 64 }, { ...rt(), hooks: refuse }).catch((e: unknown) => e);
    expect((err as FlashError).code).toBe('wrong-target');
    expect(calls.some((c) => c.startsWith('read'))).toBe(false);
  });

  it('prepare replaces the image for the device that answered, and what it returns is validated and written', async () => {
    const { driver, flash } = memoryDriver();
    const built = image(64, 256);
    const report = await runJob(driver, createImage('empty', []), {}, { ...rt(), hooks: { prepare: async (found) => (found.device.id === '00' ? built : createImage('x', [])) } });
    expect(report.bytesWritten).toBe(64);
    expect(Array.from(flash.subarray(256, 320))).toEqual(Array.from(built.segments[0]!.data));

    const { driver: again, calls } = memoryDriver();
    const err = await runJob(again, image(64), {}, { ...rt(), hooks: { prepare: () => image(64, 3800) } }).catch((e: unknown) => e);
    expect((err as FlashError).code).toBe('image-out-of-range'); // the reserved boot block, checked after prepare
    expect(calls.some((c) => c.startsWith('write'))).toBe(false);
  });

  it("runs the driver's prepareImage after the hook, and verifies against its result", async () => {
    const { driver, flash } = memoryDriver();
    driver.prepareImage = (img) => ({ ...img, segments: img.segments.map((s) => ({ ...s, data: s.data.map((b) => b ^ 0xff) })) });
    const report = await runJob(driver, image(64), {}, rt());
    expect(report.verified).toBe(true);
    expect(flash[1]).toBe(7 ^ 0xff);
  });
});
