import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../core/io/clock';
import { isStall, type UsbDeviceModel } from '../../core/io/usb-pipe';
import { DescriptorType, getDescriptorSetup, parseRequestType } from '../../core/io/usb-descriptors';
import { createUsbPipe, type SimulatedUsbPipe } from '../../core/io/usb-bus';
import { FlashError, isFlashError } from '../../shared/errors';

/**
 * Where the stand-in is built: a per-user cache (XDG), never the package or the repository, so an
 * installed webprog can build it too. Tests may point it elsewhere with WEBPROG_CACHE_DIR.
 */
export const LIBUSB_SHIM_DIR = join(process.env.WEBPROG_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'webprog'), 'libusb-shim');
export const LIBUSB_SHIM = join(LIBUSB_SHIM_DIR, 'libusb-shim.so');

/**
 * Builds (if stale) the LD_PRELOAD libusb stand-in (./libusb-shim), with gcc. A test stand-in, not a
 * driver: it lets libusb-1.0 programs (dfu-util) talk to webprog's simulated USB devices.
 */
export function buildLibusbShim(): void {
  try {
    execFileSync('bash', [fileURLToPath(new URL('./libusb-shim/build.sh', import.meta.url)), LIBUSB_SHIM_DIR], { stdio: 'pipe' });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new FlashError('unsupported', `Cannot build the libusb stand-in: ${why}`, { hint: 'Install gcc and libusb-1.0-0-dev (apt-get install -y gcc libusb-1.0-0-dev).' });
  }
}

/** libusb_error codes (libusb.h) the shim hands back to the tool. */
const LIBUSB = { IO: -1, NO_DEVICE: -4, NOT_FOUND: -5, TIMEOUT: -7, PIPE: -9, OTHER: -99 } as const;
const OP = { LIST: 1, OPEN: 2, CLOSE: 3, CLAIM: 4, RELEASE: 5, SET_ALT: 6, CONTROL: 7, RESET: 8 } as const;

export interface UsbSimHost {
  /** The socket path: pass it to the tool as WEBPROG_USB_SOCKET, with LD_PRELOAD=LIBUSB_SHIM. */
  socket: string;
  /** Environment for a child process that should see the simulated device instead of the USB bus. */
  env: NodeJS.ProcessEnv;
  /** Requests served, by name, for tests. */
  readonly counts: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Hosts one simulated USB device for tools running with the libusb shim: the device sits behind
 * webprog's in-memory USB pipe (full-speed frame timing), so a tool sees the same device, with the
 * same timing, as our own driver does. The device stays "plugged in" across tool runs; when it
 * leaves the bus (DfuSe leave, a reset into its application) it is re-enumerated once it is back.
 */
export async function hostUsbSimulator(model: UsbDeviceModel & { readonly present: boolean }, clock: Clock): Promise<UsbSimHost> {
  const dir = mkdtempSync(join(tmpdir(), 'webprog-usb-'));
  const socket = join(dir, 'usb.sock');
  const counts: Record<string, number> = {};
  let pipe: SimulatedUsbPipe | null = null;
  let ended = true;

  /** The current enumeration of the device, or null when it is not on the bus. */
  const device = (): SimulatedUsbPipe | null => {
    if (pipe && !ended) return pipe;
    if (!model.present) return null;
    try {
      pipe = createUsbPipe(model, clock);
    } catch {
      return null;
    }
    ended = false;
    const mine = pipe;
    void mine.closed.then(() => {
      if (pipe === mine) ended = true;
    });
    return pipe;
  };

  const statusOf = (err: unknown): number => {
    if (isStall(err)) return LIBUSB.PIPE;
    if (isFlashError(err, 'device-lost')) return LIBUSB.NO_DEVICE;
    if (isFlashError(err, 'timeout')) return LIBUSB.TIMEOUT;
    return LIBUSB.IO;
  };

  const handle = async (op: number, p: Buffer): Promise<[number, Uint8Array?]> => {
    const name = Object.entries(OP).find(([, v]) => v === op)?.[0] ?? `op${op}`;
    counts[name] = (counts[name] ?? 0) + 1;
    if (op === OP.LIST) {
      const d = device();
      if (!d) return [0];
      const desc = await d.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18);
      const head = await d.controlIn(getDescriptorSetup(DescriptorType.CONFIGURATION), 9);
      const config = await d.controlIn(getDescriptorSetup(DescriptorType.CONFIGURATION), head[2]! | (head[3]! << 8));
      const out = Buffer.alloc(3 + 18 + 2 + config.length);
      out.set([1, 2, 1], 0); // bus 1, address 2, port 1
      out.set(desc, 3);
      out.writeUInt16LE(config.length, 21);
      out.set(config, 23);
      return [1, out];
    }
    const d = pipe && !ended ? pipe : null;
    if (!d) return [op === OP.CLOSE ? 0 : op === OP.RESET ? LIBUSB.NOT_FOUND : LIBUSB.NO_DEVICE];
    switch (op) {
      case OP.OPEN:
      case OP.CLOSE:
        return [0];
      case OP.CLAIM:
        await d.claimInterface(p[1]!);
        return [0];
      case OP.RELEASE:
        await d.releaseInterface(p[1]!);
        return [0];
      case OP.SET_ALT:
        await d.selectAlternateInterface(p[1]!, p[2]!);
        return [0];
      case OP.RESET:
        try {
          await d.reset();
          return [0];
        } catch (err) {
          // The device re-enumerated: libusb says NOT_FOUND, which dfu-util accepts after a reset.
          if (isFlashError(err, 'device-lost')) return [LIBUSB.NOT_FOUND];
          throw err;
        }
      case OP.CONTROL: {
        const type = parseRequestType(p[1]!);
        if (!type) return [LIBUSB.PIPE];
        const setup = { requestType: type.requestType, recipient: type.recipient, request: p[2]!, value: p.readUInt16LE(3), index: p.readUInt16LE(5) };
        const length = p.readUInt16LE(7);
        const timeoutMs = p.readUInt32LE(9) || undefined;
        if (type.direction === 'in') {
          const data = await d.controlIn(setup, length, { timeoutMs });
          return [data.length, data];
        }
        return [await d.controlOut(setup, new Uint8Array(p.subarray(13, 13 + length)), { timeoutMs })];
      }
      default:
        return [LIBUSB.OTHER];
    }
  };

  const serve = (conn: Socket) => {
    let buffered = Buffer.alloc(0);
    let queue = Promise.resolve();
    conn.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32LE(0)) {
        const length = buffered.readUInt32LE(0);
        const frame = buffered.subarray(4, 4 + length);
        buffered = buffered.subarray(4 + length);
        const op = frame[0]!;
        const payload = Buffer.from(frame.subarray(1));
        // Requests are answered in order, one at a time, as a USB host controller queue would.
        queue = queue.then(async () => {
          let status: number;
          let data: Uint8Array | undefined;
          try {
            [status, data] = await handle(op, payload);
          } catch (err) {
            status = err instanceof FlashError || isStall(err) ? statusOf(err) : LIBUSB.OTHER;
          }
          const reply = Buffer.alloc(8 + (data?.length ?? 0));
          reply.writeUInt32LE(4 + (data?.length ?? 0), 0);
          reply.writeInt32LE(status, 4);
          if (data) reply.set(data, 8);
          if (!conn.destroyed) conn.write(reply);
        });
      }
    });
    conn.on('error', () => undefined);
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  return {
    socket,
    env: { ...process.env, ...shimEnv(socket) },
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a tool with the shim preloaded against `host`, with a hard time limit so a hung peer fails the test. */
export function runWithUsbSim(host: UsbSimHost, cmd: string, args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: host.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The variables under which a libusb-1.0 program sees the simulated device instead of the USB bus. */
export function shimEnv(socket: string): Record<string, string> {
  return { LD_PRELOAD: LIBUSB_SHIM, WEBPROG_USB_SOCKET: socket };
}
