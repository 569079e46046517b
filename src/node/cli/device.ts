import { findDriver, DRIVERS, type DriverEntry } from '../../drivers/registry';
import type { Driver } from '../../drivers/types';
import { resolveTarget, validateDriverOptions } from '../../core/job/options';
import type { JobRuntime } from '../../core/job/run-job';
import { lineFormatOf } from '../../core/io/uart-link';
import { systemClock } from '../../transports/clock';
import { FlashError } from '../../shared/errors';
import { closest, listFlag, stringFlag } from './args';
import type { Output } from './output';
import { UsageError, type Flags } from './spec';
import { openSerialStream } from '../serial-stream';

/** Everything the user chose about the device, checked before any port is opened. */
export interface DeviceChoice {
  entry: DriverEntry;
  ports: string[];
  baudRate?: number;
  targetId?: string;
  options: Record<string, string>;
}

/** Rates a UART adapter can be asked for; anything else is almost certainly a typo. */
const MIN_BAUD = 300;
const MAX_BAUD = 12_000_000;

/**
 * Reads and validates --driver, --port, --baud, --part/--chip, --option, --consent, --before and
 * --after. Throws a usage error (exit 2) for any mistake: nothing has been opened, reset or reserved.
 */
export function deviceChoice(flags: Flags, command: string, opts: { multiPort?: boolean } = {}): DeviceChoice {
  const entry = deviceDriver(flags, command);
  const id = entry.meta.id;
  const ports = listFlag(flags, 'port');
  if (entry.meta.link === 'usb') {
    throw new UsageError(`${id} is a USB driver`, 'Give the device with --usb VID:PID[:SERIAL] (webprog ports lists them).');
  }
  if (ports.length === 0) throw new UsageError(`${command} needs --port`, 'For example --port /dev/ttyUSB0 (webprog ports lists them).');
  if (ports.length > 1 && !opts.multiPort) throw new UsageError(`${command} takes one --port`, `Run one ${command} per port (only flash drives several boards at once).`);
  return { entry, ports, ...baudOf(flags), ...targetOf(flags, entry), options: optionsOf(flags, entry) };
}

/** The registry entry --driver names (a usage error when missing or unknown, with the nearest name). */
export function deviceDriver(flags: Flags, command: string): DriverEntry {
  const id = stringFlag(flags, 'driver');
  const all = DRIVERS.map((d) => d.meta.id);
  if (!id) throw new UsageError(`${command} needs --driver`, `Drivers: ${all.join(', ')} (webprog drivers).`);
  const entry = findDriver(id);
  if (entry) return entry;
  const near = closest(id, all);
  throw new UsageError(`unknown driver "${id}"`, near ? `Did you mean --driver ${near}? (webprog drivers lists all)` : `Drivers: ${all.join(', ')}.`);
}

function baudOf(flags: Flags): { baudRate?: number } {
  const text = stringFlag(flags, 'baud');
  if (text === undefined) return {};
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < MIN_BAUD || n > MAX_BAUD) {
    throw new UsageError(`--baud must be a whole number of bits per second between ${MIN_BAUD} and ${MAX_BAUD}, got "${text}"`, 'For example --baud 115200.');
  }
  return { baudRate: n };
}

function targetOf(flags: Flags, entry: DriverEntry): { targetId?: string } {
  const text = stringFlag(flags, 'chip') ?? stringFlag(flags, 'part');
  if (text === undefined) return {};
  const { target, suffix } = rethrowAsUsage(() => resolveTarget(entry.meta, text));
  return { targetId: `${target?.id ?? ''}${suffix}` };
}

function optionsOf(flags: Flags, entry: DriverEntry): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const kv of listFlag(flags, 'option')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--option takes KEY=VALUE, got "${kv}"`, `For example --option flash-mode=dio (webprog parts --driver ${entry.meta.id} lists the keys).`);
    raw[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  for (const name of ['before', 'after']) {
    const v = stringFlag(flags, name);
    if (v === undefined) continue;
    if (!entry.meta.options?.some((o) => o.name === name)) throw new UsageError(`${entry.meta.id} has no --${name} choice`, 'Its bootloader is entered and left one way only.');
    raw[name] = v;
  }
  return rethrowAsUsage(() => validateDriverOptions(entry.meta, raw, listFlag(flags, 'consent')));
}

function rethrowAsUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FlashError && err.code === 'usage') throw new UsageError(err.message, err.hint);
    throw err;
  }
}

/**
 * Opens the port, creates the driver and runs `job` with progress and driver messages going to `out`.
 * Ctrl-C aborts between blocks (never mid-frame), and the port is always closed.
 */
export async function withDriver<T>(choice: DeviceChoice, port: string, out: Output, job: (driver: Driver, rt: JobRuntime) => Promise<T>, opts: { redraw?: boolean } = {}): Promise<T> {
  const { entry, baudRate } = choice;
  // The driver's line format (8E1 for STM32, 8N1 for most): a PTY accepts any, a real bootloader only its own.
  const rate = baudRate ?? entry.meta.serialDefaults?.baudRate ?? 115200;
  const stream = await openSerialStream(port, rate, lineFormatOf(entry.meta, rate));
  const controller = new AbortController();
  const onSignal = () => controller.abort(new FlashError('aborted', 'Interrupted.'));
  process.once('SIGINT', onSignal);
  try {
    const { createDriver } = await entry.load();
    const driver = createDriver({
      stream,
      clock: systemClock,
      log: out.logFor(port),
      signal: controller.signal,
      targetId: choice.targetId,
      baudRate,
      options: choice.options,
    });
    const rt: JobRuntime = { clock: systemClock, signal: controller.signal, emit: out.progressFor(port, opts.redraw ?? true) };
    return await job(driver, rt);
  } finally {
    process.off('SIGINT', onSignal);
    await stream.close();
  }
}
