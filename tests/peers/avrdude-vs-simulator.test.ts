import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { createSimulator, type Stk500v1Simulator } from '../../src/drivers/stk500v1/simulator';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { systemClock } from '../../src/transports/clock';
import { randomBytes, run, tempDir } from '../support/tools';

/**
 * Real avrdude (-c arduino, the Arduino IDE's upload command) against our STK500v1 simulator on a PTY:
 * proof that the simulator behaves like an Optiboot board to a tool nobody here wrote.
 */
describe.each(['optiboot', 'atmegaboot'])('avrdude -c arduino against the %s simulator', (variant) => {
  let sim: Stk500v1Simulator;
  let host: PtyHost;
  const dir = tempDir();
  const baud = variant === 'atmegaboot' ? '57600' : '115200';

  beforeAll(async () => {
    sim = createSimulator({ clock: systemClock, targetId: 'm328p', variant });
    host = await hostOnPty(sim);
  });
  afterAll(() => host.stop());

  it('writes and verifies a 6 KiB image, and the simulator holds exactly those bytes', async () => {
    const data = randomBytes(6000, 11);
    const file = join(dir, 'app.hex');
    writeFileSync(file, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data }] }));
    const r = await run('avrdude', ['-c', 'arduino', '-p', 'm328p', '-P', host.path, '-b', baud, '-D', '-U', `flash:w:${file}:i`]);
    expect(r.stderr).toContain('6000 bytes of flash verified');
    expect(r.code).toBe(0);
    expect(Buffer.from(sim.flash.subarray(0, 6000)).equals(Buffer.from(data))).toBe(true);
    expect(sim.flash[6000]).toBe(0xff); // avrdude pads the last page with 0xFF
  });

  it('reads the flash back byte-exact', async () => {
    const out = join(dir, 'read.bin');
    const r = await run('avrdude', ['-c', 'arduino', '-p', 'm328p', '-P', host.path, '-b', baud, '-D', '-U', `flash:r:${out}:r`]);
    expect(r.code).toBe(0);
    const read = readFileSync(out);
    expect(read.length).toBeGreaterThanOrEqual(6000);
    expect(read.subarray(0, 6000).equals(Buffer.from(sim.flash.subarray(0, 6000)))).toBe(true);
  });

  it('sees the signature of the simulated part', async () => {
    const r = await run('avrdude', ['-c', 'arduino', '-p', 'm168', '-P', host.path, '-b', baud, '-D']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signature.*0x1e950f/i);
  });
});
