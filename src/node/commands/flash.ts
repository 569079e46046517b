import { resolve } from 'node:path';
import { applySerial, serialLocation } from '../../core/production/serialize';
import type { SerialReservation } from '../../core/production/allocator';
import { runJob } from '../../core/job/run-job';
import { toErrorInfo, type FlashErrorInfo } from '../../shared/errors';
import type { JobOptions, JobReport } from '../../shared/model';
import { systemClock } from '../../transports/clock';
import { appendAudit, countInsertion, type AuditRecord } from '../state-dir';
import { deviceChoice, withDriver, type DeviceChoice } from '../cli/device';
import { displayName } from '../cli/files';
import { helpHint, stringFlag } from '../cli/args';
import { manifestInstall } from '../cli/manifest-files';
import { PLACEMENT_FLAGS, placedImage, requiring, type PlacedImage } from '../cli/placement';
import { PRODUCTION_FLAGS, productionSetup, type Production } from '../cli/production';
import { DEVICE_FLAGS, EXIT, MULTI_PORT, OUTPUT_FLAGS, UsageError, type Command, type CommandContext } from '../cli/spec';
import type { Output } from '../cli/output';

export const command: Command = {
  name: 'flash',
  usage: [
    'flash --driver ID --port TTY [--port TTY ...] [flags] FILE',
    'flash --driver ID --port TTY [flags] FILE@ADDRESS [FILE@ADDRESS ...]',
    'flash --manifest MANIFEST [--pubkey PUBLIC_KEY] --driver ID --port TTY',
  ],
  flags: [
    ...DEVICE_FLAGS.map((f) => (f.name === 'port' ? MULTI_PORT : f)),
    ...PLACEMENT_FLAGS,
    { name: 'manifest', type: 'string', value: 'FILE', description: 'Install a firmware manifest: the build for the device that answers, its parts read beside the manifest and checked first.' },
    { name: 'pubkey', type: 'string', value: 'FILE', description: 'With --manifest: the vendor\'s public key; the manifest must be signed with it.' },
    { name: 'erase', type: 'boolean', description: 'Erase the whole chip before writing (drivers that can).' },
    { name: 'skip-unchanged', type: 'boolean', description: 'Read first and write only the blocks that differ.' },
    { name: 'no-verify', type: 'boolean', description: 'Do not read back: the result says NOT verified (exit 0; a serial is kept as unverified).' },
    ...PRODUCTION_FLAGS,
    ...OUTPUT_FLAGS,
  ],
  positionals: { min: 0, max: Infinity, name: 'firmware file' },
  notes: [
    'FILE is Intel HEX, S-record, ELF, UF2, DfuSe or raw binary ("-" reads stdin). Files are checked before any',
    'port opens (exit 2): empty, text and web-page files, content that contradicts the name, another chip\'s',
    'image, an ESP app over the boot area, an image that does not fit. Each --port is an',
    'independent session: one board failing never stops the others; exit 0 only when every board verified.',
  ],
  examples: [
    'flash --driver stk500v1 --port /dev/ttyACM0 --part m328p blink.hex',
    'flash --driver esp-rom --port /dev/ttyUSB0 --baud 921600 boot.bin@0x1000 parts.bin@0x8000 app.bin@0x10000',
    'flash --driver stm32-usart --port /dev/ttyUSB0 --before default-reset --after hard-reset app.bin     (a raw .bin goes to 0x08000000)',
    'flash --driver esp-rom --port /dev/ttyUSB0 app.bin     (an ESP-IDF/Arduino app goes to 0x10000, a bootloader to its chip\'s offset)',
    'flash --driver stk500v1 --port /dev/ttyUSB0 --port /dev/ttyUSB1 --state-dir prod --serial-address 0x7ffc --serial-start 1000 app.hex',
    'flash --json --driver serprog --port /dev/ttyACM0 --chip W25Q16 --consent unprotect bios.bin',
    'flash --manifest fw/manifest.json --pubkey keys/public-key.txt --driver stk500v1 --port /dev/ttyACM0',
  ],
  run,
};

async function run({ flags, args, out, cwd }: CommandContext): Promise<number> {
  const choice = deviceChoice(flags, 'flash', { multiPort: true });
  if (flags.erase && !choice.entry.meta.capabilities.erase) {
    throw new UsageError(`--erase is not available with ${choice.entry.meta.id}: its bootloader has no chip erase`, 'Drop --erase: it erases each page as it writes it.');
  }
  const manifestPath = stringFlag(flags, 'manifest');
  if (manifestPath) return installManifest({ flags, args, out, cwd }, choice, manifestPath);
  if (args.length === 0) throw new UsageError('flash needs a firmware file', helpHint(command));
  const file = args.map(displayName).join(' + ');
  const { image, requires } = await placedImage({ flags, args, out, cwd }, choice, out);
  const production = await productionSetup(flags, image, cwd);
  const options: JobOptions = { verify: !flags['no-verify'], erase: Boolean(flags.erase), skipUnchanged: Boolean(flags['skip-unchanged']) };
  const redraw = choice.ports.length === 1;
  // Each port is an independent session: one device failing never stops the others.
  const results = await Promise.all(choice.ports.map((port) => flashOne(choice, port, file, { image, ...(requires ? { requires } : {}) }, options, production, out, redraw)));
  for (const r of results) printResult(out, file, r);
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

/** `--manifest`: one session per port; the build is picked, checked and written once the device answered. */
async function installManifest({ flags, args, out, cwd }: CommandContext, choice: DeviceChoice, path: string): Promise<number> {
  if (args.length > 0) throw new UsageError('flash --manifest takes no firmware file', 'The manifest names its parts; drop the file.');
  const pubkey = stringFlag(flags, 'pubkey');
  const install = await manifestInstall(resolve(cwd, path), choice.entry.meta.id, pubkey === undefined ? undefined : resolve(cwd, pubkey));
  const options: JobOptions = { verify: !flags['no-verify'], erase: Boolean(flags.erase), skipUnchanged: Boolean(flags['skip-unchanged']) };
  const file = `${install.manifest.name}${install.manifest.version ? ` ${install.manifest.version}` : ''}`;
  const results = await Promise.all(
    choice.ports.map(async (port): Promise<FlashResult> => {
      try {
        const report = await withDriver(choice, port, out, (driver, rt) => runJob(driver, install.image, options, install.withHook(rt)), { redraw: choice.ports.length === 1 });
        return { port, ok: report.verified || options.verify === false, report };
      } catch (err) {
        return { port, ok: false, error: toErrorInfo(err) };
      }
    }),
  );
  for (const r of results) printResult(out, file, r);
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

interface FlashResult {
  port: string;
  ok: boolean;
  serial?: string;
  report?: JobReport;
  error?: FlashErrorInfo;
}

async function flashOne(choice: DeviceChoice, port: string, file: string, { image, requires }: PlacedImage, options: JobOptions, p: Production, out: Output, redraw: boolean): Promise<FlashResult> {
  const started = systemClock.now();
  const job = `${p.station}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const audit = (record: Partial<AuditRecord> & Pick<AuditRecord, 'result'>) =>
    p.stateDir && appendAudit(p.stateDir, { time: new Date().toISOString(), station: p.station, port, file, imageSha256: p.imageSha256, job, ...record });
  let reservation: SerialReservation | undefined;
  try {
    reservation = await p.serial?.allocator.reserve(port);
    const serial = reservation?.value.toString();
    const serialAt = p.serial ? { serialAt: serialLocation(p.serial.rule).text } : {};
    audit({ result: 'running', ...(serial ? { serial } : {}), ...serialAt });
    const deviceImage = reservation && p.serial ? applySerial(image, p.serial.rule, reservation.value) : image;
    const report = await withDriver(choice, port, out, (driver, rt) => runJob(driver, deviceImage, options, requiring(rt, requires)), { redraw });
    // With verification turned off the number is on the device but unproven: kept apart, never reused.
    const ok = report.verified || options.verify === false;
    if (reservation) await p.serial!.allocator.settle(reservation, report.verified ? 'used' : ok ? 'unverified' : 'voided', report.verified ? undefined : 'not verified');
    socketWear(choice, p, port, null, out);
    audit({ result: report.verified ? 'pass' : ok ? 'unverified' : 'fail', deviceId: report.device.id, device: report.device.name, durationMs: Math.round(systemClock.now() - started), ...(serial ? { serial } : {}), ...serialAt });
    return { port, ok, report, ...(serial ? { serial } : {}) };
  } catch (err) {
    const error = toErrorInfo(err);
    const serial = reservation?.value.toString();
    if (reservation) await p.serial!.allocator.settle(reservation, 'voided', error.message);
    socketWear(choice, p, port, error, out);
    audit({ result: 'fail', error: error.message, durationMs: Math.round(systemClock.now() - started), ...(serial ? { serial } : {}) });
    return { port, ok: false, error, ...(serial ? { serial } : {}) };
  }
}

/** With --state-dir, every job counts as an insertion on its port's socket; wear warnings go to stderr. */
function socketWear(choice: DeviceChoice, p: Production, port: string, error: FlashErrorInfo | null, out: Output): void {
  if (!p.stateDir) return;
  const warning = countInsertion(p.stateDir, `${choice.entry.meta.id}:${port}`, error, p.socketLife);
  if (warning) out.note(`${port}: ${warning}`);
}

function printResult(out: Output, file: string, r: FlashResult): void {
  const serial = r.serial === undefined ? {} : { serial: r.serial };
  if (r.error) {
    out.failure(r.port, r.error, { file, ...serial }, r.serial === undefined ? '' : ` (serial ${r.serial} voided)`);
    return;
  }
  const report = r.report!;
  out.result({ ok: r.ok, port: r.port, file, verified: report.verified, ...serial, report }, () => {
    const what = report.verified ? 'written and verified' : 'written, NOT verified (--no-verify): read it back with "webprog verify"';
    const head = report.verified ? 'OK  ' : 'WARN';
    return `${head} ${r.port}: ${report.device.name} (${report.device.id}) ${report.bytesWritten} bytes ${what} in ${(report.durationMs / 1000).toFixed(2)} s${r.serial === undefined ? '' : `, serial ${r.serial}${report.verified ? '' : ' (unverified)'}`}`;
  });
}
