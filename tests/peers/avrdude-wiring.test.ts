import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { createSimulator, type Stk500v2Simulator } from '../../src/drivers/stk500v2/simulator';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { systemClock } from '../../src/transports/clock';
import { randomBytes, run, tempDir } from '../support/tools';

/**
 * Real avrdude with `-c wiring` (the Arduino IDE's Mega 2560 upload) against our STK500 v2 simulator
 * on a PTY: the simulator must behave like the Mega bootloader to a tool nobody here wrote, including
 * its in-order erase pointer (avrdude writes every page from 0, as this bootloader needs).
 */
describe('avrdude -c wiring against the Mega 2560 bootloader simulator', () => {
  let sim: Stk500v2Simulator;
  let host: PtyHost;
  const dir = tempDir();
  const avrdude = (...args: string[]) => run('avrdude', ['-c', 'wiring', '-P', host.path, '-b', '115200', '-D', ...args], { timeoutMs: 90_000 });

  beforeAll(async () => {
    sim = createSimulator({ clock: systemClock, targetId: 'm2560' });
    host = await hostOnPty(sim);
  });
  afterAll(() => host.stop());

  it('writes and verifies a 20 KiB image, and the simulator holds exactly those bytes', async () => {
    const data = randomBytes(20_000, 31);
    const file = join(dir, 'app.hex');
    writeFileSync(file, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data }] }));
    const r = await avrdude('-p', 'm2560', '-U', `flash:w:${file}:i`);
    expect(r.stderr).toContain('20000 bytes of flash verified');
    expect(r.code).toBe(0);
    expect(Buffer.from(sim.flash.subarray(0, 20_000)).equals(Buffer.from(data))).toBe(true);
    expect(sim.flash[20_000]).toBe(0xff); // avrdude pads the last page with 0xFF
  }, 100_000);

  it('reads the flash back byte-exact, across the 64 KiB line', async () => {
    sim.flash.set(randomBytes(512, 32), 0xff00);
    const out = join(dir, 'read.bin');
    const r = await avrdude('-p', 'm2560', '-U', `flash:r:${out}:r`);
    expect(r.code).toBe(0);
    const read = readFileSync(out);
    expect(read.subarray(0, 0x10100).equals(Buffer.from(sim.flash.subarray(0, 0x10100)))).toBe(true);
  }, 100_000);

  it('sees the signature of the simulated part', async () => {
    const r = await avrdude('-p', 'm1280');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signature.*0x1e9801/i);
  });
});
