import { findDriver, isLink, DRIVERS, type DriverEntry, type LinkDriverEntry } from '../../drivers/registry';
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
import { usbLabel, type UsbMatch } from '../usb/open-usb';

/** Everything the user chose about the device, checked before any port is opened. */
export interface DeviceChoice {
  entry: DriverEntry;
  /** Serial port paths, or for a USB driver one "usb:VID:PID[:SERIAL]" label (what result lines name). */
  ports: string[];
  usb?: UsbMatch;
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
  const usbText = stringFlag(flags, 'usb');
  const rest = { ...baudOf(flags), ...targetOf(flags, entry), options: optionsOf(flags, entry) };
  if (entry.meta.link === 'usb') {
    if (ports.length > 0) throw new UsageError(`${id} is a USB driver and takes --usb, not --port`, 'Give the device with --usb VID:PID[:SERIAL] (webprog ports lists them).');
    const usb = usbText === undefined ? defaultUsb(entry) : parseUsb(usbText);
    return { entry, ports: [usbLabel(usb)], usb, ...rest };
  }
  if (usbText !== undefined) throw new UsageError(`${id} talks over a serial port: use --port, not --usb`, 'For example --port /dev/ttyUSB0.');
  if (ports.length === 0) throw new UsageError(`${command} needs --port`, 'For example --port /dev/ttyUSB0 (webprog ports lists them).');
  if (ports.length > 1 && !opts.multiPort) throw new UsageError(`${command} takes one --port`, `Run one ${command} per port (only flash drives several boards at once).`);
  return { entry, ports, ...rest };
}

/** "VID:PID[:SERIAL]" in hex, as lsusb and dfu-util print them. */
function parseUsb(text: string): UsbMatch {
  const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::(.+))?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--usb takes VID:PID[:SERIAL] in hex, got "${text}"`, 'For example --usb 0483:df11 (webprog ports lists devices).');
  return { vendorId: parseInt(m[1]!, 16), productId: parseInt(m[2]!, 16), ...(m[3] ? { serialNumber: m[3] } : {}) };
}

/** Without --usb: the driver's one well-known VID:PID, if it has exactly one. */
function defaultUsb(entry: DriverEntry): UsbMatch {
  const known = (entry.meta.usbFilters ?? []).filter((f) => f.usbProductId !== undefined);
  if (known.length !== 1) throw new UsageError(`${entry.meta.id} needs --usb VID:PID[:SERIAL]`, 'webprog ports lists the USB devices it claims.');
  return { vendorId: known[0]!.usbVendorId, productId: known[0]!.usbProductId };
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
  if (isLink(entry, 'usb') && choice.usb) return withUsbDriver(entry, choice, choice.usb, port, out, job, opts);
  if (!isLink(entry, 'serial')) throw new UsageError(`${entry.meta.id} is a ${entry.link} driver, which the CLI cannot reach yet`, 'Use it from the app.');
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

/** The same for a USB driver: the device through npm `usb`'s WebUSB and the browser's openUsbDevice(). */
async function withUsbDriver<T>(entry: LinkDriverEntry<'usb'>, choice: DeviceChoice, match: UsbMatch, label: string, out: Output, job: (driver: Driver, rt: JobRuntime) => Promise<T>, opts: { redraw?: boolean }): Promise<T> {
  const { openUsb } = await import('../usb/open-usb');
  const { pipe, reopen } = await openUsb(match, systemClock);
  let current = pipe;
  const controller = new AbortController();
  const onSignal = () => controller.abort(new FlashError('aborted', 'Interrupted.'));
  process.once('SIGINT', onSignal);
  try {
    const { createDriver } = await entry.load();
    const driver = createDriver({
      usb: pipe,
      clock: systemClock,
      log: out.logFor(label),
      signal: controller.signal,
      targetId: choice.targetId,
      options: choice.options,
      reopen: async (m) => (current = await reopen(m)),
    });
    const rt: JobRuntime = { clock: systemClock, signal: controller.signal, emit: out.progressFor(label, opts.redraw ?? true) };
    return await job(driver, rt);
  } finally {
    process.off('SIGINT', onSignal);
    await current.close().catch(() => undefined);
  }
}
