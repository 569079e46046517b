import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { createSimulator, type Avr109Simulator } from '../../src/drivers/avr109/simulator';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { systemClock } from '../../src/transports/clock';
import { randomBytes, run, tempDir } from '../support/tools';

/**
 * Real avrdude with `-c avr109` (the Arduino IDE's Leonardo upload, after its 1200-baud touch) against
 * our Caterina simulator on a PTY: block mode, auto-increment, signature and exit as avrdude expects them.
 */
describe('avrdude -c avr109 against the Caterina (Leonardo) simulator', () => {
  let sim: Avr109Simulator;
  let host: PtyHost;
  const dir = tempDir();
  const avrdude = (...args: string[]) => run('avrdude', ['-c', 'avr109', '-P', host.path, '-b', '57600', '-D', ...args], { timeoutMs: 90_000 });

  beforeAll(async () => {
    sim = createSimulator({ clock: systemClock, targetId: 'm32u4' });
    host = await hostOnPty(sim);
  });
  afterAll(() => host.stop());

  it('writes and verifies a 20 KiB image, and the simulator holds exactly those bytes', async () => {
    const data = randomBytes(20_000, 31);
    const file = join(dir, 'app.hex');
    writeFileSync(file, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data }] }));
    const r = await avrdude('-p', 'm32u4', '-U', `flash:w:${file}:i`);
    expect(r.stderr).toContain('20000 bytes of flash verified');
    expect(r.code).toBe(0);
    expect(Buffer.from(sim.flash.subarray(0, 20_000)).equals(Buffer.from(data))).toBe(true);
    expect(sim.flash[20_000]).toBe(0xff); // avrdude pads the last page with 0xFF
  }, 100_000);

  it('reads the flash back byte-exact, the bootloader included', async () => {
    const out = join(dir, 'read.bin');
    const r = await avrdude('-p', 'm32u4', '-U', `flash:r:${out}:r`);
    expect(r.code).toBe(0);
    const read = readFileSync(out);
    expect(read.equals(Buffer.from(sim.flash))).toBe(true);
  }, 100_000);

  it('writes and reads EEPROM', async () => {
    const data = randomBytes(64, 33);
    const file = join(dir, 'ee.hex');
    writeFileSync(file, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0x20, data }] }));
    const r = await avrdude('-p', 'm32u4', '-U', `eeprom:w:${file}:i`);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(sim.eeprom.subarray(0x20, 0x60)).equals(Buffer.from(data))).toBe(true);
  }, 100_000);

  it('sees the signature of the simulated part', async () => {
    const r = await avrdude('-p', 'm328p');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signature.*0x1e9587/i);
  });
});
