import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { withFaults } from '../core/io/faults';
import { createUartPair, FORMAT_8N1, type LineFormat } from '../core/io/uart-link';
import { isFlashError } from '../shared/errors';
import type { FaultSpec } from '../shared/model';
import type { Simulator } from '../drivers/types';
import { systemClock } from '../transports/clock';

export interface PtyHost {
  path: string;
  stop(): Promise<void>;
}

const BRIDGE = fileURLToPath(new URL('./pty-bridge.py', import.meta.url));

/**
 * Serves a simulator on a new pseudo-terminal, so real tools (avrdude, stm32flash, flashrom) and
 * the CLI can talk to it. Bytes cross a timed UART model at the simulator's rate, so the PTY
 * behaves like a USB-serial adapter on a real line; a client opening the PTY resets the device.
 */
export async function hostOnPty(
  simulator: Simulator,
  opts: { format?: Omit<LineFormat, 'baudRate'>; fault?: FaultSpec; onEvent?: (e: string) => void } = {},
): Promise<PtyHost> {
  const bridge = spawn('python3', [BRIDGE], { stdio: ['pipe', 'pipe', 'inherit', 'pipe'] });
  const toClient = bridge.stdin as Writable;
  const fromClient = bridge.stdout as Readable;
  const events = createInterface({ input: bridge.stdio[3] as Readable });
  const pair = createUartPair(systemClock, { ...(opts.format ?? FORMAT_8N1), baudRate: simulator.baudRate });
  const { device } = pair;
  // Faults sit on the simulated wire, between the adapter and the board.
  const host = opts.fault ? withFaults(pair.host, opts.fault, systemClock) : pair.host;
  simulator.attach(device);

  // The client's bytes, and its baud rate whenever it changes, in line order (see pty-bridge.py). A
  // device with a fixed rate then gets garbage from a client at another rate, as on a real line.
  // After the simulated wire is cut, what the client sends goes nowhere, as on a pulled cable.
  const followBaud = !simulator.anyBaud;
  readFrames(fromClient, (kind, payload) => {
    if (process.env.WEBPROG_PTY_TRACE) process.stderr.write(`pty: ${kind} ${kind === 'B' ? payload.toString() : Buffer.from(payload).toString('hex')}\n`);
    if (kind === 'D') host.write(new Uint8Array(payload)).catch(() => {});
    else if (kind === 'B' && followBaud) void pair.host.setBaud(Number(payload.toString()));
  });
  let running = true;
  void (async () => {
    while (running) {
      try {
        toClient.write(await host.read(4096, { timeoutMs: 1000 }));
      } catch (err) {
        // A timeout just means a quiet line; anything else (the simulated wire was cut) ends serving.
        if (!isFlashError(err, 'timeout')) break;
      }
    }
  })();

  const path = await new Promise<string>((resolve, reject) => {
    bridge.once('exit', (code) => reject(new Error(`pty bridge exited (${code})`)));
    events.on('line', (line) => {
      if (line.startsWith('PTY ')) resolve(line.slice(4));
      else if (line === 'open') simulator.reset();
      opts.onEvent?.(line);
    });
  });

  return {
    path,
    async stop() {
      running = false;
      await host.close();
      bridge.kill('SIGTERM');
    },
  };
}

/** Splits the bridge's stdout into its frames: one kind byte, a u32le length, the payload. */
function readFrames(input: Readable, onFrame: (kind: string, payload: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  input.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5) {
      const length = buffered.readUInt32LE(1);
      if (buffered.length < 5 + length) break;
      onFrame(String.fromCharCode(buffered[0]!), buffered.subarray(5, 5 + length));
      buffered = buffered.subarray(5 + length);
    }
  });
}
