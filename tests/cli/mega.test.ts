import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { randomBytes, tempDir } from '../support/tools';
import { simulate, webprog } from './support';

/** The CLI contract for an Arduino Mega: `simulate stk500v2 --part m2560` → PTY, then flash and read on it. */
describe('webprog on a simulated Arduino Mega 2560 (stk500v2)', () => {
  let board: Awaited<ReturnType<typeof simulate>>;
  const dir = tempDir();
  const data = randomBytes(5000, 41);

  beforeAll(async () => {
    board = await simulate('stk500v2', '--part', 'm2560');
  }, 60_000);
  afterAll(() => board.stop());

  it('flashes and verifies a HEX file', async () => {
    const file = join(dir, 'app.hex');
    writeFileSync(file, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data }] }));
    const r = await webprog('flash', '--driver', 'stk500v2', '--port', board.path, '--part', 'm2560', file);
    expect(r.stdout + r.stderr).toMatch(/ATmega2560/);
    expect(r.code).toBe(0);
  }, 90_000);

  it('reads back what it wrote', async () => {
    const out = join(dir, 'read.bin');
    const r = await webprog('read', '--driver', 'stk500v2', '--port', board.path, '--out', out, '--length', '5000');
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(data))).toBe(true);
  }, 90_000);

  it('refuses a Mega 1280 choice on a 2560 before writing', async () => {
    const file = join(dir, 'app.hex');
    const r = await webprog('flash', '--driver', 'stk500v2', '--port', board.path, '--part', 'm1280', file);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ATmega2560.*ATmega1280/);
  }, 90_000);
});
