import { createSha256 } from '../core/bytes/sha256';
import { toHex } from '../core/bytes/hex';
import type { ByteStream } from '../core/io/byte-stream';
import type { Clock } from '../core/io/clock';
import { describeImage, readImage, type FirmwareImage } from '../core/image/index';
import { runJob } from '../core/job/run-job';
import { DRIVERS, findDriver } from '../drivers/registry';
import type {
  AuditRecord,
  FirmwareEntry,
  FirmwareFile,
  FlasherApi,
  ImageSummary,
  JobSpec,
  Settings,
} from '../shared/api';
import { FlashError, toErrorInfo, type FlashErrorInfo, type Result } from '../shared/errors';
import type { JobEvent, JobPhase } from '../shared/events';
import type { DeviceSelector, JobReport, SerialDefaults } from '../shared/model';
import { Monitors } from './monitors';
import { throttleEvents, type JobLocks, Sessions } from './sessions';
import { beginJob, historyExport, listJobs, markInterrupted, updateJob } from './storage/audit-log';
import type { FlasherDb } from './storage/db';
import * as library from './storage/firmware';
import * as settings from './storage/settings';

/** What the API is built from; the worker passes the browser's, tests pass fakes. */
export interface ApiDeps {
  /** The database, opened on first use. */
  db: () => Promise<FlasherDb>;
  /** Monotonic time for the engine and links. */
  clock: Clock;
  /** Wall-clock epoch milliseconds, for History. */
  now: () => number;
  openLink: (
    selector: DeviceSelector,
    opts: { clock: Clock; serialDefaults?: SerialDefaults; expectedPortCount?: number },
  ) => Promise<ByteStream>;
  locks: JobLocks;
  appVersion: string;
  /** Minimum gap between progress events sent to the page; 40 ms = 25 per second. */
  progressIntervalMs?: number;
  timers?: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void };
}

/** Parsed firmware kept ready between `inspect` and `flash`; a few recent files at most. */
interface LoadedFirmware {
  summary: ImageSummary;
  image: FirmwareImage;
  bytes: ArrayBuffer;
}

const CACHE_LIMIT = 4;

/**
 * The worker's implementation of FlasherApi.
 *
 * Invariants:
 * - every method returns a Result; exceptions inside become `{ ok: false, error }` here and nowhere
 *   else, so nothing is thrown across comlink;
 * - a job's History record exists before its link is opened, and is completed when the job ends;
 * - a job's cross-tab lock is taken before its record is written, so a 'running' record whose lock is
 *   gone belongs to a job that was cut off.
 */
export function createApi(deps: ApiDeps): FlasherApi {
  const sessions = new Sessions();
  const loaded = new Map<string, LoadedFirmware>();
  const timers = deps.timers ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const monitors = new Monitors(33, timers);

  const remember = (fw: LoadedFirmware) => {
    loaded.delete(fw.summary.fileSha256);
    loaded.set(fw.summary.fileSha256, fw);
    while (loaded.size > CACHE_LIMIT) loaded.delete(loaded.keys().next().value!);
  };

  const load = async (file: FirmwareFile): Promise<LoadedFirmware> => {
    if (!(file.bytes instanceof ArrayBuffer)) throw new FlashError('bad-image', 'No file content was received.');
    const bytes = new Uint8Array(file.bytes);
    const fileSha256 = await sha256Hex(bytes);
    const image = readImage(bytes, { name: file.name });
    const d = describeImage(image);
    const summary: ImageSummary = {
      name: file.name,
      fileSize: bytes.length,
      fileSha256,
      format: d.format,
      segments: d.segments,
      totalBytes: d.totalBytes,
      imageSha256: d.sha256,
      crc32: d.crc32,
    };
    if (d.entry !== undefined) summary.entry = d.entry;
    if (d.meta !== undefined) summary.meta = d.meta;
    const fw = { summary, image, bytes: file.bytes };
    remember(fw);
    return fw;
  };

  /** The firmware a job names: parsed this session, or from the library. */
  const firmwareFor = async (fileSha256: string): Promise<LoadedFirmware> => {
    const cached = loaded.get(fileSha256);
    if (cached) return cached;
    const stored = await library.getFirmware(await deps.db(), fileSha256);
    if (!stored) throw library.notInLibrary(fileSha256);
    return load({ name: stored.entry.name, bytes: stored.bytes });
  };

  /** Marks jobs whose tab went away as interrupted. Records newer than the lock snapshot are left alone. */
  const reconcile = async (db: FlasherDb) => {
    const before = deps.now();
    const alive = await deps.locks.held();
    await markInterrupted(db, (r) => r.startedAt >= before || alive.has(r.jobId) || sessions.has(r.jobId));
  };

  const flash = async (spec: JobSpec, onEvent: (event: JobEvent) => void): Promise<JobReport> => {
    const controller = sessions.start(spec.jobId);
    if (!controller) throw new FlashError('internal', `Job ${spec.jobId} is already running.`);
    const forward = (event: JobEvent) => {
      try {
        // A comlink-proxied listener returns a promise; a page that went away must not fail the job.
        void Promise.resolve(onEvent?.(event)).catch(() => {});
      } catch {
        // same: the listener's problems are not the job's
      }
    };
    const events = throttleEvents(forward, deps.progressIntervalMs ?? 40, () => deps.clock.now(), timers);
    let release: (() => void) | null = null;
    try {
      const entry = findDriver(spec.driverId);
      if (!entry) throw new FlashError('unsupported', `No programmer called "${spec.driverId}".`);
      const fw = await firmwareFor(spec.firmware.fileSha256);
      const db = await deps.db();
      if (spec.keepInLibrary) {
        try {
          await library.saveFirmware(db, entryFrom(fw.summary, deps.now()), fw.bytes, { used: deps.now() });
        } catch (err) {
          events.emit({ type: 'log', level: 'warn', message: `The file was not kept in the library: ${toErrorInfo(err).message}` });
        }
      }

      release = await deps.locks.hold(spec.jobId);
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
      // Written ahead: if this fails (storage full), the job does not start and nothing is touched.
      await beginJob(db, record);

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
        if (event.type !== 'failed') events.emit(event);
      };
      const finish = async (patch: Partial<AuditRecord>) => {
        await pendingAudit;
        try {
          await updateJob(db, spec.jobId, { ...patch, phase, finishedAt: deps.now(), durationMs: deps.clock.now() - started });
        } catch (err) {
          events.emit({ type: 'log', level: 'warn', message: `The result could not be saved in History: ${toErrorInfo(err).message}` });
        }
      };

      try {
        const stream = await deps.openLink(spec.device, {
          clock: deps.clock,
          ...(entry.meta.serialDefaults ? { serialDefaults: entry.meta.serialDefaults } : {}),
          ...(spec.expectedPortCount === undefined ? {} : { expectedPortCount: spec.expectedPortCount }),
        });
        try {
          const { createDriver } = await entry.load();
          const driver = createDriver({
            stream,
            clock: deps.clock,
            log: (level, message) => track({ type: 'log', level, message }),
            signal: controller.signal,
            ...(spec.targetId === undefined ? {} : { targetId: spec.targetId }),
            ...(spec.baudRate === undefined ? {} : { baudRate: spec.baudRate }),
          });
          const report = await runJob(driver, fw.image, spec.options, { clock: deps.clock, signal: controller.signal, emit: track });
          await finish({
            status: 'passed',
            deviceId: report.device.id,
            deviceName: report.device.name,
            ...(report.device.bootloader ? { bootloader: report.device.bootloader } : {}),
            bytesWritten: report.bytesWritten,
            bytesVerified: report.bytesVerified,
            verified: report.verified,
          });
          return report;
        } finally {
          await stream.close().catch(() => {});
        }
      } catch (err) {
        const error = jobError(err, controller.signal);
        await finish({ status: error.code === 'aborted' ? 'cancelled' : 'failed', error });
        events.emit({ type: 'failed', error, phase });
        throw new FlashError(error.code, error.message, { hint: error.hint, ...(error.details ? { details: error.details } : {}) });
      }
    } finally {
      events.flush();
      release?.();
      sessions.end(spec.jobId);
    }
  };

  return {
    listDrivers: () => guard(async () => DRIVERS.map((d) => structuredClone(d.meta))),

    inspect: (file) => guard(async () => (await load(file)).summary),

    flash: (spec, onEvent) => guard(() => flash(spec, onEvent)),

    cancel: (jobId) => guard(async () => sessions.cancel(jobId)),

    listFirmware: () => guard(async () => library.listFirmware(await deps.db())),

    addFirmware: (file, notes) =>
      guard(async () => {
        const fw = await load(file);
        const db = await deps.db();
        const entry = await library.saveFirmware(db, entryFrom(fw.summary, deps.now(), notes), fw.bytes);
        return notes !== undefined && entry.notes !== notes ? library.updateFirmware(db, entry.fileSha256, { notes }) : entry;
      }),

    useFirmware: (fileSha256) => guard(async () => (await firmwareFor(fileSha256)).summary),

    updateFirmware: (fileSha256, patch) => guard(async () => library.updateFirmware(await deps.db(), fileSha256, patch)),

    removeFirmware: (fileSha256) => guard(async () => library.removeFirmware(await deps.db(), fileSha256)),

    listHistory: (query) =>
      guard(async () => {
        const db = await deps.db();
        await reconcile(db);
        return listJobs(db, query?.limit);
      }),

    exportHistory: (format) =>
      guard(async () => {
        if (format !== 'csv' && format !== 'json') throw new FlashError('unsupported', `Cannot export History as ${String(format)}.`);
        const db = await deps.db();
        await reconcile(db);
        return historyExport(await listJobs(db), format, deps.now());
      }),

    openMonitor: (spec, onEvent) =>
      guard(async () => {
        if (!Number.isInteger(spec.baudRate) || spec.baudRate <= 0) throw new FlashError('unsupported', `${spec.baudRate} is not a baud rate.`);
        const stream = await deps.openLink(spec.device, {
          clock: deps.clock,
          serialDefaults: { baudRate: spec.baudRate },
          ...(spec.expectedPortCount === undefined ? {} : { expectedPortCount: spec.expectedPortCount }),
        });
        return monitors.start(stream, (event) => {
          try {
            void Promise.resolve(onEvent?.(event)).catch(() => {});
          } catch {
            // a page that went away must not break the worker
          }
        });
      }),

    writeMonitor: (monitorId, bytes) =>
      guard(async () => {
        await monitors.write(monitorId, bytes);
        return true;
      }),

    closeMonitor: (monitorId) => guard(() => monitors.stop(monitorId)),

    getSettings: () => guard(async () => settings.getSettings(await deps.db())),

    updateSettings: (patch: Partial<Settings>) => guard(async () => settings.updateSettings(await deps.db(), patch)),
  };
}

/** Exceptions inside, values across the boundary. */
async function guard<T>(op: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await op() };
  } catch (err) {
    return { ok: false, error: toErrorInfo(err) };
  }
}

function jobError(err: unknown, signal: AbortSignal): FlashErrorInfo {
  if (signal.aborted && !(err instanceof FlashError)) {
    return { code: 'aborted', message: 'The job was cancelled.', hint: new FlashError('aborted', '').hint };
  }
  return toErrorInfo(err);
}

function entryFrom(s: ImageSummary, now: number, notes = ''): Omit<FirmwareEntry, 'useCount' | 'lastUsedAt'> {
  return {
    fileSha256: s.fileSha256,
    name: s.name,
    fileSize: s.fileSize,
    format: s.format,
    totalBytes: s.totalBytes,
    imageSha256: s.imageSha256,
    addedAt: now,
    notes,
  };
}

/** SHA-256 of the file: the platform's digest where there is one, the pure one otherwise. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle) {
    try {
      return toHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
    } catch {
      // fall through to the pure implementation
    }
  }
  return toHex(createSha256().update(bytes).digest());
}
