import { describeImage } from '../core/image/index';
import type { ByteStream } from '../core/io/byte-stream';
import type { UsbPipe } from '../core/io/usb-pipe';
import type { Identified } from '../core/job/driver-api';
import { runJob, type JobHooks } from '../core/job/run-job';
import { applySerial, serialLocation } from '../core/production/serialize';
import { findDriver } from '../drivers/registry';
import type { AuditRecord, JobSpec, Recipe, StationEvent, StationJobSpec, StationReport } from '../shared/api';
import { FlashError, isFlashError, toErrorInfo } from '../shared/errors';
import type { JobEvent, JobPhase } from '../shared/events';
import type { DeviceSelector, DriverInfo } from '../shared/model';
import type { UsbMatch } from '../transports/reacquire';
import { deliver, type WorkerContext } from './api/context';
import { openDriverSession } from './links';
import type { ApiDeps } from './api/deps';
import { entryFrom } from './firmware-cache';
import { intake, refusalError, requireDevice } from './intake';
import type { InstallPlan } from './manifests';
import * as recipeRules from './production/recipes';
import { throttleEvents } from './sessions';
import { beginJob, updateJob } from './storage/audit-log';
import * as library from './storage/firmware';
import * as serials from './storage/serials';

/*
 * The one job every kind of write runs through in the worker: a plain flash, a station job (a recipe:
 * serial reserved, audited, settled) and a manifest install (the image bound once the chip answers).
 *
 * Invariants:
 * - a job's cross-tab lock is taken before its record is written, so a 'running' record whose lock is
 *   gone belongs to a job that was cut off;
 * - a job's History record exists before its link is opened, and is completed when the job ends;
 * - the outcome is the returned report or the thrown FlashError (naming its phase); events carry progress.
 */

/** What a station job adds to a plain one: the recipe it runs and where the device sits. */
export interface ProductionRun {
  recipe: Recipe;
  spec: StationJobSpec;
  mesUrl: string | undefined;
}

/** One job, as the API concerns ask for it. */
export interface FlashRun {
  spec: JobSpec;
  onEvent: (event: StationEvent) => void;
  /** A station job: the recipe and the slot. */
  production?: ProductionRun;
  /** Gap between progress events; a station of many slots asks for fewer than a single job. */
  progressIntervalMs?: number;
  /** A manifest install: the build is chosen and bound after identify. */
  install?: InstallPlan;
}

export async function runFlashJob(ctx: WorkerContext, run: FlashRun): Promise<StationReport> {
  const { deps, sessions, timers, mes } = ctx;
  const { spec, onEvent, production: prod, install: late } = run;
  const progressIntervalMs = run.progressIntervalMs ?? deps.progressIntervalMs ?? 40;
  const controller = sessions.start(spec.jobId);
  if (!controller) throw new FlashError('conflict', `Job ${spec.jobId} is already running.`);
  const forward = (event: StationEvent) => deliver(onEvent, event);
  const events = throttleEvents(forward, progressIntervalMs, () => deps.clock.now(), timers);
  let release: (() => void) | null = null;
  try {
    const entry = findDriver(spec.driverId);
    if (!entry) throw new FlashError('not-found', `No programmer called "${spec.driverId}".`);
    // An install's image is bound once the chip is known (manifests.ts); a flash's is the file's.
    const fw = late ? late.firmware : await ctx.firmware.get(spec.firmware.fileSha256);
    // The desk check again, before the library, the lock and History: a job that could have been
    // refused on the desk never reaches the board or History. An install's parts are checked by its plan.
    const desk = late ? null : intake(fw, { driverId: spec.driverId, ...pick(spec, 'targetId', 'address', 'consent') });
    if (desk && !desk.verdict.ok) throw refusalError(desk.verdict.refusal);
    const db = await deps.db();
    if (spec.keepInLibrary && !late) {
      try {
        await library.saveFirmware(db, entryFrom(fw.summary, deps.now()), fw.bytes, { used: deps.now() });
      } catch (err) {
        events.emit({ type: 'log', level: 'warn', message: `The file was not kept in the library: ${toErrorInfo(err).message}` });
      }
    }

    release = await deps.locks.hold(spec.jobId);
    // The serial is reserved under the job's lock, before anything is written about the device:
    // from here on the number belongs to this job, used or voided, never handed out again.
    const serialRule = prod?.recipe.serial;
    let serial: { allocator: serials.IdbSerialAllocator; reservation: { value: bigint; slot: string }; text: string } | null = null;
    if (serialRule && prod) {
      // Abandoned reservations are voided once per worker before its first number (and on every
      // History or serial read); correctness does not need it, as reserved numbers count as taken.
      await ctx.reconcileOnce(db);
      const allocator = new serials.IdbSerialAllocator(db, {
        pool: serialRule.pool,
        source: serials.serialSource(serialRule),
        format: serialRule.format,
        jobId: spec.jobId,
        now: deps.now,
      });
      const reservation = await allocator.reserve(prod.spec.slot);
      serial = { allocator, reservation, text: serials.serialText(reservation.value, serialRule.format) };
      events.flush();
      forward({ type: 'serial', value: reservation.value.toString(), text: serial.text });
    }
    const settle = async (used: boolean, note?: string) => {
      if (!serial) return;
      try {
        await serial.allocator.settle(serial.reservation, used ? 'used' : 'voided', note);
      } catch (err) {
        // Left 'reserved', the number is voided on the next reconcile: still never reused.
        events.emit({ type: 'log', level: 'warn', message: `The serial's outcome could not be saved: ${toErrorInfo(err).message}` });
      }
    };
    const started = deps.clock.now();
    const record: AuditRecord = {
      jobId: spec.jobId,
      status: 'running',
      startedAt: deps.now(),
      fileName: fw.summary.name,
      fileSha256: fw.summary.fileSha256,
      imageSha256: fw.summary.imageSha256,
      imageBytes: fw.summary.totalBytes,
      driverId: spec.driverId,
      deviceKind: spec.device.kind,
      deviceLabel: spec.deviceLabel,
      phase: 'connect',
      appVersion: deps.appVersion,
    };
    if (spec.targetId !== undefined) record.targetId = spec.targetId;
    if (prod) {
      const { recipe, spec: station } = prod;
      Object.assign(record, {
        station: station.station,
        slot: station.slot,
        recipeId: recipe.id,
        recipeName: recipe.name,
        recipeRevision: recipe.revision,
        attempt: station.attempt ?? 1,
        ...withoutEmpty({ lot: station.scan?.lot, workOrder: station.scan?.workOrder, boardId: station.scan?.boardId }),
      } satisfies Partial<AuditRecord>);
    }
    if (serial) {
      record.serial = serial.text;
      record.serialValue = serial.reservation.value.toString();
      record.serialAt = serialLocation(recipeRules.serialRule(serialRule!)).text;
    }
    // Written ahead: if this fails (storage full), the job does not start and nothing is touched.
    try {
      await beginJob(db, record);
    } catch (err) {
      await settle(false, `not programmed: ${toErrorInfo(err).message}`);
      throw err;
    }

    let phase: JobPhase = 'connect';
    let pendingAudit: Promise<unknown> = Promise.resolve();
    // History follows the job: the phase it reached and the device that answered, so a job cut off
    // by a closed tab still says where it stopped and on which chip.
    const audit = (patch: Partial<AuditRecord>) => {
      pendingAudit = pendingAudit.then(() => updateJob(db, spec.jobId, patch)).catch(() => {});
    };
    const track = (event: JobEvent) => {
      if (event.type === 'phase') {
        phase = event.phase;
        audit({ phase });
      }
      if (event.type === 'identified') {
        const { id, name, bootloader } = event.device;
        audit({ deviceId: id, deviceName: name, ...(bootloader ? { bootloader } : {}) });
      }
      events.emit(event);
    };
    const finish = async (patch: Partial<AuditRecord>) => {
      await pendingAudit;
      let final: AuditRecord | null = null;
      try {
        final = await updateJob(db, spec.jobId, { ...patch, phase, finishedAt: deps.now(), durationMs: deps.clock.now() - started });
      } catch (err) {
        events.emit({ type: 'log', level: 'warn', message: `The result could not be saved in History: ${toErrorInfo(err).message}` });
      }
      const url = prod?.mesUrl?.trim();
      if (url && final) {
        try {
          await mes.enqueue(url, final);
        } catch (err) {
          events.emit({ type: 'log', level: 'warn', message: `The record could not be queued for the MES: ${toErrorInfo(err).message}` });
        }
      }
    };

    try {
      let image = desk?.image ?? fw.image;
      if (serial && serialRule) {
        image = applySerial(image, recipeRules.serialRule(serialRule), serial.reservation.value);
        audit({ programmedSha256: describeImage(image).sha256 });
      }
      // A serial port that re-enumerated during connect (a chip's own USB port) is found again once.
      let device = spec.device;
      let expectedPortCount = spec.expectedPortCount;
      let driverOptions = spec.driverOptions;
      for (let attempt = 1; ; attempt++) {
        // Each link kind opens its own way; the driver gets its own kind's context (worker/links.ts).
        const session = await openDriverSession(entry, deps, {
          device,
          ...(expectedPortCount === undefined ? {} : { expectedPortCount }),
          ...(spec.baudRate === undefined ? {} : { baudRate: spec.baudRate }),
          context: {
            clock: deps.clock,
            log: (level, message) => track({ type: 'log', level, message }),
            signal: controller.signal,
            ...(spec.targetId === undefined ? {} : { targetId: spec.targetId }),
            ...(driverOptions ? { options: driverOptions } : {}),
          },
          signal: controller.signal,
        });
        let failure: unknown;
        try {
          const expected = prod?.recipe.expectedDeviceId;
          const requires = desk?.verdict.ok ? desk.verdict.requires : undefined;
          const hooks: JobHooks = {
            accept: (found) => {
              if (expected) expectDevice(expected, found);
              if (requires) requireDevice(requires, found.device);
            },
            ...(late ? { prepare: late.prepare({ audit, log: track, signal: controller.signal }) } : {}),
          };
          const report = await runJob(session.driver, image, spec.options, { clock: deps.clock, signal: controller.signal, emit: track, hooks });
          await settle(report.verified, report.verified ? undefined : 'written but not verified');
          await finish({
            status: 'passed',
            deviceId: report.device.id,
            deviceName: report.device.name,
            ...(report.device.bootloader ? { bootloader: report.device.bootloader } : {}),
            bytesWritten: report.bytesWritten,
            bytesVerified: report.bytesVerified,
            verified: report.verified,
          });
          return serial ? { ...report, serial: serial.text } : report;
        } catch (err) {
          failure = err;
        } finally {
          await session.close();
        }
        const again = attempt === 1 && session.stream ? await reacquire(deps, failure, session.stream, device, entry.meta, phase, controller.signal) : null;
        if (!again) throw failure;
        track({ type: 'log', level: 'info', message: 'The board came back as a new USB device in download mode: continuing on it.' });
        device = again.selector;
        expectedPortCount = again.expectedPortCount;
        driverOptions = { ...driverOptions, ...entry.meta.reenumerates?.options };
      }
    } catch (err) {
      const failure = jobFailure(err, controller.signal, phase);
      const error = failure.toInfo();
      await settle(false, error.message);
      await finish({ status: error.code === 'aborted' ? 'cancelled' : 'failed', error });
      throw failure;
    }
  } finally {
    events.flush();
    release?.();
    sessions.end(spec.jobId);
  }
}

/**
 * After a failed attempt on a serial port: the port the device came back on, when the failure was its
 * own USB port re-enumerating (DriverInfo.reenumerates) before anything was written; otherwise null.
 * When it does not come back by itself, the error asks for one step: pick the port again.
 */
async function reacquire(deps: ApiDeps, failure: unknown, lost: ByteStream, device: DeviceSelector, meta: DriverInfo, phase: JobPhase, signal: AbortSignal) {
  const ids = meta.reenumerates;
  if (!ids || device.kind !== 'serial' || device.usbVendorId !== ids.usbVendorId) return null;
  if (!isFlashError(failure, 'device-lost') || (phase !== 'connect' && phase !== 'identify') || signal.aborted) return null;
  const found = deps.reacquireSerialPort ? await deps.reacquireSerialPort(lost, ids, { clock: deps.clock, signal }).catch(() => null) : null;
  if (found) return found;
  throw new FlashError('port-unavailable', 'The board restarted in download mode as a new USB device, which this page may not use yet.', {
    hint: 'Choose the port again (the board now waits in download mode), then start again.',
    details: { reason: 'reenumerated', usbVendorId: ids.usbVendorId },
    action: { kind: 'pick-port-again', link: 'serial', vendorId: ids.usbVendorId, resumeOptions: { ...ids.options } },
  });
}

/** A recipe's device check: any device whose ID is not the recipe's is refused before anything is written. */
function expectDevice(expected: string, found: Identified): void {
  if (found.device.id.toLowerCase() !== expected) {
    throw new FlashError('wrong-target', `This device answers with ID ${found.device.id} (${found.device.name}); the recipe expects ${expected}.`, {
      hint: 'Put the right board in the slot, or check the recipe.',
      details: { expected, actual: found.device.id },
    });
  }
}

/** The listed fields of `o` that are set. */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<T, K>>;
}

function withoutEmpty<T extends Record<string, string | undefined>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v.trim() !== '')) as Partial<T>;
}


/** Whatever ended a job, as the FlashError its Result carries: with the phase it stopped in. */
function jobFailure(err: unknown, signal: AbortSignal, phase: JobPhase): FlashError {
  const failure = isFlashError(err)
    ? err
    : signal.aborted
      ? new FlashError('aborted', 'The job was cancelled.', { cause: err })
      : new FlashError('internal', `Unexpected error: ${toErrorInfo(err).message}`, { cause: err });
  failure.phase ??= phase;
  return failure;
}
