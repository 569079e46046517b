import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../core/bytes/sha256';
import { md5 } from '../../core/bytes/md5';
import { toHex } from '../../core/bytes/hex';
import { buildEspImage } from '../../../tests/support/image-fixtures';
import { parseEspImage } from '../../core/image/esp-image';
import { createImage, type Segment } from '../../core/image/memory-image';
import { runErase, runJob, runRead } from '../../core/job/run-job';
import { systemClock } from '../../transports/clock';
import { openVirtualDevice } from '../../transports/virtual';
import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import { randomBytes } from '../../../tests/support/tools';
import { ESP_CHIPS } from './chips/index';
import { createDriver, type EspRomOptions } from './driver';
import { foreignImage, applyFlashParams } from './image-header';
import { decodeRequest, encodeRequest, Command, words } from './protocol';
import type { EspRomSimulator } from './simulator';
import { SlipDecoder, slipEncode } from './slip';
import { base64ToBytes, loadStub } from './stub';

const FAST = 921600;

async function setup(
  opts: { part?: string; variant?: string; targetId?: string; baudRate?: number; fault?: FaultSpec; options?: EspRomOptions; ctxOptions?: Record<string, string> } = {},
) {
  const dev = await openVirtualDevice('esp-rom', { clock: systemClock, targetId: opts.part ?? 'esp32', variant: opts.variant, fault: opts.fault });
  const logs: string[] = [];
  const controller = new AbortController();
  const driver = createDriver(
    {
      stream: dev.stream,
      clock: systemClock,
      log: (level, m) => logs.push(`${level}: ${m}`),
      signal: controller.signal,
      targetId: opts.targetId,
      baudRate: opts.baudRate ?? FAST,
      ...(opts.ctxOptions ? { options: opts.ctxOptions } : {}),
    },
    opts.options,
  );
  const rt = { clock: systemClock, signal: controller.signal, emit: () => {} };
  return { driver, sim: dev.simulator as EspRomSimulator, logs, rt, stream: dev.stream };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

/** Firmware-like bytes: half repeated structure (compresses), half noise (does not). */
function halfCompressible(length: number, seed: number): Uint8Array {
  const noise = randomBytes(length, seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i >> 8) % 2 === 0 ? noise[i]! : (i * 7) & 0x3f;
  return out;
}

function appImage(chipId: number, size: number, seed = 5): Uint8Array {
  return buildEspImage({ chipId, segments: [{ address: 0x3f400020, data: halfCompressible(size, seed) }], sha256 });
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('SLIP and packets', () => {
  it('escapes END and ESC and decodes across chunk boundaries, dropping a frame with a bad escape', () => {
    const payload = Uint8Array.of(1, 0xc0, 2, 0xdb, 3);
    const wire = slipEncode(payload);
    expect(Array.from(wire)).toEqual([0xc0, 1, 0xdb, 0xdc, 2, 0xdb, 0xdd, 3, 0xc0]);
    const d = new SlipDecoder();
    const events = [...d.push(wire.subarray(0, 4)), ...d.push(wire.subarray(4)), ...d.push(Uint8Array.of(0xc0, 9, 0xdb, 0x01, 0xc0)), ...d.push(Uint8Array.from(Buffer.from('boot:0x13\r\n')))];
    const packets = events.filter((e) => e.kind === 'packet');
    expect(packets).toHaveLength(1);
    expect(Array.from(packets[0]!.data)).toEqual(Array.from(payload));
    expect(events.some((e) => e.kind === 'noise' && Buffer.from(e.data).toString().includes('boot:0x13'))).toBe(false); // inside a frame until END
  });

  it('round-trips a request and rejects a size that does not match', () => {
    const req = encodeRequest(Command.READ_REG, words(0x40001000));
    expect(decodeRequest(req)).toMatchObject({ command: Command.READ_REG });
    expect(decodeRequest(req.subarray(0, req.length - 1))).toBeNull();
  });

  it('decodes base64 as the stub files need', () => {
    expect(Array.from(base64ToBytes('AAEC/w=='))).toEqual([0, 1, 2, 255]);
  });
});

describe('chip table and stub images', () => {
  it('has one record per family with distinct magic values and chip ids, and a stub whose entry lies in its text', async () => {
    const magics = ESP_CHIPS.flatMap((c) => c.magicValues);
    expect(new Set(magics).size).toBe(magics.length);
    const ids = ESP_CHIPS.map((c) => c.imageChipId).filter((id) => id !== null);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.fromEntries(ESP_CHIPS.map((c) => [c.id, c.bootloaderOffset]))).toMatchObject({ esp32: 0x1000, esp32s2: 0x1000, esp32s3: 0, esp32c3: 0, esp32c5: 0x2000, esp32p4: 0x2000, esp8266: 0 });
    for (const chip of ESP_CHIPS) {
      const stub = await loadStub(chip.stub);
      expect(stub.text.length).toBeGreaterThan(1000);
      expect(stub.entry).toBeGreaterThanOrEqual(stub.textStart);
      expect(stub.entry).toBeLessThan(stub.textStart + stub.text.length);
    }
  });

  it('ships the stub files exactly as esptool-js 0.7.0 has them (provenance: stubs/README.md)', () => {
    const ours = new URL('./stubs/', import.meta.url);
    const theirs = new URL('../../../node_modules/esptool-js/lib/targets/stub_flasher/', import.meta.url);
    const files = readdirSync(ours).filter((f) => f.endsWith('.json'));
    expect(files.length).toBe(11);
    for (const f of files) expect(readFileSync(new URL(f, ours)).equals(readFileSync(new URL(f, theirs))), f).toBe(true);
    expect(JSON.parse(readFileSync(new URL('../../../node_modules/esptool-js/package.json', import.meta.url), 'utf8')).version).toBe('0.7.0');
  });
});

describe('esp-rom driver against the simulator', () => {
  it('writes a bootloader + partition table + app set compressed, verifies by MD5 and reads it back', async () => {
    const { driver, sim, rt, logs } = await setup({ targetId: 'esp32' });
    const boot = appImage(0, 12_000, 1);
    const table = halfCompressible(3072, 2);
    const app = appImage(0, 150_000, 3);
    const segments: Segment[] = [
      { memory: 'flash', address: 0x1000, data: boot },
      { memory: 'flash', address: 0x8000, data: table },
      { memory: 'flash', address: 0x10000, data: app },
    ];
    const report = await runJob(driver, createImage('parts', segments), {}, rt);
    expect(report.verified).toBe(true);
    expect(report.device).toMatchObject({ name: 'ESP32', baudRate: FAST });
    for (const s of segments) expect(same(sim.flash.subarray(s.address, s.address + s.data.length), s.data)).toBe(true);
    expect(sim.flash[0x1000 + boot.length]).toBe(0xff); // padding of the last sector
    expect(sim.stats.overruns).toBe(0);
    expect(sim.stats.blockErases).toBeGreaterThan(0); // 64 KiB regions are erased as blocks
    expect(logs.join('\n')).toContain('Flasher stub running');

    const { driver: d2, rt: rt2 } = await setupOn(sim);
    const read = await runRead(d2, 'flash', { address: 0x10000, length: app.length }, rt2);
    expect(same(read.data, app)).toBe(true);
  });

  it('detects each family by chip id or magic value and reports the flash size', async () => {
    for (const [part, variant] of [
      ['esp32s3', '8MB'],
      ['esp32s2', '2MB'],
      ['esp32c3', undefined],
      ['esp8266', '1MB'],
    ] as const) {
      const { driver, rt } = await setup({ part, variant });
      const read = await runRead(driver, 'flash', { address: 0, length: 16 }, rt);
      const chip = ESP_CHIPS.find((c) => c.id === part)!;
      expect(read.identified.device.name).toBe(chip.name);
      const size = read.identified.memories[0]!.size;
      expect(size).toBe(variant === '8MB' ? 8 << 20 : variant === '2MB' ? 2 << 20 : variant === '1MB' ? 1 << 20 : 4 << 20);
      expect(Array.from(read.data)).toEqual(new Array(16).fill(0xff));
    }
  });

  it('connects through the USB-Serial/JTAG reset sequence on native-USB chips', async () => {
    const { driver, rt } = await setup({ part: 'esp32c3', variant: 'usb-jtag-serial' });
    const read = await runRead(driver, 'flash', { address: 0, length: 4 }, rt);
    expect(read.identified.device.name).toBe('ESP32-C3');
    expect(driver.resetUsed).toBe('usb-jtag-serial');
    expect(driver.port).toBe('usb-serial-jtag');

    // ESP32-S3 on its ROM's USB-OTG CDC port: smaller RAM and flash blocks, same result.
    const otg = await setup({ part: 'esp32s3', variant: 'usb-otg' });
    const data = halfCompressible(40_000, 8);
    const report = await runJob(otg.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data }]), {}, otg.rt);
    expect(report.verified).toBe(true);
    expect(otg.driver.port).toBe('usb-otg');
    expect(same(otg.sim.flash.subarray(0x10000, 0x10000 + data.length), data)).toBe(true);
  });

  it('says "hold BOOT, press RESET" within a few seconds when the board boots its application', async () => {
    const started = performance.now();
    const { driver, rt } = await setup({ variant: 'app,no-io0' });
    const err = await failure(runJob(driver, createImage('t', [{ memory: 'flash', address: 0x10000, data: new Uint8Array(16) }]), {}, rt));
    expect(err.code).toBe('no-sync');
    expect(err.message).toContain('boot mode 0x13');
    expect(err.hint).toMatch(/hold BOOT.*press and release RESET/);
    expect(err.details).toMatchObject({ reason: 'not-download-mode' });
    expect(err.action).toEqual({ kind: 'press-boot', picture: 'esp-boot-reset-buttons' });
    expect(performance.now() - started).toBeLessThan(5000);

    const silent = await setup({ variant: 'app,no-auto-reset' });
    const err2 = await failure(runJob(silent.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data: new Uint8Array(16) }]), {}, silent.rt));
    expect(err2.code).toBe('no-sync');
    expect(err2.hint).toContain('hold BOOT');
  });

  it('refuses the wrong chip, and an image built for another chip, before erasing anything', async () => {
    const chosen = await setup({ targetId: 'esp32s3' });
    const err = await failure(runJob(chosen.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data: appImage(9, 4000) }]), {}, chosen.rt));
    expect(err.code).toBe('wrong-target');
    expect(err.details).toMatchObject({ expected: 'ESP32-S3', actual: 'ESP32' });
    expect(chosen.sim.stats.sectorErases + chosen.sim.stats.blockErases).toBe(0);

    const built = await setup({});
    const s3App = appImage(9, 4000);
    const err2 = await failure(runJob(built.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data: s3App }]), {}, built.rt));
    expect(err2.code).toBe('wrong-target');
    expect(err2.message).toContain('built for ESP32-S3');
    expect(built.sim.stats.sectorErases + built.sim.stats.blockErases).toBe(0);
    expect(built.sim.flash.subarray(0x10000, 0x10000 + 64).every((b) => b === 0xff)).toBe(true);
    expect(foreignImage(0x10000, appImage(0, 1000), ESP_CHIPS[0]!)).toBeNull();
  });

  it('refuses an image larger than the flash on the board before erasing', async () => {
    const { driver, sim, rt } = await setup({ variant: '2MB' });
    const err = await failure(runJob(driver, createImage('t', [{ memory: 'flash', address: 0x1f0000, data: new Uint8Array(0x20000) }]), {}, rt));
    expect(err.code).toBe('image-out-of-range');
    expect(err.message).toContain('0x1FFFFF');
    expect(sim.stats.sectorErases + sim.stats.blockErases).toBe(0);
  });

  it('rewrites a region whose MD5 differs once, and names it when it still differs', async () => {
    const data = halfCompressible(0x20000, 9).map((b) => b & 0x7f); // no 0xFF at the weak cell
    const flaky = await setup({ variant: 'flaky=0x20000' });
    const ok = await runJob(flaky.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data }]), {}, flaky.rt);
    expect(ok.verified).toBe(true);
    expect(flaky.logs.join('\n')).toMatch(/MD5 mismatch at 0x10000.*writing that region again/);
    expect(same(flaky.sim.flash.subarray(0x10000, 0x30000), data)).toBe(true);

    const worn = await setup({ variant: 'stuck=0x20000' });
    const err = await failure(runJob(worn.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data }]), {}, worn.rt));
    expect(err.code).toBe('verify-mismatch');
    expect(err.message).toContain('0x10000–0x2FFFF');
    expect(err.details).toMatchObject({ address: 0x10000, expected: toHex(md5(data)) });
    expect(worn.logs.filter((l) => l.includes('writing that region again'))).toHaveLength(1);
    expect(ok.verifiedBy).toBe('device-digest');
    expect(worn.sim.mode).toBe('stub'); // left in download mode for the next attempt, not reset into a bad app
    expect(ok.verified && flaky.sim.mode).toBe('app'); // a good job ends with the hard reset
  });

  it('reports the port vanishing mid-write as device-lost with the address', async () => {
    const { driver, rt } = await setup({ fault: { seed: 1, disconnectAfterBytes: 40_000 } });
    const err = await failure(runJob(driver, createImage('t', [{ memory: 'flash', address: 0x10000, data: randomBytes(200_000, 4) }]), {}, rt));
    expect(err.code).toBe('device-lost');
    expect(err.details.address).toBeGreaterThanOrEqual(0x10000);
  });

  it('skips unchanged sectors: one changed sector is the only one written', async () => {
    const data = halfCompressible(0x40000, 11);
    const first = await setup({});
    await runJob(first.driver, createImage('t', [{ memory: 'flash', address: 0x10000, data }]), {}, first.rt);
    const changed = data.slice();
    changed[0x23456]! ^= 0x55;
    const { driver, rt } = await setupOn(first.sim);
    const report = await runJob(driver, createImage('t', [{ memory: 'flash', address: 0x10000, data: changed }]), { skipUnchanged: true }, rt);
    expect(report.bytesWritten).toBe(4096);
    expect(report.bytesSkipped).toBe(0x40000 - 4096);
    expect(same(first.sim.flash.subarray(0x10000, 0x50000), changed)).toBe(true);
  });

  it('sets flash mode and size in the bootloader header and recomputes its SHA-256', async () => {
    const boot = appImage(0, 6000, 12);
    const { driver, sim, rt } = await setup({ variant: '8MB', options: { flashMode: 'qio', flashSize: 'detect', flashFreq: '80m' } });
    const fixed = applyFlashParams(0x1000, boot, ESP_CHIPS[0]!, { flashSize: 'keep' }, 0);
    expect(fixed.changed).toBe(false);
    const report = await runJob(driver, createImage('t', [{ memory: 'flash', address: 0x1000, data: boot }]), {}, rt);
    expect(report.verified).toBe(true);
    const written = sim.flash.slice(0x1000, 0x1000 + boot.length);
    expect(boot[2]).toBe(2); // DIO in the file
    expect(written[2]).toBe(0); // QIO on the board
    expect(written[3]).toBe(0x30 | 0xf); // 8 MB, 80 MHz
    expect(parseEspImage(written)?.meta?.hashAppended).toBe(true); // the appended SHA-256 still matches
  });

  it('takes the same settings as named options (CLI --option), and refuses unknown ones', async () => {
    const boot = appImage(0, 6000, 12);
    const { driver, sim, rt } = await setup({ variant: '8MB', ctxOptions: { 'flash-mode': 'qio', 'flash-size': 'detect', 'flash-freq': '80m' } });
    await runJob(driver, createImage('t', [{ memory: 'flash', address: 0x1000, data: boot }]), {}, rt);
    expect(sim.flash[0x1000 + 2]).toBe(0); // QIO
    expect(sim.flash[0x1000 + 3]).toBe(0x30 | 0xf); // 8 MB, 80 MHz
    await expect(setup({ ctxOptions: { 'flash-speed': '80m' } })).rejects.toThrow(/no option "flash-speed"/);
    await expect(setup({ ctxOptions: { reset: 'hard' } })).rejects.toThrow(/Unknown reset "hard"/);
  });

  it('erases the whole chip', async () => {
    const { driver, sim, rt } = await setup({ variant: '256KB' });
    sim.flash.fill(0x12, 0, 0x3000);
    await runErase(driver, rt);
    expect(sim.flash.every((b) => b === 0xff)).toBe(true);
  });
});

/** A second session on the same simulated board (a fresh host end at the ROM rate). */
async function setupOn(sim: EspRomSimulator) {
  const { createUartPair, FORMAT_8N1 } = await import('../../core/io/uart-link');
  const { host, device } = createUartPair(systemClock, { ...FORMAT_8N1, baudRate: 115200 });
  sim.attach(device);
  const controller = new AbortController();
  const logs: string[] = [];
  const driver = createDriver({ stream: host, clock: systemClock, log: (l, m) => logs.push(`${l}: ${m}`), signal: controller.signal, baudRate: FAST });
  return { driver, logs, rt: { clock: systemClock, signal: controller.signal, emit: () => {} } };
}
