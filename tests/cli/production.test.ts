import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { createSimulator, type Stk500v1Simulator } from '../../src/drivers/stk500v1/simulator';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { systemClock } from '../../src/transports/clock';
import type { FaultSpec } from '../../src/shared/model';
import { randomBytes, run, tempDir } from '../support/tools';

const TSX = join('node_modules', '.bin', 'tsx');
const CLI = join('src', 'node', 'cli.ts');
const hosts: PtyHost[] = [];
afterAll(() => Promise.all(hosts.map((h) => h.stop())));

async function board(fault?: FaultSpec): Promise<{ sim: Stk500v1Simulator; path: string }> {
  const sim = createSimulator({ clock: systemClock, targetId: 'm328p' });
  const host = await hostOnPty(sim, fault ? { fault } : {});
  hosts.push(host);
  return { sim, path: host.path };
}

function journal(dir: string): { op: string; value: string; outcome?: string; note?: string }[] {
  return readFileSync(join(dir, 'serials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('production: gang programming with serial numbers', () => {
  const dir = tempDir();
  const hexFile = join(dir, 'fw.hex');
  writeFileSync(hexFile, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(2048, 9) }] }));
  const serialFlags = ['--serial-address', '0x7000', '--serial-format', 'u32le', '--serial-start', '1000'];

  it('programs 8 boards at once: a faulty one fails alone, every serial is unique and accounted for', async () => {
    const boards = await Promise.all(Array.from({ length: 8 }, (_, i) => board(i === 5 ? { seed: 3, disconnectAfterBytes: 900 } : undefined)));
    const state = join(dir, 'gang');
    const r = await run(TSX, [CLI, 'flash', '--driver', 'stk500v1', '--json', '--state-dir', state, '--station', 'line-1', ...serialFlags, ...boards.flatMap((b) => ['--port', b.path]), hexFile], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(1);
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(results.filter((x) => x.ok), r.stdout).toHaveLength(7);
    const failed = results.filter((x) => !x.ok);
    expect(failed.map((x) => x.port)).toEqual([boards[5]!.path]);
    expect(failed[0].error.code).toMatch(/timeout|device-lost/);
    const serials = results.map((x) => x.serial);
    expect(new Set(serials).size).toBe(8);
    expect(serials.map(Number).sort()).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
    // Each good board holds its own number, little-endian, where the rule says.
    results.forEach((x, i) => {
      if (!x.ok) return;
      const flash = boards[i]!.sim.flash;
      expect(flash[0x7000]! | (flash[0x7001]! << 8)).toBe(Number(x.serial));
    });
    const settled = journal(state).filter((l) => l.op === 'settle');
    expect(settled.filter((l) => l.outcome === 'used')).toHaveLength(7);
    expect(settled.filter((l) => l.outcome === 'voided').map((l) => l.value)).toEqual([failed[0].serial]);
    const audit = readFileSync(join(state, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit.filter((a) => a.result === 'running')).toHaveLength(8);
    expect(audit.filter((a) => a.result === 'pass')).toHaveLength(7);
    expect(audit.find((a) => a.result === 'fail')).toMatchObject({ station: 'line-1', port: boards[5]!.path, serial: failed[0].serial });
    // Each socket counted its insertion; the cut cable was not the socket's fault, so it does not count.
    const sockets = JSON.parse(readFileSync(join(state, 'sockets.json'), 'utf8'));
    expect(Object.keys(sockets)).toHaveLength(7);
    expect(sockets[`stk500v1:${boards[5]!.path}`]).toBeUndefined();
  }, 120_000);

  it('warns when a socket nears its rated life, and counts wrong parts as ID failures', async () => {
    const b = await board();
    const state = join(dir, 'wear');
    const flash = (...extra: string[]) => run(TSX, [CLI, 'flash', '--driver', 'stk500v1', '--state-dir', state, '--socket-life', '3', ...extra, '--port', b.path, hexFile]);
    expect((await flash()).stderr).not.toMatch(/rated/);
    expect((await flash('--part', 'm168')).code).toBe(1);
    const third = await flash();
    expect(third.stderr).toMatch(/3 of its rated 3 insertions|past its rated life/);
    const record = JSON.parse(readFileSync(join(state, 'sockets.json'), 'utf8'))[`stk500v1:${b.path}`];
    expect(record).toMatchObject({ insertions: 3, idFailures: 1, contactFailures: 0, ratedLife: 3 });
  }, 60_000);

  it('never reuses the number of a process killed mid-job', async () => {
    const b = await board();
    const state = join(dir, 'killed');
    const big = join(dir, 'big.hex');
    writeFileSync(big, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(20000, 4) }] }));
    const child = spawn(TSX, [CLI, 'flash', '--driver', 'stk500v1', '--state-dir', state, ...serialFlags, '--port', b.path, big], { stdio: 'ignore', detached: true });
    // Wait until the job has reserved its number and is writing, then kill the whole process group hard.
    const deadline = Date.now() + 20_000;
    while (!(existsSync(join(state, 'serials.jsonl')) && journal(state).some((l) => l.op === 'reserve')) && Date.now() < deadline) await systemClock.sleep(50);
    await systemClock.sleep(800);
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(journal(state).filter((l) => l.op === 'reserve').map((l) => l.value)).toEqual(['1000']);

    const r = await run(TSX, [CLI, 'flash', '--driver', 'stk500v1', '--json', '--state-dir', state, ...serialFlags, '--port', b.path, hexFile]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).serial).toBe('1001');
    const lines = journal(state);
    expect(lines.find((l) => l.op === 'settle' && l.value === '1000')).toMatchObject({ outcome: 'voided', note: expect.stringContaining('interrupted') });
  }, 60_000);
});
