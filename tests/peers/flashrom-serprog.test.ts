import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImage } from '../../src/core/image/memory-image';
import { runJob, runRead } from '../../src/core/job/run-job';
import { createDriver } from '../../src/drivers/serprog/driver';
import { createSimulator, type SerprogSimulator } from '../../src/drivers/serprog/simulator';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { openSerialStream } from '../../src/node/serial-stream';
import { systemClock } from '../../src/transports/clock';
import { randomBytes, run, tempDir } from '../support/tools';

/**
 * Both directions against flashrom 1.3 (Debian), the reference serprog host:
 * - real flashrom -> our simulator: it probes the simulated part by its JEDEC ID, writes, verifies
 *   and reads back a whole chip: the simulator behaves like a serprog programmer with a GD25Q20;
 * - our driver -> simulator -> flashrom: what webprog wrote, flashrom reads back byte-exact.
 * A 256 KiB part keeps flashrom's whole-chip read/write/verify short.
 */
const hasFlashrom = spawnSync('flashrom', ['--version']).status === 0;
const SIZE = 256 * 1024;
const PART = 'GD25Q20';
/** flashrom 1.3's name for it. */
const FLASHROM_PART = 'GD25Q20(B)';
// flashrom -p serprog:dev=<pty>:<baud>; a PTY ignores the baud, the simulator paces the line itself.
const programmer = (path: string) => ['-p', `serprog:dev=${path}:115200,spispeed=16M`];

describe.skipIf(!hasFlashrom)('flashrom (serprog) against the serprog simulator with a GD25Q20', () => {
  let sim: SerprogSimulator;
  let host: PtyHost;
  const dir = tempDir();
  const theirs = randomBytes(SIZE, 21);
  const ours = randomBytes(70_000, 22);

  beforeAll(async () => {
    sim = createSimulator({ clock: systemClock, targetId: PART });
    host = await hostOnPty(sim);
  });
  afterAll(() => host.stop());

  it('detects the simulated part by its JEDEC ID', async () => {
    const r = await run('flashrom', programmer(host.path));
    expect(r.stdout).toContain(`Found GigaDevice flash chip "${FLASHROM_PART}" (256 kB, SPI) on serprog.`);
    expect(r.stdout).toMatch(/Programmer name is "pico-serprog"/);
    expect(r.code).toBe(0);
  });

  it('writes and verifies a whole chip image, and the simulated part holds exactly it', async () => {
    const file = join(dir, 'theirs.bin');
    writeFileSync(file, theirs);
    const r = await run('flashrom', [...programmer(host.path), '-c', FLASHROM_PART, '-w', file], { timeoutMs: 120_000 });
    expect(r.stdout).toContain('Verifying flash... VERIFIED.');
    expect(r.code).toBe(0);
    expect(Buffer.from(sim.flash!.memory).equals(Buffer.from(theirs))).toBe(true);
  });

  it('reads the chip back byte-exact, and webprog reads the same bytes', async () => {
    const out = join(dir, 'theirs-read.bin');
    const r = await run('flashrom', [...programmer(host.path), '-c', FLASHROM_PART, '-r', out], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(theirs))).toBe(true);

    const stream = await openSerialStream(host.path, 115200);
    const c = new AbortController();
    const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: c.signal, targetId: PART });
    const read = await runRead(driver, 'flash', { address: 0x10000, length: 0x8000 }, { clock: systemClock, signal: c.signal, emit: () => {} });
    await stream.close();
    expect(Buffer.from(read.data).equals(Buffer.from(theirs.subarray(0x10000, 0x18000)))).toBe(true);
  });

  it('flashrom reads back byte-exact what webprog wrote over the old contents', async () => {
    const stream = await openSerialStream(host.path, 115200);
    const c = new AbortController();
    const driver = createDriver({ stream, clock: systemClock, log: () => {}, signal: c.signal, targetId: PART });
    const at = 0x21000; // not 64 KiB aligned: 4 KiB and 32 KiB erases around old data
    const report = await runJob(driver, createImage('ours', [{ memory: 'flash', address: at, data: ours }]), {}, { clock: systemClock, signal: c.signal, emit: () => {} });
    await stream.close();
    expect(report.verified).toBe(true);

    const expected = Buffer.from(theirs);
    const end = Math.ceil((at + ours.length) / 4096) * 4096;
    expected.fill(0xff, at, end); // webprog erased whole sectors and padded the tail with FFh
    expected.set(ours, at);
    const out = join(dir, 'ours-read.bin');
    const r = await run('flashrom', [...programmer(host.path), '-c', FLASHROM_PART, '-r', out], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(expected)).toBe(true);
    // flashrom's own verify against the same expectation.
    const file = join(dir, 'expected.bin');
    writeFileSync(file, expected);
    const v = await run('flashrom', [...programmer(host.path), '-c', FLASHROM_PART, '-v', file], { timeoutMs: 60_000 });
    expect(v.stdout).toContain('VERIFIED.');
  });
});

describe.skipIf(!hasFlashrom)('flashrom reads the simulator\'s SFDP tables (JESD216) for a part in no table', () => {
  let sim: SerprogSimulator;
  let host: PtyHost;
  const dir = tempDir();

  beforeAll(async () => {
    // GD25Q512 geometry (64 KiB) behind an ID no chip database has: flashrom must fall back to SFDP.
    sim = createSimulator({ clock: systemClock, targetId: 'GD25Q512+unknown' });
    host = await hostOnPty(sim);
  });
  afterAll(() => host.stop());

  it('autodetects size and erase types from SFDP, then writes and verifies the part', async () => {
    const probe = await run('flashrom', [...programmer(host.path), '-VV']);
    expect(probe.stdout).toMatch(/Found Unknown flash chip "SFDP-capable chip" \(64 kB, SPI\)/);
    expect(probe.stdout).toMatch(/Block eraser 0: 16 x 4096 B with opcode 0x20/);
    expect(probe.stdout).toMatch(/Block eraser 1: 2 x 32768 B with opcode 0x52/);
    const data = randomBytes(64 * 1024, 23);
    const file = join(dir, 'sfdp.bin');
    writeFileSync(file, data);
    const r = await run('flashrom', [...programmer(host.path), '-w', file], { timeoutMs: 60_000 });
    expect(r.stdout).toContain('VERIFIED.');
    expect(Buffer.from(sim.flash!.memory).equals(Buffer.from(data))).toBe(true);
  });
});
