import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../src/core/io/faults';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a real tool to completion, with a hard time limit so a hung peer fails the test instead of CI. */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Own process group, so a time-out also kills grandchildren (tsx runs node as a child).
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

export function tempDir(prefix = 'webprog-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function randomBytes(length: number, seed: number): Uint8Array {
  const rnd = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
}

/** `webprog simulate ARGS` in its own process, resolved once its first stdout line "PTY <path>" arrives. */
export async function simulateCli(...args: string[]): Promise<{ path: string; proc: ChildProcess }> {
  const proc = spawn(join('node_modules', '.bin', 'tsx'), [join('src', 'node', 'cli.ts'), 'simulate', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`simulate exited with ${code}`)));
    createInterface({ input: proc.stdout! }).once('line', resolve);
  });
  if (!/^PTY \/dev\/pts\/\d+$/.test(first)) throw new Error(`simulate printed "${first}"`);
  return { path: first.slice(4), proc };
}
