import { createSha256 } from '../core/bytes/sha256';
import { toHex } from '../core/bytes/hex';
import type { ByteStream } from '../core/io/byte-stream';
import type { Clock } from '../core/io/clock';
import type { UsbPipe } from '../core/io/usb-pipe';
import { describeImage, readImage, type FirmwareImage } from '../core/image/index';
import { runJob } from '../core/job/run-job';
import type { Driver } from '../core/job/driver-api';
import { applySerial, parseSerialList } from '../core/production/serialize';
import { DRIVERS, findDriver } from '../drivers/registry';
import type {
  AuditRecord,
  FirmwareEntry,
  FirmwareFile,
  FlasherApi,
  ImageSummary,
  JobSpec,
  Recipe,
  RecipeDraft,
  Settings,
  StationEvent,
  StationJobSpec,
  StationReport,
} from '../shared/api';
import { FlashError, isFlashError, toErrorInfo, type FlashErrorInfo, type Result } from '../shared/errors';
import type { JobEvent, JobPhase } from '../shared/events';
import type { DeviceSelector, DriverInfo, JobReport, SerialDefaults } from '../shared/model';
import type { UsbMatch } from '../transports/reacquire';
import { ManifestStore, type FetchFile, type InstallPlan } from './manifests';
import { Inspector } from './inspector';
import { Monitors } from './monitors';
import { MesQueue, type MesQueueDeps } from './production/mes-queue';
import * as recipeRules from './production/recipes';
import { throttleEvents, type JobLocks, Sessions } from './sessions';
import { beginJob, historyExport, listJobs, markInterrupted, updateJob } from './storage/audit-log';
import type { FlasherDb } from './storage/db';
import * as library from './storage/firmware';
import * as recipes from './storage/recipes';
import * as serials from './storage/serials';
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
  /** For drivers whose meta says link 'usb'. */
  openUsbLink: (selector: DeviceSelector, opts: { clock: Clock }) => Promise<UsbPipe>;
  /**
   * Opens a USB device again after it re-enumerated (a DFU detach); without it a USB driver asks the
   * user to connect the device again. transports/reacquire.ts reopenUsbLink.
   */
  reopenUsbLink?: (previous: UsbPipe, match: UsbMatch, opts: { clock: Clock; signal?: AbortSignal }) => Promise<UsbPipe>;
  /**
   * Finds a serial port again after the device re-enumerated on reset (DriverInfo.reenumerates), or null
   * (then the page asks the user to pick it once). transports/reacquire.ts reacquireSerialPort.
   */
  reacquireSerialPort?: (
    lost: ByteStream,
    ids: { usbVendorId: number; usbProductIds: readonly number[] },
    opts: { clock: Clock; signal?: AbortSignal },
  ) => Promise<{ selector: Extract<DeviceSelector, { kind: 'serial' }>; expectedPortCount: number } | null>;
  /** Downloads manifests and their parts; the platform's fetch by default. */
  fetchFile?: FetchFile;
  locks: JobLocks;
  appVersion: string;
  /** Minimum gap between progress events sent to the page; 40 ms = 25 per second. */
  progressIntervalMs?: number;
  timers?: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void };
  /** For MES delivery; the platform's fetch by default. */
  fetch?: MesQueueDeps['fetch'];
  /** MES retry timing, for tests. */
  mesBackoff?: { baseMs: number; maxMs: number; random?: () => number };
}

/** What a station job adds to a plain one: the recipe it runs and where the device sits. */
interface ProductionRun {
  recipe: Recipe;
  spec: StationJobSpec;
  mesUrl: string | undefined;
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
  const mes = new MesQueue({
    db: deps.db,
    fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
    now: deps.now,
    timers,
    ...(deps.mesBackoff
      ? { baseBackoffMs: deps.mesBackoff.baseMs, maxBackoffMs: deps.mesBackoff.maxMs, ...(deps.mesBackoff.random ? { random: deps.mesBackoff.random } : {}) }
      : {}),
  });

  const remember = (fw: LoadedFirmware) => {
    loaded.delete(fw.summary.fileSha256);
    loaded.set(fw.summary.fileSha256, fw);
    while (loaded.size > CACHE_LIMIT) loaded.delete(loaded.keys().next().value!);
  };

  /** Parses a file; `keep` puts it in the cache `flash` reads from (the inspector's files stay out of it). */
  const load = async (file: FirmwareFile, keep = true): Promise<LoadedFirmware> => {
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
    if (keep) remember(fw);
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

  const manifests = new ManifestStore(deps.fetchFile);

  /**
   * After a failed attempt on a serial port: the port the device came back on, when the failure was its
   * own USB port re-enumerating (DriverInfo.reenumerates) before anything was written; otherwise null.
   * When it does not come back by itself, the error asks for one step: pick the port again.
   */
  const reacquire = async (failure: unknown, lost: ByteStream, device: DeviceSelector, meta: DriverInfo, phase: JobPhase, signal: AbortSignal) => {
    const ids = meta.reenumerates;
    if (!ids || device.kind !== 'serial' || device.usbVendorId !== ids.usbVendorId) return null;
    if (!isFlashError(failure, 'device-lost') || (phase !== 'connect' && phase !== 'identify') || signal.aborted) return null;
    const found = deps.reacquireSerialPort ? await deps.reacquireSerialPort(lost, ids, { clock: deps.clock, signal }).catch(() => null) : null;
    if (found) return found;
    throw new FlashError('port-unavailable', 'The board restarted in download mode as a new USB device, which this page may not use yet.', {
      hint: 'Choose the port again (the board now waits in download mode), then start again.',
      details: {
        reason: 'reenumerated',
        usbVendorId: ids.usbVendorId,
        options: Object.entries(ids.options).map(([k, v]) => `${k}=${v}`).join(','),
      },
    });
  };

  const inspector = new Inspector({
    parse: (file) => load(file, false),
    fromLibrary: async (fileSha256) => {
      const cached = loaded.get(fileSha256);
      if (cached) return cached;
      const stored = await library.getFirmware(await deps.db(), fileSha256);
      if (!stored) throw library.notInLibrary(fileSha256);
      return load({ name: stored.entry.name, bytes: stored.bytes }, false);
    },
  });

  /** Marks jobs whose tab went away as interrupted. Records newer than the lock snapshot are left alone. */
  let reconciledSerials: Promise<void> | null = null;
  const reconcile = async (db: FlasherDb) => {
    const before = deps.now();
    const alive = await deps.locks.held();
    await markInterrupted(db, (r) => r.startedAt >= before || alive.has(r.jobId) || sessions.has(r.jobId));
    // A serial reserved by such a job is voided the same way: it may be in a half-written device.
    await serials.voidAbandoned(db, (r) => r.reservedAt >= before || alive.has(r.jobId) || sessions.has(r.jobId), deps.now());
  };

  const flash = async (
    spec: JobSpec,
    onEvent: (event: StationEvent) => void,
    prod?: ProductionRun,
    progressIntervalMs = deps.progressIntervalMs ?? 40,
    late?: InstallPlan,
  ): Promise<StationReport> => {
    const controller = sessions.start(spec.jobId);
    if (!controller) throw new FlashError('internal', `Job ${spec.jobId} is already running.`);
    const forward = (event: StationEvent) => {
      try {
        // A comlink-proxied listener returns a promise; a page that went away must not fail the job.
        void Promise.resolve(onEvent?.(event)).catch(() => {});
      } catch {
        // same: the listener's problems are not the job's
      }
    };
    const events = throttleEvents(forward, progressIntervalMs, () => deps.clock.now(), timers);
    let release: (() => void) | null = null;
    try {
      const entry = findDriver(spec.driverId);
      if (!entry) throw new FlashError('unsupported', `No programmer called "${spec.driverId}".`);
      // An install's image is bound once the chip is known (manifests.ts); a flash's is the file's.
      const fw = late ? late.firmware : await firmwareFor(spec.firmware.fileSha256);
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
        reconciledSerials ??= reconcile(db).catch(() => {});
        await reconciledSerials;
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
        if (event.type !== 'failed') events.emit(event);
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
        let image = fw.image;
        if (serial && serialRule) {
          image = applySerial(fw.image, recipeRules.serialRule(serialRule), serial.reservation.value);
          audit({ programmedSha256: describeImage(image).sha256 });
        }
        // A serial port that re-enumerated during connect (a chip's own USB port) is found again once.
        let device = spec.device;
        let expectedPortCount = spec.expectedPortCount;
        let driverOptions = spec.driverOptions;
        for (let attempt = 1; ; attempt++) {
          // A serial driver gets a ByteStream, a USB driver a UsbPipe; everything else is the same.
          const link: { usb: UsbPipe } | { stream: ByteStream } =
            entry.meta.link === 'usb'
              ? { usb: await deps.openUsbLink(device, { clock: deps.clock }) }
              : {
                  stream: await deps.openLink(device, {
                    clock: deps.clock,
                    ...(entry.meta.serialDefaults ? { serialDefaults: entry.meta.serialDefaults } : {}),
                    ...(expectedPortCount === undefined ? {} : { expectedPortCount }),
                  }),
                };
          // Pipes to the device after it re-enumerated (a DFU detach), closed with the link.
          const reopened: UsbPipe[] = [];
          let failure: unknown;
          try {
            const { createDriver } = await entry.load();
            const reopenUsb = deps.reopenUsbLink;
            const created = createDriver({
              // A USB driver's createDriver takes { usb } in place of { stream } (drivers/usb-types.ts).
              ...(link as { stream: ByteStream }),
              clock: deps.clock,
              log: (level, message) => track({ type: 'log', level, message }),
              signal: controller.signal,
              ...(spec.targetId === undefined ? {} : { targetId: spec.targetId }),
              ...(spec.baudRate === undefined ? {} : { baudRate: spec.baudRate }),
              ...(driverOptions ? { options: driverOptions } : {}),
              // UsbDriverContext.reopen: the device is found again by getDevices(), no second prompt.
              ...('usb' in link && reopenUsb
                ? {
                    reopen: async (match: UsbMatch) => {
                      const pipe = await reopenUsb(reopened.at(-1) ?? link.usb, match, { clock: deps.clock, signal: controller.signal });
                      reopened.push(pipe);
                      return pipe;
                    },
                  }
                : {}),
            });
            const expected = prod?.recipe.expectedDeviceId;
            const checked = expected ? expectingDevice(created, expected) : created;
            const driver = late ? late.wrap(checked, { audit, log: track, signal: controller.signal }) : checked;
            const report = await runJob(driver, image, spec.options, { clock: deps.clock, signal: controller.signal, emit: track });
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
            for (const pipe of reopened) await pipe.close().catch(() => {});
            await ('usb' in link ? link.usb : link.stream).close().catch(() => {});
          }
          const again = attempt === 1 && 'stream' in link ? await reacquire(failure, link.stream, device, entry.meta, phase, controller.signal) : null;
          if (!again) throw failure;
          track({ type: 'log', level: 'info', message: 'The board came back as a new USB device in download mode: continuing on it.' });
          device = again.selector;
          expectedPortCount = again.expectedPortCount;
          driverOptions = { ...driverOptions, ...entry.meta.reenumerates?.options };
        }
      } catch (err) {
        const error = jobError(err, controller.signal);
        await settle(false, error.message);
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

    // A plain job never reserves a serial, so its listener only ever sees JobEvents.
    flash: (spec, onEvent) => guard(() => flash(spec, onEvent as (event: StationEvent) => void)),

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
        mes.kick(); // records left waiting by an earlier session go out now
        return listJobs(db, query?.limit, query?.since);
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

    runRecipe: (spec, onEvent) =>
      guard(async () => {
        const db = await deps.db();
        const recipe = await recipes.getRecipe(db, spec.recipeId);
        if (!recipe) throw new FlashError('unsupported', 'That recipe no longer exists.', { hint: 'Choose a recipe again.' });
        if (spec.recipeRevision !== undefined && spec.recipeRevision !== recipe.revision) {
          throw new FlashError('unsupported', `"${recipe.name}" was changed since the station loaded it.`, {
            hint: 'Check the recipe, then start again.',
            details: { loadedRevision: spec.recipeRevision, currentRevision: recipe.revision },
          });
        }
        const current = await settings.getSettings(db);
        const job: JobSpec = {
          jobId: spec.jobId,
          driverId: recipe.driverId,
          ...(recipe.targetId === undefined ? {} : { targetId: recipe.targetId }),
          device: spec.device,
          deviceLabel: spec.deviceLabel,
          firmware: { fileSha256: recipe.firmware.fileSha256 },
          options: recipe.options,
          ...(spec.expectedPortCount === undefined ? {} : { expectedPortCount: spec.expectedPortCount }),
        };
        return flash(job, onEvent, { recipe, spec, mesUrl: current.mesUrl }, spec.progressIntervalMs);
      }),

    listRecipes: () => guard(async () => recipes.listRecipes(await deps.db())),

    saveRecipe: (draft: RecipeDraft, pin?: string) =>
      guard(async () => {
        const db = await deps.db();
        const existing = draft.id ? await recipes.getRecipe(db, draft.id) : undefined;
        if (existing) recipeRules.requirePin(existing, pin, 'changing it');
        const fw = await firmwareFor(draft.firmware?.fileSha256 ?? '').catch(() => {
          throw new FlashError('bad-image', 'The recipe\'s firmware is not in the library.', { hint: 'Add the file to the library, then choose it.' });
        });
        const id = existing?.id ?? draft.id ?? newId();
        // A serial rule without a pool name counts in the recipe's own pool.
        const serial = draft.serial ? { ...draft.serial, pool: draft.serial.pool?.trim() || id } : undefined;
        const clean = recipeRules.validateDraft(
          { ...draft, ...(serial ? { serial } : {}), firmware: { fileSha256: fw.summary.fileSha256, name: draft.firmware.name || fw.summary.name } },
          fw.image,
        );
        const now = deps.now();
        const recipe: Recipe = {
          ...clean,
          id,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
          revision: (existing?.revision ?? 0) + 1,
          ...(existing?.lock ? { lock: existing.lock } : {}),
        };
        if (!(await recipes.putRecipe(db, recipe, existing?.revision))) {
          throw new FlashError('unsupported', `"${recipe.name}" was changed elsewhere meanwhile.`, { hint: 'Reload the recipe and make the change again.' });
        }
        return recipe;
      }),

    deleteRecipe: (recipeId, pin) =>
      guard(async () => {
        const db = await deps.db();
        const existing = await recipes.getRecipe(db, recipeId);
        if (!existing) return false;
        recipeRules.requirePin(existing, pin, 'deleting it');
        return recipes.deleteRecipe(db, recipeId);
      }),

    lockRecipe: (recipeId, pin) => guard(() => changeLock(recipeId, pin, true)),

    unlockRecipe: (recipeId, pin) => guard(() => changeLock(recipeId, pin, false)),

    checkRecipePin: (recipeId, pin) =>
      guard(async () => {
        const existing = await recipes.getRecipe(await deps.db(), recipeId);
        return existing ? recipeRules.pinOpens(existing.lock, pin) : false;
      }),

    exportRecipe: (recipeId) =>
      guard(async () => {
        const db = await deps.db();
        const recipe = await recipes.getRecipe(db, recipeId);
        if (!recipe) throw new FlashError('unsupported', 'That recipe no longer exists.');
        const stored = await library.getFirmware(db, recipe.firmware.fileSha256);
        return recipeRules.recipeExport(recipe, stored ? { name: stored.entry.name, bytes: stored.bytes } : null, deps.now());
      }),

    importRecipe: (text) =>
      guard(async () => {
        const db = await deps.db();
        const { recipe, firmware } = recipeRules.parseRecipeFile(String(text));
        if (firmware) {
          const bytes = firmware.bytes.slice().buffer;
          const fw = await load({ name: firmware.name, bytes });
          if (fw.summary.fileSha256 !== recipe.firmware?.fileSha256) {
            throw new FlashError('bad-image', 'The firmware inside the recipe file does not match its SHA-256.', { hint: 'Export the recipe again from the station that made it.' });
          }
          await library.saveFirmware(db, entryFrom(fw.summary, deps.now(), `From recipe "${recipe.name}"`), fw.bytes);
        }
        const fw = await firmwareFor(recipe.firmware?.fileSha256 ?? '').catch(() => {
          throw new FlashError('bad-image', 'The recipe file has no firmware, and its image is not in the library.', { hint: 'Add the image to the library first, or export the recipe with its firmware.' });
        });
        const clean = recipeRules.validateDraft(recipe, fw.image);
        const now = deps.now();
        const existing = recipe.id ? await recipes.getRecipe(db, recipe.id) : undefined;
        // An import never overwrites a recipe silently: a recipe with the same ID becomes a new revision
        // only if it is not locked; otherwise the import is kept beside it as a copy.
        const replace = existing !== undefined && !existing.lock;
        const id = existing && !replace ? newId() : recipe.id || newId();
        const lock = recipe.lock && typeof recipe.lock.salt === 'string' && typeof recipe.lock.pinSha256 === 'string' ? recipe.lock : undefined;
        const out: Recipe = {
          ...clean,
          id,
          name: existing && !replace ? `${clean.name} (imported)` : clean.name,
          createdAt: replace ? existing.createdAt : now,
          updatedAt: now,
          revision: replace ? existing.revision + 1 : 1,
          ...(lock ? { lock } : {}),
        };
        if (!(await recipes.putRecipe(db, out, replace ? existing.revision : undefined))) {
          throw new FlashError('unsupported', 'The recipe was changed elsewhere during the import.', { hint: 'Import it again.' });
        }
        return out;
      }),

    readSerialList: (text) => guard(async () => parseSerialList(String(text)).map((v) => v.toString())),

    listSerials: (query) =>
      guard(async () => {
        const db = await deps.db();
        await reconcile(db);
        return serials.listSerials(db, query ?? {});
      }),

    serialStatus: (recipeId) =>
      guard(async () => {
        const db = await deps.db();
        const recipe = await recipes.getRecipe(db, recipeId);
        if (!recipe?.serial) return null;
        await reconcile(db);
        return serials.poolStatus(db, recipe.serial);
      }),

    mesStatus: () =>
      guard(async () => {
        const db = await deps.db();
        const url = (await settings.getSettings(db)).mesUrl?.trim() || null;
        mes.kick();
        return mes.status(url);
      }),

    retryMes: () =>
      guard(async () => {
        const db = await deps.db();
        await mes.retryNow();
        return mes.status((await settings.getSettings(db)).mesUrl?.trim() || null);
      }),

    openImage: (slot, source) => guard(() => inspector.open(slot, source)),

    closeImage: (slot) => guard(async () => inspector.close(slot)),

    readImageBytes: (request) => guard(async () => inspector.read(request)),

    diffImages: () => guard(async () => inspector.diff()),

    findDifference: (from, direction) => guard(async () => inspector.step(from, direction)),

    loadManifest: (source) => guard(() => manifests.load(source)),

    install: (spec, onEvent) =>
      guard(async () => {
        const plan = manifests.plan(manifests.get(String(spec?.firmware?.fileSha256 ?? '')));
        const { serial: _none, ...report } = await flash({ ...spec, keepInLibrary: false }, onEvent as (event: StationEvent) => void, undefined, undefined, plan);
        const build = plan.build();
        if (!build) throw new FlashError('internal', 'The install finished without choosing a build.');
        return { ...report, build };
      }),
  };

  async function changeLock(recipeId: string, pin: string, lock: boolean): Promise<Recipe> {
    const db = await deps.db();
    const existing = await recipes.getRecipe(db, recipeId);
    if (!existing) throw new FlashError('unsupported', 'That recipe no longer exists.');
    recipeRules.requirePin(existing, pin, lock ? 'locking it again' : 'unlocking it');
    const now = deps.now();
    const { lock: _old, ...rest } = existing;
    const next: Recipe = { ...rest, updatedAt: now, revision: existing.revision + 1, ...(lock ? { lock: recipeRules.newLock(pin, now) } : {}) };
    if (!(await recipes.putRecipe(db, next, existing.revision))) throw new FlashError('unsupported', `"${existing.name}" was changed elsewhere meanwhile.`);
    return next;
  }
}

/**
 * The driver, refusing any device whose ID is not the recipe's: checked right after identify, so
 * nothing is written to the wrong part.
 */
function expectingDevice(driver: Driver, expected: string): Driver {
  const identify = driver.identify.bind(driver);
  driver.identify = async () => {
    const found = await identify();
    if (found.device.id.toLowerCase() !== expected) {
      throw new FlashError('wrong-target', `This device answers with ID ${found.device.id} (${found.device.name}); the recipe expects ${expected}.`, {
        hint: 'Put the right board in the slot, or check the recipe.',
        details: { expected, actual: found.device.id },
      });
    }
    return found;
  };
  return driver;
}

function withoutEmpty<T extends Record<string, string | undefined>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v.trim() !== '')) as Partial<T>;
}

function newId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
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
