import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openSerialStream } from '../../src/node/serial-stream';
import { isFlashError } from '../../src/shared/errors';

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
export function startOptibootUno(): Promise<SimavrBoard> {
  return startSimavrBoard('atmega328p', 'optiboot_atmega328.hex');
}

/** The Arduino Mega 2560's own STK500 v2 bootloader (Debian's hex) on simavr's ATmega2560. */
export function startMega2560(): Promise<SimavrBoard> {
  return startSimavrBoard('atmega2560', 'stk500boot_v2_mega2560.hex');
}

/** A real bootloader (a file built into SIMAVR_DIR) on a simavr core at 16 MHz, behind a PTY. */
export async function startSimavrBoard(mcu: string, bootloader: string): Promise<SimavrBoard> {
  const child: ChildProcess = spawn(join(SIMAVR_DIR, 'host'), ['--mcu', mcu, '--freq', '16000000', '--boot', join(SIMAVR_DIR, bootloader)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/**
 * Opens the port (which resets the board, as a real Arduino's DTR does) and collects what the
 * application prints until a complete `webprog-app-ok …` line arrived or `ms` passed.
 */
export async function appOutput(path: string, ms: number): Promise<string> {
  const stream = await openSerialStream(path, 115200);
  let text = '';
  const end = performance.now() + ms;
  try {
    while (performance.now() < end && !/webprog-app-ok [^\r]*\r\n/.test(text)) {
      try {
        text += Buffer.from(await stream.read(256, { timeoutMs: end - performance.now() })).toString('latin1');
      } catch (err) {
        if (!isFlashError(err, 'timeout')) throw err;
      }
    }
  } finally {
    await stream.close();
  }
  return text;
}
