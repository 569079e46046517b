#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createImage, describeImage, readImage, writeImage, type FirmwareImage, type WriteFormat } from '../core/image/index';
import { runErase, runJob, runRead, type JobRuntime } from '../core/job/run-job';
import { findDriver, DRIVERS } from '../drivers/registry';
import type { Driver } from '../drivers/types';
import { FlashError, toErrorInfo } from '../shared/errors';
import type { JobEvent } from '../shared/events';
import type { JobOptions, JobReport } from '../shared/model';
import { lineFormatOf } from '../core/io/uart-link';
import { systemClock } from '../transports/clock';
import { hostname } from 'node:os';
import type { SerialReservation, SerialSource } from '../core/production/allocator';
import { applySerial, parseSerialList, serialEncoding, type SerialRule } from '../core/production/serialize';
import { hostOnPty } from './pty-host';
import { appendAudit, countInsertion, JournalSerialAllocator, type AuditRecord } from './state-dir';
import { openSerialStream } from './serial-stream';

const USAGE = `webprog — firmware programmer (headless CLI on the same engine as the web app)

  webprog flash --driver ID --port TTY [--port TTY ...] [--baud N] [--part P] [--erase] [--skip-unchanged] [--no-verify] [--json]
                [--option KEY=VALUE ...] [--address A] FILE | FILE@ADDRESS [FILE@ADDRESS ...]
                [--state-dir DIR [--station NAME] [--socket-life N] [--serial-address A --serial-format F (--serial-start N [--serial-step S] | --serial-list CSV)
                 [--serial-memory flash]]]      F: u16le|u16be|u32le|u32be|u64le|u64be|mac|ascii-dec:W|ascii-hex:W|bcd:W
  webprog read  --driver ID --port TTY --out FILE [--memory flash|eeprom] [--address A] [--length N] [--part P] [--baud N]
  webprog erase --driver ID --port TTY [--part P] [--baud N]
  webprog blank-check --driver ID --port TTY [--memory M] [--part P] [--baud N]      exit 0 blank, 1 not blank
  webprog simulate DRIVER|PART [--part P] [--variant V] [--flash-size 4MB]   prints "PTY <path>", serves until SIGINT/SIGTERM
                (a PART such as esp32 picks the driver that has it: "webprog simulate esp32 --flash-size 4MB")
  webprog info FILE [--json]
  webprog convert IN OUT --to bin|hex|srec|uf2 [--fill 0xFF] [--family ID]   (a bin spans lowest to highest address)
  webprog drivers

Drivers: ${DRIVERS.map((d) => d.meta.id).join(', ')}
Exit status: 0 only when every device verified (flash) or the command succeeded.`;

type Flags = Record<string, string | boolean | string[] | undefined>;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      driver: { type: 'string' },
      port: { type: 'string', multiple: true },
      baud: { type: 'string' },
      part: { type: 'string' },
      chip: { type: 'string' }, // --chip is --part for SPI flash programmers (serprog)
      variant: { type: 'string' },
      'flash-size': { type: 'string' },
      option: { type: 'string', multiple: true },
      out: { type: 'string' },
      memory: { type: 'string' },
      address: { type: 'string' },
      length: { type: 'string' },
      to: { type: 'string' },
      fill: { type: 'string' },
      family: { type: 'string' },
      json: { type: 'boolean' },
      erase: { type: 'boolean' },
      'state-dir': { type: 'string' },
      station: { type: 'string' },
      'socket-life': { type: 'string' },
      'serial-address': { type: 'string' },
      'serial-start': { type: 'string' },
      'serial-step': { type: 'string' },
      'serial-format': { type: 'string' },
      'serial-memory': { type: 'string' },
      'serial-list': { type: 'string' },
      'skip-unchanged': { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!command || values.help || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'flash':
      return flash(values, positionals);
    case 'read':
      return read(values);
    case 'erase':
      return erase(values);
    case 'blank-check':
      return blankCheck(values);
    case 'simulate':
      return simulate(values, positionals);
    case 'info':
      return info(values, positionals);
    case 'convert':
      return convert(values, positionals);
    case 'drivers':
      for (const d of DRIVERS) console.log(`${d.meta.id}\t${d.meta.label}\t${d.meta.targets.map((t) => t.id).join(',')}`);
      return 0;
    default:
      throw usage(`unknown command "${command}"`);
  }
}

async function flash(flags: Flags, files: string[]): Promise<number> {
  const ports = (flags.port as string[] | undefined) ?? [];
  if (ports.length === 0) throw usage('flash needs at least one --port');
  if (files.length === 0) throw usage('flash needs a firmware file (or several FILE@ADDRESS parts)');
  const file = files.map((f) => basename(f)).join(' + ');
  const image = await loadParts(files, optionalNumber(flags.address, '--address'));
  const production = await productionSetup(flags, image);
  const json = Boolean(flags.json);
  // Each port is an independent session: one device failing never stops the others.
  const results = await Promise.all(ports.map((port) => flashOne(flags, port, file, image, production)));
  for (const r of results) {
    const serial = r.serial === undefined ? {} : { serial: r.serial };
    if (json) {
      console.log(JSON.stringify({ port: r.port, file, ok: r.ok, ...serial, ...(r.report ? { report: r.report } : { error: r.error }) }));
    } else if (r.report) {
      console.log(resultLine(r.port, r.report) + (r.serial === undefined ? '' : `, serial ${r.serial}`));
    } else if (r.error) {
      console.log(`FAIL ${r.port}: ${r.error.message}${r.serial === undefined ? '' : ` (serial ${r.serial} voided)`}\n     what to do: ${r.error.hint}`);
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

interface Production {
  stateDir?: string;
  station: string;
  imageSha256: string;
  serial?: { allocator: JournalSerialAllocator; rule: SerialRule };
}

/** Serialization and the audit trail, when --state-dir is given (the serial flags need it). */
async function productionSetup(flags: Flags, image: FirmwareImage): Promise<Production> {
  const stateDir = flags['state-dir'] as string | undefined;
  const station = (flags.station as string | undefined) ?? hostname();
  const imageSha256 = describeImage(image).sha256;
  const address = optionalNumber(flags['serial-address'], '--serial-address');
  if (address === undefined) return { stateDir, station, imageSha256 };
  if (!stateDir) throw usage('--serial-address needs --state-dir DIR, where the counter is kept');
  const rule: SerialRule = { memory: (flags['serial-memory'] as string | undefined) ?? 'flash', address, format: (flags['serial-format'] as string | undefined) ?? 'u32le' };
  serialEncoding(rule.format); // refuse a bad format before any device is touched
  const listFile = flags['serial-list'] as string | undefined;
  const source: SerialSource = listFile
    ? { kind: 'list', values: parseSerialList(await readFile(listFile, 'utf8')) }
    : { kind: 'counter', start: wholeBigInt(flags['serial-start'], '--serial-start') ?? 1n, step: wholeBigInt(flags['serial-step'], '--serial-step') ?? 1n };
  return { stateDir, station, imageSha256, serial: { allocator: new JournalSerialAllocator(stateDir, source), rule } };
}

interface FlashResult {
  port: string;
  ok: boolean;
  serial?: string;
  report?: JobReport;
  error?: ReturnType<typeof toErrorInfo>;
}

async function flashOne(flags: Flags, port: string, file: string, image: FirmwareImage, p: Production): Promise<FlashResult> {
  const started = systemClock.now();
  const job = `${p.station}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const audit = (record: Partial<AuditRecord> & Pick<AuditRecord, 'result'>) =>
    p.stateDir && appendAudit(p.stateDir, { time: new Date().toISOString(), station: p.station, port, file, imageSha256: p.imageSha256, job, ...record });
  let reservation: SerialReservation | undefined;
  try {
    reservation = await p.serial?.allocator.reserve(port);
    const serial = reservation?.value.toString();
    audit({ result: 'running', ...(serial ? { serial } : {}) });
    const deviceImage = reservation && p.serial ? applySerial(image, p.serial.rule, reservation.value) : image;
    const report = await withDriver(flags, port, (driver, rt) => runJob(driver, deviceImage, jobOptions(flags), rt));
    if (reservation) await p.serial!.allocator.settle(reservation, report.verified ? 'used' : 'voided', report.verified ? undefined : 'not verified');
    socketWear(flags, p, port, null);
    audit({ result: report.verified ? 'pass' : 'fail', deviceId: report.device.id, device: report.device.name, durationMs: Math.round(systemClock.now() - started), ...(serial ? { serial } : {}) });
    return { port, ok: report.verified, report, ...(serial ? { serial } : {}) };
  } catch (err) {
    const error = toErrorInfo(err);
    const serial = reservation?.value.toString();
    if (reservation) await p.serial!.allocator.settle(reservation, 'voided', error.message);
    socketWear(flags, p, port, error);
    audit({ result: 'fail', error: error.message, durationMs: Math.round(systemClock.now() - started), ...(serial ? { serial } : {}) });
    return { port, ok: false, error, ...(serial ? { serial } : {}) };
  }
}

/** With --state-dir, every job counts as an insertion on its port's socket; wear warnings go to stderr. */
function socketWear(flags: Flags, p: Production, port: string, error: ReturnType<typeof toErrorInfo> | null): void {
  if (!p.stateDir) return;
  const warning = countInsertion(p.stateDir, `${flags.driver}:${port}`, error, optionalNumber(flags['socket-life'], '--socket-life'));
  if (warning) process.stderr.write(`${port}: ${warning}\n`);
}

function jobOptions(flags: Flags): JobOptions {
  return { verify: !flags['no-verify'], erase: Boolean(flags.erase), skipUnchanged: Boolean(flags['skip-unchanged']) };
}

function resultLine(port: string, report: JobReport): string {
  const what = report.verified ? 'written and verified' : 'written, NOT verified (--no-verify)';
  return `${report.verified ? 'OK  ' : 'WARN'} ${port}: ${report.device.name} (${report.device.id}) ${report.bytesWritten} bytes ${what} in ${(report.durationMs / 1000).toFixed(2)} s`;
}

async function read(flags: Flags): Promise<number> {
  const ports = [singlePort(flags, 'read')];
  if (!flags.out) throw usage('read needs --out FILE');
  const memory = (flags.memory as string | undefined) ?? 'flash';
  const range = { address: optionalNumber(flags.address, '--address'), length: optionalNumber(flags.length, '--length') };
  const result = await withDriver(flags, ports[0]!, (driver, rt) => runRead(driver, memory, range, rt));
  const out = flags.out as string;
  const data = /\.(hex|ihx)$/i.test(out)
    ? writeImage({ format: 'read', segments: [{ memory, address: result.address, data: result.data }] }, 'hex')
    : result.data;
  await writeFile(out, data);
  console.log(`OK   ${ports[0]}: read ${result.data.length} bytes of ${memory} from ${result.identified.device.name} into ${out}`);
  return 0;
}

async function erase(flags: Flags): Promise<number> {
  const port = singlePort(flags, 'erase');
  const identified = await withDriver(flags, port, (driver, rt) => runErase(driver, rt));
  console.log(`OK   ${port}: ${identified.device.name} (${identified.device.id}) erased`);
  return 0;
}

async function blankCheck(flags: Flags): Promise<number> {
  const port = singlePort(flags, 'blank-check');
  const memory = (flags.memory as string | undefined) ?? 'flash';
  const result = await withDriver(flags, port, (driver, rt) => runRead(driver, memory, {}, rt));
  const { fill } = result;
  const dirty = result.data.findIndex((b) => b !== fill);
  const name = result.identified.device.name;
  if (dirty < 0) {
    console.log(`OK   ${port}: ${name} ${memory} is blank (${result.data.length} bytes of 0x${fill.toString(16)})`);
    return 0;
  }
  const at = result.address + dirty;
  console.log(`FAIL ${port}: ${name} ${memory} is not blank: 0x${at.toString(16)} holds 0x${result.data[dirty]!.toString(16)}`);
  return 1;
}

/** `--option key=value` (repeatable) into the driver's options. */
function driverOptions(flags: Flags): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (flags.option as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw usage(`--option takes key=value, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function singlePort(flags: Flags, command: string): string {
  const ports = (flags.port as string[] | undefined) ?? [];
  if (ports.length !== 1) throw usage(`${command} needs exactly one --port`);
  return ports[0]!;
}

async function withDriver<T>(flags: Flags, port: string, job: (driver: Driver, rt: JobRuntime) => Promise<T>): Promise<T> {
  const entry = findDriver(requireString(flags.driver, '--driver'));
  if (!entry) throw usage(`unknown driver "${flags.driver}" (try: ${DRIVERS.map((d) => d.meta.id).join(', ')})`);
  const baudRate = optionalNumber(flags.baud, '--baud');
  // The driver's line format (8E1 for STM32, 8N1 for most): a PTY accepts any, a real bootloader only its own.
  const rate = baudRate ?? entry.meta.serialDefaults?.baudRate ?? 115200;
  const stream = await openSerialStream(port, rate, lineFormatOf(entry.meta, rate));
  const controller = new AbortController();
  const onSignal = () => controller.abort(new FlashError('aborted', 'Interrupted.'));
  process.once('SIGINT', onSignal);
  try {
    const { createDriver } = await entry.load();
    const log = (level: string, message: string) => {
      if (level !== 'debug' || process.env.WEBPROG_DEBUG) process.stderr.write(`${port}: ${message}\n`);
    };
    const driver = createDriver({
      stream,
      clock: systemClock,
      log,
      signal: controller.signal,
      targetId: (flags.chip ?? flags.part) as string | undefined,
      baudRate,
      options: driverOptions(flags),
    });
    const rt: JobRuntime = { clock: systemClock, signal: controller.signal, emit: progressPrinter(port) };
    return await job(driver, rt);
  } finally {
    process.off('SIGINT', onSignal);
    await stream.close();
  }
}

/** Progress on stderr, a few lines per phase, so logs stay readable and stdout stays one line per device. */
function progressPrinter(port: string): (e: JobEvent) => void {
  let lastPct = -1;
  return (e) => {
    if (e.type === 'phase') lastPct = -1;
    if (e.type === 'progress' && e.total > 0) {
      const pct = Math.floor((e.done / e.total) * 4) * 25;
      if (pct !== lastPct) {
        lastPct = pct;
        process.stderr.write(`${port}: ${e.phase} ${pct}% (${e.done}/${e.total} bytes, ${Math.round(e.bytesPerSecond)} B/s)\n`);
      }
    }
  };
}

async function simulate(flags: Flags, args: string[]): Promise<number> {
  const id = args[0] ?? requireString(flags.driver, 'a driver name');
  // A part name stands for the driver that lists it: "simulate esp32" = "simulate esp-rom --part esp32".
  const owner = findDriver(id) ? undefined : DRIVERS.find((d) => d.meta.targets.some((t) => t.id === id));
  const entry = findDriver(id) ?? owner;
  if (!entry) throw usage(`unknown driver or part "${id}"`);
  const part = ((flags.chip ?? flags.part) as string | undefined) ?? (owner ? id : undefined);
  // --flash-size is one more variant token for simulators that model flash size (esp-rom: "4MB").
  const variant = [flags.variant as string | undefined, flags['flash-size'] as string | undefined].filter(Boolean).join(',') || undefined;
  const { createSimulator } = await entry.simulator();
  // `pty`: the host end of a PTY has no rate, so a simulator that changes baud must time its own line.
  const opts = { clock: systemClock, targetId: part, variant, pty: true };
  const simulator = createSimulator(opts);
  const host = await hostOnPty(simulator, { format: lineFormatOf(entry.meta, simulator.baudRate) });
  console.log(`PTY ${host.path}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.stop();
  return 0;
}

async function info(flags: Flags, files: string[]): Promise<number> {
  if (files.length !== 1) throw usage('info needs one file');
  const d = describeImage(await loadImage(files[0]!));
  if (flags.json) {
    console.log(JSON.stringify(d));
    return 0;
  }
  console.log(`format  ${d.format}\nbytes   ${d.totalBytes}\ncrc32   ${d.crc32}\nsha256  ${d.sha256}`);
  for (const s of d.segments) console.log(`segment ${s.memory} 0x${s.address.toString(16).padStart(8, '0')} ${s.length} bytes`);
  return 0;
}

async function convert(flags: Flags, files: string[]): Promise<number> {
  if (files.length !== 2) throw usage('convert needs IN and OUT');
  const to = requireString(flags.to, '--to') as WriteFormat;
  const fill = optionalNumber(flags.fill, '--fill');
  const familyId = optionalNumber(flags.family, '--family');
  const image = await loadImage(files[0]!);
  await writeFile(files[1]!, writeImage(image, to, { ...(fill === undefined ? {} : { fill }), ...(familyId === undefined ? {} : { familyId }) }));
  return 0;
}

/**
 * One image from several parts, esptool style: `boot.bin@0x1000 parts.bin@0x8000 app.bin@0x10000`.
 * `@ADDRESS` (or --address for a single part) places a raw binary; it shifts a file that carries its
 * own addresses (HEX, ELF, ...) only if that file starts at 0. Overlaps that disagree are refused.
 */
async function loadParts(args: string[], address: number | undefined): Promise<FirmwareImage> {
  if (args.length > 1 && address !== undefined) throw usage('use FILE@ADDRESS for each part instead of --address');
  const parts = await Promise.all(
    args.map(async (arg) => {
      const at = /^(.*)@(0x[0-9a-f]+|\d+)$/i.exec(arg);
      const path = at ? at[1]! : arg;
      const base = at ? Number(at[2]) : address;
      const image = await loadImage(path, base);
      if (base !== undefined && image.format !== 'bin') {
        const start = Math.min(...image.segments.map((s) => s.address));
        if (start !== 0 && start !== base) throw usage(`${path} already starts at 0x${start.toString(16)}; drop @0x${base.toString(16)}`);
        if (start === 0) return { ...image, segments: image.segments.map((s) => ({ ...s, address: s.address + base })) };
      }
      return image;
    }),
  );
  return parts.length === 1 ? parts[0]! : createImage('parts', parts.flatMap((p) => p.segments));
}

async function loadImage(path: string, baseAddress?: number): Promise<FirmwareImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new FlashError('bad-image', `Cannot read ${path}: ${(err as Error).message}`, { hint: 'Check the file name.' });
  }
  return readImage(bytes, baseAddress === undefined ? { name: basename(path) } : { name: basename(path), baseAddress });
}

function usage(message: string): FlashError {
  return new FlashError('unsupported', message, { hint: 'Run "webprog --help" for the commands and flags.' });
}

function requireString(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw usage(`missing ${what}`);
  return v;
}

function wholeBigInt(v: unknown, what: string): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw usage(`${what} must be a whole number (decimal or 0x hex), got "${String(v)}"`);
  return BigInt(v);
}

function optionalNumber(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) throw usage(`${what} must be a whole number (decimal or 0x hex), got "${String(v)}"`);
  return n;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    const e = toErrorInfo(err);
    console.error(`error: ${e.message}\n  what to do: ${e.hint}`);
    process.exit(2);
  },
);
