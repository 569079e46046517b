import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const SIMAVR_DIR = fileURLToPath(new URL('../.cache/simavr', import.meta.url));

/** Builds (if stale) the simavr host, optiboot from Debian's source and the test apps. */
export function buildSimavrPeer(): void {
  execFileSync('bash', [fileURLToPath(new URL('./simavr/build.sh', import.meta.url)), SIMAVR_DIR], { stdio: 'pipe' });
}

export interface SimavrBoard {
  path: string;
  stop(): Promise<void>;
}

/** Starts real optiboot in simavr behind a PTY; opening the PTY resets the MCU like an Uno's DTR. */
export async function startOptibootUno(): Promise<SimavrBoard> {
  const child: ChildProcess = spawn(
    join(SIMAVR_DIR, 'host'),
    ['--mcu', 'atmega328p', '--freq', '16000000', '--boot', join(SIMAVR_DIR, 'optiboot_atmega328.hex')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const path = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`simavr host exited with ${code}`)));
    lines.on('line', (line) => line.startsWith('PTY ') && resolve(line.slice(4)));
  });
  return {
    path,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
