import { describe, expect, it } from 'vitest';
import { sha256 } from '../core/bytes/sha256';
import { buildEspImage } from '../../tests/support/image-fixtures';
import { createImage } from '../core/image/memory-image';
import type { ByteStream } from '../core/io/byte-stream';
import { runJob } from '../core/job/run-job';
import { findDriverOfKind } from '../drivers/registry';
import { FlashError } from '../shared/errors';
import { systemClock } from './clock';
import { openVirtualDevice } from './virtual';

/** Everything the device sends within `ms`, as text. */
async function listen(stream: ByteStream, ms: number): Promise<string> {
  const end = Date.now() + ms;
  let text = '';
  while (Date.now() < end) {
    try {
      text += new TextDecoder().decode(await stream.read(4096, { timeoutMs: Math.max(1, end - Date.now()) }));
    } catch (err) {
      if (!(err instanceof FlashError && err.code === 'timeout')) throw err;
    }
  }
  return text;
}

async function flash(driverId: string, targetId: string, board: string | undefined, address: number, data: Uint8Array) {
  const device = await openVirtualDevice(driverId, { clock: systemClock, targetId, ...(board ? { board } : {}) });
  const { createDriver } = await findDriverOfKind(driverId, 'serial')!.load();
  const signal = new AbortController().signal;
  const driver = createDriver({ stream: device.stream, clock: systemClock, log: () => {}, signal, targetId });
  const report = await runJob(driver, createImage('test', [{ memory: 'flash', address, data }]), {}, { clock: systemClock, signal, emit: () => {} });
  expect(report.verified).toBe(true);
  await device.stream.close();
  return device.simulator;
}

describe('virtual boards', () => {
  it('keep what was flashed when a named board is opened again, and the flashed Uno says hello', async () => {
    const program = Uint8Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff);
    const first = await flash('stk500v1', 'm328p', 'bench', 0, program);
    const again = await openVirtualDevice('stk500v1', { clock: systemClock, targetId: 'm328p', board: 'bench' });
    expect(again.simulator).toBe(first);
    expect(Array.from(again.simulator.memory('flash').subarray(0, 300))).toEqual(Array.from(program));
    // After the bootloader's watchdog the program runs: the monitor sees its lines.
    expect(await listen(again.stream, 2500)).toMatch(/hello from the virtual ATmega328P: 300 bytes of program, line 1\r\n/);
    await again.stream.close();

    // Without a name, every opening is a factory-fresh chip that runs nothing.
    const fresh = await openVirtualDevice('stk500v1', { clock: systemClock, targetId: 'm328p' });
    expect(fresh.simulator).not.toBe(first);
    expect(await listen(fresh.stream, 1500)).toBe('');
    await fresh.stream.close();
  }, 30_000);

  it('boot a flashed ESP32 into a hello application', async () => {
    const app = buildEspImage({ chipId: 0, segments: [{ address: 0x3f400020, data: new Uint8Array(256).fill(0x5a) }], sha256 });
    await flash('esp-rom', 'esp32', 'desk', 0x10000, app);
    const monitor = await openVirtualDevice('esp-rom', { clock: systemClock, targetId: 'esp32', board: 'desk' });
    const text = await listen(monitor.stream, 2500);
    expect(text).toContain('boot:0x13 (SPI_FAST_FLASH_BOOT)');
    expect(text).toMatch(/hello from the virtual ESP32, line 1\r\nhello from the virtual ESP32, line 2/);
    await monitor.stream.close();
  }, 60_000);
});
