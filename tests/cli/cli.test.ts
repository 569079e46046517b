import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { randomBytes, run, simulateCli, tempDir } from '../support/tools';

const TSX = join('node_modules', '.bin', 'tsx');
const CLI = join('src', 'node', 'cli.ts');
const webprog = (...args: string[]) => run(TSX, [CLI, ...args], { timeoutMs: 60_000 });

const simulate = simulateCli;

describe('webprog CLI', () => {
  const dir = tempDir();
  const data = randomBytes(5000, 42);
  const hexFile = join(dir, 'app.hex');
  let uno: { path: string; proc: ChildProcess };
  let nano: { path: string; proc: ChildProcess };

  beforeAll(async () => {
    writeFileSync(hexFile, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data }] }));
    [uno, nano] = await Promise.all([simulate('stk500v1'), simulate('stk500v1', '--variant', 'atmegaboot')]);
  });
  afterAll(() => {
    uno?.proc.kill('SIGTERM');
    nano?.proc.kill('SIGTERM');
  });

  it('flashes two boards at once, one result line each, exit 0 only after both verified', async () => {
    const r = await webprog('flash', '--driver', 'stk500v1', '--port', uno.path, '--port', nano.path, '--part', 'm328p', hexFile);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const [line, port] of [[lines[0], uno.path], [lines[1], nano.path]] as const) {
      expect(line).toMatch(new RegExp(`^OK +${port}: ATmega328P \\(1e950f\\) 5120 bytes written and verified`));
    }
  });

  it('reads back what it wrote, as binary and as Intel HEX', async () => {
    const bin = join(dir, 'back.bin');
    const r = await webprog('read', '--driver', 'stk500v1', '--port', uno.path, '--out', bin, '--length', '5000');
    expect(r.code).toBe(0);
    expect(readFileSync(bin).equals(Buffer.from(data))).toBe(true);
    const hex = join(dir, 'back.hex');
    expect((await webprog('read', '--driver', 'stk500v1', '--port', uno.path, '--out', hex, '--address', '0x100', '--length', '16')).code).toBe(0);
    const info = JSON.parse((await webprog('info', '--json', hex)).stdout);
    expect(info.segments).toEqual([{ memory: 'flash', address: 0x100, length: 16 }]);
  });

  it('reports one JSON object per device with --json', async () => {
    const r = await webprog('flash', '--json', '--driver', 'stk500v1', '--port', uno.path, hexFile);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ port: uno.path, file: 'app.hex', ok: true, report: { verified: true, device: { name: 'ATmega328P' } } });
  });

  it('refuses the wrong part with exit 1 and a what-to-do line', async () => {
    const r = await webprog('flash', '--driver', 'stk500v1', '--port', uno.path, '--part', 'm168', hexFile);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL .*reports ATmega328P \(signature 1e950f\), but ATmega168 was selected/);
    expect(r.stdout).toContain('what to do: Select ATmega328P');
  });

  it('skips unchanged pages on a re-flash', async () => {
    const r = await webprog('flash', '--json', '--skip-unchanged', '--driver', 'stk500v1', '--port', uno.path, hexFile);
    expect(JSON.parse(r.stdout).report).toMatchObject({ bytesWritten: 0, bytesSkipped: 5120, verified: true });
  });

  it('flashes several raw parts at their addresses (FILE@ADDRESS)', async () => {
    const a = randomBytes(300, 1);
    const b = randomBytes(200, 2);
    writeFileSync(join(dir, 'a.bin'), a);
    writeFileSync(join(dir, 'b.bin'), b);
    const r = await webprog('flash', '--driver', 'stk500v1', '--port', uno.path, `${join(dir, 'a.bin')}@0`, `${join(dir, 'b.bin')}@0x1000`);
    expect(r.code).toBe(0);
    const out = join(dir, 'parts.bin');
    expect((await webprog('read', '--driver', 'stk500v1', '--port', uno.path, '--out', out, '--address', '0x1000', '--length', '200')).code).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(b))).toBe(true);
  });

  it('describes and converts images', async () => {
    const info = await webprog('info', hexFile);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/format +ihex/);
    expect(info.stdout).toMatch(/segment flash 0x00000000 5000 bytes/);
    const bin = join(dir, 'conv.bin');
    expect((await webprog('convert', hexFile, bin, '--to', 'bin')).code).toBe(0);
    expect(readFileSync(bin).equals(Buffer.from(data))).toBe(true);
    // Through UF2 (with a family ID, padded to 256-byte pages) and S-records and back to binary.
    const uf2 = join(dir, 'conv.uf2');
    expect((await webprog('convert', hexFile, uf2, '--to', 'uf2', '--family', '0xe48bff56')).code).toBe(0);
    expect(readFileSync(uf2).length).toBe(20 * 512); // 5000 bytes = 20 blocks of 256
    const srec = join(dir, 'conv.srec');
    expect((await webprog('convert', uf2, srec, '--to', 'srec')).code).toBe(0);
    expect(JSON.parse((await webprog('info', '--json', srec)).stdout).format).toBe('srec');
    const round = join(dir, 'round.bin');
    expect((await webprog('convert', srec, round, '--to', 'bin')).code).toBe(0);
    const bytes = readFileSync(round);
    expect(bytes.subarray(0, 5000).equals(Buffer.from(data))).toBe(true);
    expect(bytes.subarray(5000).every((b) => b === 0xff)).toBe(true);
  });

  it('explains a bad file and a missing port with exit 2', async () => {
    const bad = join(dir, 'bad.hex');
    writeFileSync(bad, ':10000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF01\n:00000001FF\n');
    const r1 = await webprog('info', bad);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/line 1.*checksum/i);
    const r2 = await webprog('flash', '--driver', 'stk500v1', '--port', '/dev/nonexistent-port', hexFile);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toMatch(/Cannot open \/dev\/nonexistent-port/);
  });
});
