import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImage } from '../../src/core/image/memory-image';
import { runJob, runRead } from '../../src/core/job/run-job';
import { lineFormatOf } from '../../src/core/io/uart-link';
import { STM32_FLASH_BASE } from '../../src/chips/stm32';
import { createDriver } from '../../src/drivers/stm32-usart/driver';
import { stm32UsartMeta } from '../../src/drivers/stm32-usart/meta';
import { stm32Crc } from '../../src/drivers/stm32-usart/protocol';
import { createSimulator, type Stm32UsartSimulator } from '../../src/drivers/stm32-usart/simulator';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { openSerialStream } from '../../src/node/serial-stream';
import { systemClock } from '../../src/transports/clock';
import { randomBytes, run, tempDir } from '../support/tools';

/**
 * Real stm32flash 0.7 (Debian) against our STM32 ROM simulator on a PTY: proof that the simulator
 * behaves like an STM32 system bootloader to a host nobody here wrote. A PTY cannot do even parity
 * (stm32flash's default 8E1 fails with "Failed to set terminal flags"), hence `-m 8n1`; the
 * simulator accepts both. Then our driver reads back what stm32flash wrote, and the other way round.
 */
const stm32flash = (pty: string, ...args: string[]) => run('stm32flash', ['-b', '115200', '-m', '8n1', ...args, pty], { timeoutMs: 60_000 });

async function withOurDriver<T>(pty: string, part: string, job: (d: ReturnType<typeof createDriver>, rt: Parameters<typeof runJob>[3]) => Promise<T>): Promise<T> {
  const stream = await openSerialStream(pty, 115200);
  const controller = new AbortController();
  try {
    const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: part });
    return await job(driver, { clock: systemClock, signal: controller.signal, emit: () => {} });
  } finally {
    await stream.close();
  }
}

describe.each([
  { part: 'stm32f103cb', variant: '', size: 12 * 1024, units: 12, id: '0x0410 (STM32F10xxx Medium-density)' },
  { part: 'stm32g071rb', variant: 'crc', size: 8 * 1024, units: 4, id: '0x0460 (STM32G07xxx/08xxx)' },
])('stm32flash -m 8n1 against the $part simulator', ({ part, variant, size, units, id }) => {
  let sim: Stm32UsartSimulator;
  let host: PtyHost;
  const dir = tempDir();
  const data = randomBytes(size, size);
  const file = join(dir, 'app.bin');

  beforeAll(async () => {
    sim = createSimulator({ clock: systemClock, targetId: part, variant });
    host = await hostOnPty(sim, { format: lineFormatOf(stm32UsartMeta, sim.baudRate) });
    writeFileSync(file, data);
  });
  afterAll(() => host.stop());

  it('identifies the device', async () => {
    const r = await stm32flash(host.path);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Interface serial_posix: 115200 8N1');
    expect(r.stdout).toContain(`Device ID    : ${id}`);
  });

  it('writes and verifies a binary, erasing only the pages it needs; the simulator holds exactly those bytes', async () => {
    sim.memory('flash').fill(0x00, size, size + 4096); // stale data just past the image must survive
    const r = await stm32flash(host.path, '-w', file, '-v');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote and verified address 0x${(STM32_FLASH_BASE + size).toString(16).padStart(8, '0')} (100.00%) Done.`);
    expect(Buffer.from(sim.memory('flash').subarray(0, size)).equals(Buffer.from(data))).toBe(true);
    expect(sim.memory('flash')[size]).toBe(0x00);
    expect(sim.stats).toMatchObject({ unitErases: units, massErases: 0, programErrors: 0, overruns: 0 });
  });

  it('reads the flash back byte-exact with stm32flash, and webprog reads the same bytes', async () => {
    const out = join(dir, 'read.bin');
    const r = await stm32flash(host.path, '-r', out, '-S', `0x08000000:${size}`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(data))).toBe(true);
    const ours = await withOurDriver(host.path, part, (d, rt) => runRead(d, 'flash', { address: STM32_FLASH_BASE, length: size }, rt));
    expect(Buffer.from(ours.data).equals(readFileSync(out))).toBe(true);
  });

  it('reads back with stm32flash what webprog wrote', async () => {
    const mine = randomBytes(4096, 77);
    const report = await withOurDriver(host.path, part, (d, rt) => runJob(d, createImage('test', [{ memory: 'flash', address: STM32_FLASH_BASE + 0x2000, data: mine }]), {}, rt));
    expect(report.verified).toBe(true);
    const out = join(dir, 'mine.bin');
    const r = await stm32flash(host.path, '-r', out, '-S', `0x08002000:4096`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(mine))).toBe(true);
  });

  if (variant === 'crc') {
    it('answers Get Checksum as stm32flash -C expects', async () => {
      const r = await stm32flash(host.path, '-C', '-S', `0x08000000:${size}`);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const crc = stm32Crc(sim.memory('flash').subarray(0, size)).toString(16).padStart(8, '0');
      expect(r.stdout).toContain(`= 0x${crc}`);
      expect(sim.stats.checksums).toBeGreaterThan(0);
    });
  }

  it('is read-protected by stm32flash -j and unprotected (mass erase) by -k', async () => {
    let r = await stm32flash(host.path, '-j');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sim.rdp).toBe(true);
    r = await stm32flash(host.path, '-r', join(dir, 'no.bin'), '-S', '0x08000000:256');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Failed to read memory at address 0x08000000/);
    r = await stm32flash(host.path, '-k');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sim.rdp).toBe(false);
    expect(sim.memory('flash').subarray(0, size).every((b) => b === 0xff)).toBe(true);
  });
});
