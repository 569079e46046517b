import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { run, type RunResult } from '../support/tools';

export const ROOT = join(import.meta.dirname, '..', '..');
export const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
export const CLI = join(ROOT, 'src', 'node', 'cli.ts');

/** `webprog …` as the README's contract runs it (tsx on the source). */
export const webprog = (...args: string[]): Promise<RunResult> => run(TSX, [CLI, ...args], { timeoutMs: 90_000 });

/** `webprog …` with bytes on stdin; resolves with stdout as bytes. */
export function webprogWithInput(input: Uint8Array | null, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    if (input) child.stdin!.end(Buffer.from(input));
  });
}

/** `webprog simulate …` in its own process group: the first stdout line is "PTY <path>". */
export async function simulate(...args: string[]): Promise<{ path: string; proc: ChildProcess; stop: () => void }> {
  const proc = spawn(TSX, [CLI, 'simulate', ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const first = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`simulate exited with ${code}`)));
    createInterface({ input: proc.stdout! }).once('line', resolve);
  });
  if (!first.startsWith('PTY ')) throw new Error(`unexpected first line: ${first}`);
  return { path: first.slice(4), proc, stop: () => proc.kill('SIGTERM') };
}

/** Every line of stdout parsed as JSON (fails the test on a line that is not). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
