import { createHash } from 'node:crypto';
import { proxy, transfer } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSpec, MonitorEvent } from '../../src/shared/api';
import { openLink } from '../../src/transports/index';
import { FakePort } from './fake-serial';
import type { JobEvent } from '../../src/shared/events';
import { beginJob, listJobs } from '../../src/worker/storage/audit-log';
import { openFlasherDb } from '../../src/worker/storage/db';
import type { JobLocks } from '../../src/worker/sessions';
import { createImage, writeImage } from '../../src/core/image/index';
import { buffer, connectApi, makeHex, ok } from './helpers';

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function setup(...args: Parameters<typeof connectApi>) {
  const c = connectApi(...args);
  closers.push(c.close);
  return c;
}

function spec(fileSha256: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    jobId: crypto.randomUUID(),
    driverId: 'stk500v1',
    targetId: 'm328p',
    device: { kind: 'virtual', driverId: 'stk500v1', targetId: 'm328p' },
    deviceLabel: 'Arduino Uno (virtual)',
    firmware: { fileSha256 },
    options: {},
    keepInLibrary: true,
    ...extra,
  };
}

describe('worker API over comlink', () => {
  it('lists the registry as plain metadata', async () => {
    const { api } = setup();
    const drivers = ok(await api.listDrivers());
    expect(drivers.map((d) => d.id)).toContain('stk500v1');
    expect(drivers[0]!.targets.some((t) => t.boards.includes('Arduino Uno'))).toBe(true);
  });

  it('inspects a HEX file handed over by transfer', async () => {
    const { api } = setup();
    const hex = makeHex(3000);
    const bytes = buffer(hex);
    const summary = ok(await api.inspect(transfer({ name: 'blink.hex', bytes }, [bytes])));
    expect(bytes.byteLength).toBe(0); // moved, not copied
    expect(summary).toMatchObject({ name: 'blink.hex', format: 'ihex', totalBytes: 3000, fileSize: hex.length });
    expect(summary.segments).toEqual([{ memory: 'flash', address: 0, length: 3000 }]);
    expect(summary.fileSha256).toBe(createHash('sha256').update(hex).digest('hex'));
  });

  it('reports a broken file as a value, not a thrown error', async () => {
    const { api } = setup();
    const bad = await api.inspect({ name: 'broken.hex', bytes: buffer(new TextEncoder().encode(':10000000ZZ\n')) });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('bad-image');
    const nothing = await api.inspect({ name: 'x', bytes: 'not a buffer' as unknown as ArrayBuffer });
    expect(nothing.ok).toBe(false);
    const unknownJob = await api.flash(spec('0'.repeat(64)), proxy(() => {}));
    expect(unknownJob.ok).toBe(false);
    if (!unknownJob.ok) expect(unknownJob.error.code).toBe('bad-image');
    const summary = ok(await api.inspect({ name: 'app.hex', bytes: buffer(makeHex(256)) }));
    const noDriver = await api.flash({ ...spec(summary.fileSha256), driverId: 'no-such-driver' }, proxy(() => {}));
    expect(noDriver.ok).toBe(false);
    if (!noDriver.ok) expect(noDriver.error.code).toBe('not-found');
    const badExport = await api.exportHistory('xml' as 'csv');
    expect(badExport.ok).toBe(false);
    if (!badExport.ok) expect(badExport.error.code).toBe('invalid-argument');
  });

  it('flashes a virtual Uno, verifies, and records the job in History and the library', async () => {
    const { api } = setup();
    const summary = ok(await api.inspect({ name: 'app.hex', bytes: buffer(makeHex(4096)) }));
    const events: JobEvent[] = [];
    const job = spec(summary.fileSha256);
    const report = ok(await api.flash(job, proxy((e: JobEvent) => void events.push(e))));
    expect(report).toMatchObject({ verified: true, bytesWritten: 4096, bytesVerified: 4096 });
    expect(report.device.id).toBe('1e950f');

    const phases = events.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
    expect(phases).toEqual(['connect', 'identify', 'validate', 'write', 'verify', 'finish']);
    // Events carry progress only: the outcome is the Result.
    expect(events.at(-1)).toMatchObject({ type: 'phase', phase: 'finish' });
    // Throttled: at most ~25 progress events a second, and the last one of each phase is kept.
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeLessThanOrEqual(Math.ceil((report.durationMs / 1000) * 25) + 4);
    const lastWrite = progress.filter((e) => e.phase === 'write').at(-1);
    expect(lastWrite).toMatchObject({ done: 4096, total: 4096 });

    const [record] = ok(await api.listHistory());
    expect(record).toMatchObject({
      jobId: job.jobId,
      status: 'passed',
      fileName: 'app.hex',
      fileSha256: summary.fileSha256,
      deviceId: '1e950f',
      deviceName: 'ATmega328P',
      verified: true,
      deviceLabel: 'Arduino Uno (virtual)',
    });
    const [entry] = ok(await api.listFirmware());
    expect(entry).toMatchObject({ fileSha256: summary.fileSha256, name: 'app.hex', useCount: 1 });
  });

  it('flashes a virtual USB DfuSe device (an STM32F4 in its ROM bootloader) through the same API', async () => {
    const { api } = setup();
    const data = new Uint8Array(20_000).map((_, i) => (i * 31) & 0xff);
    const hex = writeImage(createImage('bin', [{ memory: 'flash', address: 0x0800_0000, data }]), 'hex');
    const summary = ok(await api.inspect({ name: 'stm32.hex', bytes: buffer(hex) }));
    const report = ok(
      await api.flash(
        spec(summary.fileSha256, {
          driverId: 'usb-dfu',
          targetId: 'stm32f40x',
          device: { kind: 'virtual', driverId: 'usb-dfu', targetId: 'stm32f40x' },
          deviceLabel: 'STM32F4 DfuSe (virtual)',
        }),
        proxy(() => {}),
      ),
    );
    expect(report).toMatchObject({ verified: true, bytesVerified: report.bytesWritten });
    expect(report.bytesWritten).toBeGreaterThanOrEqual(20_000);
  });

  it('records a link fault as a failed job with the error', async () => {
    const { api } = setup();
    const summary = ok(await api.inspect({ name: 'fault.hex', bytes: buffer(makeHex(4096)) }));
    const job = spec(summary.fileSha256, {
      device: { kind: 'virtual', driverId: 'stk500v1', targetId: 'm328p', fault: { seed: 1, disconnectAfterBytes: 600 } },
    });
    const events: JobEvent[] = [];
    const result = await api.flash(job, proxy((e: JobEvent) => void events.push(e)));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('device-lost');
    expect(result.error.hint).toMatch(/cable/);
    // The Result carries the outcome and the phase it stopped in; no event repeats it.
    expect(result.error.phase).toBe('write');
    await new Promise((r) => setTimeout(r, 20));
    expect(events.every((e) => e.type === 'phase' || e.type === 'plan' || e.type === 'progress' || e.type === 'identified' || e.type === 'log')).toBe(true);
    const [record] = ok(await api.listHistory());
    expect(record).toMatchObject({ status: 'failed', phase: 'write', error: { code: 'device-lost' } });
  });

  it('cancels a running job at a block boundary', async () => {
    const { api } = setup();
    const summary = ok(await api.inspect({ name: 'big.hex', bytes: buffer(makeHex(16384)) }));
    const job = spec(summary.fileSha256);
    let asked = false;
    const result = await api.flash(
      job,
      proxy((e: JobEvent) => {
        if (!asked && e.type === 'progress' && e.phase === 'write') {
          asked = true;
          void api.cancel(job.jobId);
        }
      }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('aborted');
    const [record] = ok(await api.listHistory());
    expect(record?.status).toBe('cancelled');
    expect(ok(await api.cancel(job.jobId))).toBe(false);
  });

  it('writes the History record before touching the device', async () => {
    const { api, dbName } = setup();
    const summary = ok(await api.inspect({ name: 'ahead.hex', bytes: buffer(makeHex(2048)) }));
    const job = spec(summary.fileSha256);
    const db = await openFlasherDb(dbName);
    let seen: string | undefined;
    const result = await api.flash(
      job,
      proxy(async (e: JobEvent) => {
        if (e.type === 'phase' && e.phase === 'connect') seen = (await db.get('audit', job.jobId))?.status;
      }),
    );
    ok(result);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toBe('running');
    db.close();
  });

  it('shows a job cut off by a closed tab as interrupted, and leaves live ones running', async () => {
    const alive = new Set<string>();
    const sharedLocks: JobLocks = {
      async hold(id) {
        alive.add(id);
        return () => void alive.delete(id);
      },
      async held() {
        return new Set(alive);
      },
    };
    const { api, dbName } = setup({ locks: sharedLocks });
    const db = await openFlasherDb(dbName);
    const base = {
      status: 'running' as const,
      fileName: 'cut.hex',
      fileSha256: 'a'.repeat(64),
      imageSha256: 'b'.repeat(64),
      imageBytes: 10,
      driverId: 'stk500v1',
      deviceKind: 'virtual' as const,
      deviceLabel: 'Arduino Uno (virtual)',
      phase: 'write' as const,
      appVersion: 'test',
    };
    await beginJob(db, { ...base, jobId: 'closed-tab', startedAt: Date.now() - 60_000 });
    await beginJob(db, { ...base, jobId: 'other-tab', startedAt: Date.now() - 60_000 });
    alive.add('other-tab');
    const records = ok(await api.listHistory());
    expect(Object.fromEntries(records.map((r) => [r.jobId, r.status]))).toEqual({ 'closed-tab': 'interrupted', 'other-tab': 'running' });
    db.close();
  });

  it('reports a full disk as storage-full and loses nothing', async () => {
    const { api } = setup();
    const first = ok(await api.inspect({ name: 'kept.hex', bytes: buffer(makeHex(1024)) }));
    ok(await api.flash(spec(first.fileSha256), proxy(() => {})));
    const second = ok(await api.inspect({ name: 'second.hex', bytes: buffer(makeHex(1024, 7)) }));

    const proto = IDBObjectStore.prototype as unknown as Record<'add' | 'put', (...a: unknown[]) => unknown>;
    const saved = { add: proto.add, put: proto.put };
    const full = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    proto.add = proto.put = full;
    try {
      const job = await api.flash(spec(second.fileSha256), proxy(() => {}));
      expect(job.ok).toBe(false);
      if (!job.ok) {
        expect(job.error.code).toBe('storage-full');
        expect(job.error.message).toMatch(/Nothing stored before was changed/);
      }
      const add = await api.addFirmware({ name: 'more.hex', bytes: buffer(makeHex(512, 9)) });
      expect(add.ok).toBe(false);
      if (!add.ok) expect(add.error.code).toBe('storage-full');
    } finally {
      Object.assign(proto, saved);
    }
    const history = ok(await api.listHistory());
    expect(history.map((r) => [r.fileName, r.status])).toEqual([['kept.hex', 'passed']]);
    expect(ok(await api.listFirmware()).map((f) => f.name)).toEqual(['kept.hex']);
  });

  it('exports History as CSV and JSON', async () => {
    const { api, dbName } = setup();
    const db = await openFlasherDb(dbName);
    await beginJob(db, {
      jobId: 'j1',
      status: 'failed',
      startedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
      fileName: '=cmd,"x".hex',
      fileSha256: 'a'.repeat(64),
      imageSha256: 'b'.repeat(64),
      imageBytes: 10,
      driverId: 'stk500v1',
      deviceKind: 'virtual',
      deviceLabel: 'Arduino Uno (virtual)',
      phase: 'write',
      error: { code: 'timeout', message: 'No answer, at all', hint: 'Reset it.' },
      appVersion: 'test',
    });
    db.close();
    const csv = ok(await api.exportHistory('csv'));
    expect(csv.mimeType).toBe('text/csv');
    expect(csv.fileName).toMatch(/^webprog-history-.*\.csv$/);
    const [header, row] = csv.text.split('\r\n');
    expect(header!.split(',').slice(0, 4)).toEqual(['started', 'finished', 'status', 'file']);
    expect(row).toContain('2025-01-02T03:04:05.000Z,,failed,"\'=cmd,""x"".hex"');
    expect(row).toContain('timeout,"No answer, at all",j1');
    const json = JSON.parse(ok(await api.exportHistory('json')).text);
    expect(json).toMatchObject({ format: 'webprog-history', version: 1, jobs: [{ jobId: 'j1', status: 'failed' }] });
    expect((await api.exportHistory('xml' as 'csv')).ok).toBe(false);
  });

  it('keeps a deduplicated library with notes, and flashes from it', async () => {
    const { api, dbName } = setup();
    const hex = makeHex(1500, 3);
    const a = ok(await api.addFirmware({ name: 'v1.hex', bytes: buffer(hex) }, 'first build'));
    const b = ok(await api.addFirmware({ name: 'copy-of-v1.hex', bytes: buffer(hex) }));
    expect(b.fileSha256).toBe(a.fileSha256);
    expect(b.name).toBe('v1.hex');
    expect(ok(await api.listFirmware())).toHaveLength(1);
    ok(await api.updateFirmware(a.fileSha256, { notes: 'release 1.0' }));

    // A fresh worker (after a reload) flashes straight from the library.
    const { api: again } = setup({}, dbName);
    const summary = ok(await again.useFirmware(a.fileSha256));
    expect(summary.name).toBe('v1.hex');
    ok(await again.flash(spec(a.fileSha256), proxy(() => {})));
    const [entry] = ok(await again.listFirmware());
    expect(entry).toMatchObject({ notes: 'release 1.0', useCount: 1 });
    expect(entry!.lastUsedAt).toBeGreaterThan(0);

    expect(ok(await again.removeFirmware(a.fileSha256))).toBe(true);
    expect(ok(await again.listFirmware())).toEqual([]);
    const gone = await again.useFirmware('f'.repeat(64));
    expect(gone.ok).toBe(false);
  });

  it('keeps settings across reloads', async () => {
    const { api, dbName } = setup();
    expect(ok(await api.getSettings())).toEqual({ keepInLibrary: true, monitorBaudRate: 9600, monitorAfterFlash: true });
    ok(await api.updateSettings({ lastDeviceKey: 'stk500v1:m328p:Arduino Uno', keepInLibrary: false }));
    const { api: again } = setup({}, dbName);
    expect(ok(await again.getSettings())).toMatchObject({ lastDeviceKey: 'stk500v1:m328p:Arduino Uno', keepInLibrary: false });
  });
});

describe('serial monitor', () => {
  it('streams bytes from the port, writes to it, and reports the end', async () => {
    const port = new FakePort();
    const { api } = setup({ openLink: (selector, opts) => openLink(selector, { ...opts, serial: { getPorts: async () => [port] } }) });
    const events: MonitorEvent[] = [];
    const id = ok(
      await api.openMonitor(
        { device: { kind: 'serial', usbVendorId: 0x2341, usbProductId: 0x0043, index: 0 }, baudRate: 9600, expectedPortCount: 1 },
        proxy((e: MonitorEvent) => void events.push(e)),
      ),
    );
    expect(port.opens[0]).toMatchObject({ baudRate: 9600 });
    port.receive(...new TextEncoder().encode('hello '));
    port.receive(...new TextEncoder().encode('world\r\n'));
    await expect.poll(() => new TextDecoder().decode(concatData(events))).toBe('hello world\r\n');
    ok(await api.writeMonitor(id, new TextEncoder().encode('ping')));
    expect(new TextDecoder().decode(Uint8Array.from(port.written))).toBe('ping');
    expect(ok(await api.closeMonitor(id))).toBe(true);
    await expect.poll(() => events.at(-1)).toEqual({ type: 'closed', error: null });
    expect(port.readable).toBeNull(); // released for the next job
    expect((await api.writeMonitor(id, Uint8Array.of(1))).ok).toBe(false);
  });

  it('says so when the board is unplugged', async () => {
    const port = new FakePort();
    const { api } = setup({ openLink: (selector, opts) => openLink(selector, { ...opts, serial: { getPorts: async () => [port] } }) });
    const events: MonitorEvent[] = [];
    ok(await api.openMonitor({ device: { kind: 'serial', usbVendorId: 0x2341, usbProductId: 0x0043, index: 0 }, baudRate: 115200 }, proxy((e: MonitorEvent) => void events.push(e))));
    port.unplug();
    await expect.poll(() => events.at(-1)).toMatchObject({ type: 'closed', error: { code: 'device-lost' } });
  });
});

function concatData(events: MonitorEvent[]): Uint8Array {
  return Uint8Array.from(events.flatMap((e) => (e.type === 'data' ? [...e.bytes] : [])));
}

describe('schema migrations', () => {
  it('upgrades a version 1 database without losing records', async () => {
    const name = `webprog-migrate-${process.pid}`;
    const v1 = await openFlasherDb(name, 1);
    expect(v1.objectStoreNames.contains('audit')).toBe(true);
    await v1.put('audit', {
      jobId: 'old',
      status: 'running',
      startedAt: 1,
      fileName: 'old.hex',
      fileSha256: '',
      imageSha256: '',
      imageBytes: 0,
      driverId: 'stk500v1',
      deviceKind: 'serial',
      deviceLabel: 'Uno',
      phase: 'write',
      appVersion: 'old',
    });
    v1.close();
    const current = await openFlasherDb(name);
    expect(current.version).toBe(3);
    expect(await current.getAllFromIndex('audit', 'by-status', 'running')).toHaveLength(1);
    expect((await listJobs(current)).map((r) => r.jobId)).toEqual(['old']);
    // v3: the production stores exist, empty.
    for (const store of ['recipes', 'serials', 'serial-pools', 'mes-queue'] as const) expect(await current.count(store)).toBe(0);
    current.close();
  });
});
