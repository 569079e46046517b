import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import type { Simulator } from '../../src/drivers/types';
import { hostOnPty, type PtyHost } from '../../src/node/pty-host';
import { run, tempDir, type RunResult } from './tools';

/**
 * One of our simulators on a PTY for the whole file, and real avrdude against it with a fixed
 * programmer and rate (`-D`, as the Arduino IDE passes for bootloaders).
 */
export function avrdudePeer<S extends Simulator>(create: () => S, programmer: string, baud: number) {
  const peer = { sim: null as unknown as S, host: null as unknown as PtyHost, dir: tempDir() };
  beforeAll(async () => {
    peer.sim = create();
    peer.host = await hostOnPty(peer.sim);
  });
  afterAll(async () => {
    await peer.host.stop();
    rmSync(peer.dir, { recursive: true, force: true });
  });
  return {
    peer,
    avrdude: (...args: string[]): Promise<RunResult> =>
      run('avrdude', ['-c', programmer, '-P', peer.host.path, '-b', String(baud), '-D', ...args], { timeoutMs: 90_000 }),
    /** Writes `data` at `address` as an Intel HEX file in the peer's temp folder; returns its path. */
    hexFile(name: string, data: Uint8Array, address = 0): string {
      const file = join(peer.dir, name);
      writeFileSync(file, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address, data }] }));
      return file;
    },
  };
}
