import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/drivers/stk500v2/simulator';
import { systemClock } from '../../src/transports/clock';
import { avrdudePeer } from '../support/avrdude-peer';
import { randomBytes } from '../support/tools';

/**
 * Real avrdude with `-c wiring` (the Arduino IDE's Mega 2560 upload) against our STK500 v2 simulator
 * on a PTY: the simulator must behave like the Mega bootloader to a tool nobody here wrote, including
 * its in-order erase pointer (avrdude writes every page from 0, as this bootloader needs).
 */
describe('avrdude -c wiring against the Mega 2560 bootloader simulator', () => {
  const { peer, avrdude, hexFile } = avrdudePeer(() => createSimulator({ clock: systemClock, targetId: 'm2560' }), 'wiring', 115200);

  it('writes and verifies a 20 KiB image, and the simulator holds exactly those bytes', async () => {
    const data = randomBytes(20_000, 31);
    const r = await avrdude('-p', 'm2560', '-U', `flash:w:${hexFile('app.hex', data)}:i`);
    expect(r.stderr).toContain('20000 bytes of flash verified');
    expect(r.code).toBe(0);
    expect(Buffer.from(peer.sim.flash.subarray(0, 20_000)).equals(Buffer.from(data))).toBe(true);
    expect(peer.sim.flash[20_000]).toBe(0xff); // avrdude pads the last page with 0xFF
  }, 100_000);

  it('reads the flash back byte-exact, across the 64 KiB line', async () => {
    peer.sim.flash.set(randomBytes(512, 32), 0xff00);
    const out = join(peer.dir, 'read.bin');
    const r = await avrdude('-p', 'm2560', '-U', `flash:r:${out}:r`);
    expect(r.code).toBe(0);
    expect(readFileSync(out).subarray(0, 0x10100).equals(Buffer.from(peer.sim.flash.subarray(0, 0x10100)))).toBe(true);
  }, 100_000);

  it('sees the signature of the simulated part', async () => {
    const r = await avrdude('-p', 'm1280');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signature.*0x1e9801/i);
  });
});
