import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/drivers/avr109/simulator';
import { systemClock } from '../../src/transports/clock';
import { avrdudePeer } from '../support/avrdude-peer';
import { randomBytes } from '../support/tools';

/**
 * Real avrdude with `-c avr109` (the Arduino IDE's Leonardo upload, after its 1200-baud touch) against
 * our Caterina simulator on a PTY: block mode, auto-increment, signature and exit as avrdude expects them.
 */
describe('avrdude -c avr109 against the Caterina (Leonardo) simulator', () => {
  const { peer, avrdude, hexFile } = avrdudePeer(() => createSimulator({ clock: systemClock, targetId: 'm32u4' }), 'avr109', 57600);

  it('writes and verifies a 20 KiB image, and the simulator holds exactly those bytes', async () => {
    const data = randomBytes(20_000, 31);
    const r = await avrdude('-p', 'm32u4', '-U', `flash:w:${hexFile('app.hex', data)}:i`);
    expect(r.stderr).toContain('20000 bytes of flash verified');
    expect(r.code).toBe(0);
    expect(Buffer.from(peer.sim.flash.subarray(0, 20_000)).equals(Buffer.from(data))).toBe(true);
  }, 100_000);

  it('reads the flash back byte-exact, the bootloader included', async () => {
    const out = join(peer.dir, 'read.bin');
    const r = await avrdude('-p', 'm32u4', '-U', `flash:r:${out}:r`);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(peer.sim.flash))).toBe(true);
  }, 100_000);

  it('writes EEPROM', async () => {
    const data = randomBytes(64, 33);
    const r = await avrdude('-p', 'm32u4', '-U', `eeprom:w:${hexFile('ee.hex', data, 0x20)}:i`);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(peer.sim.eeprom.subarray(0x20, 0x60)).equals(Buffer.from(data))).toBe(true);
  }, 100_000);

  it('sees the signature of the simulated part', async () => {
    const r = await avrdude('-p', 'm328p');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signature.*0x1e9587/i);
  });
});
