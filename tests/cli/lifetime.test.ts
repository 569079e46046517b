import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, TSX } from './support';

/** Processes still in a process group (ps exits 1 when there are none). */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '-g', String(pgid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function waitForEmptyGroup(pgid: number, ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  let left = groupMembers(pgid);
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    left = groupMembers(pgid);
  }
  return left;
}

/** Starts `simulate stk500v1` through `cmd` in a new process group; resolves once it printed its PTY. */
async function startSimulator(cmd: string, args: string[]) {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    createInterface({ input: proc.stdout! }).once('line', resolve);
  });
  expect(first).toMatch(/^PTY \/dev\/pts\/\d+$/);
  // tsx, node and the Python bridge are all in the group by now.
  expect(groupMembers(proc.pid!).some((l) => l.includes('pty-bridge.py'))).toBe(true);
  return { proc, stderr: () => stderr };
}

/** "Every simulate exits cleanly on SIGINT/SIGTERM and when its parent dies, leaving no process" (issue 12). */
describe('webprog simulate leaves nothing behind', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('ends tsx, node and the Python bridge on %s, without a traceback', async (signal) => {
    const { proc, stderr } = await startSimulator(TSX, [CLI, 'simulate', 'stk500v1']);
    proc.kill(signal);
    expect(await waitForEmptyGroup(proc.pid!, 8000)).toEqual([]);
    expect(stderr()).not.toMatch(/Traceback|BrokenPipe|Error/);
  });

  it('ends everything when the npm that started it is killed outright (kill -9)', async () => {
    const { proc } = await startSimulator('npm', ['run', '--silent', 'webprog', '--', 'simulate', 'stk500v1']);
    proc.kill('SIGKILL'); // npm only: its children are not told
    expect(await waitForEmptyGroup(proc.pid!, 8000)).toEqual([]);
  });
});
