import { proxy } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecipeDraft, StationEvent, StationJobSpec } from '../../src/shared/api';
import type { DeviceSelector } from '../../src/shared/model';
import type { Simulator } from '../../src/drivers/types';
import { openVirtualDevice } from '../../src/transports/virtual';
import { localLocks, type JobLocks } from '../../src/worker/sessions';
import { lazyDb, openFlasherDb } from '../../src/worker/storage/db';
import { IdbSerialAllocator } from '../../src/worker/storage/serials';
import { buffer, connectApi, freshDbName, makeHex, ok } from './helpers';

/*
 * The production station's worker side: recipes, serial numbers reserved before programming and never
 * reused (across concurrent workers and across a reload that cut jobs off), locked recipes, the audit
 * record per device, export/import.
 */

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function setup(...args: Parameters<typeof connectApi>) {
  const c = connectApi(...args);
  closers.push(c.close);
  return c;
}

const UNO: DeviceSelector = { kind: 'virtual', driverId: 'stk500v1', targetId: 'm328p' };
const FAULTY: DeviceSelector = { ...UNO, fault: { seed: 1, disconnectAfterBytes: 600 } };

function draft(fileSha256: string, extra: Partial<RecipeDraft> = {}): RecipeDraft {
  return {
    name: 'Blink board v2',
    driverId: 'stk500v1',
    targetId: 'm328p',
    board: 'Arduino Uno',
    firmware: { fileSha256, name: 'blink.hex' },
    options: { verify: true },
    serial: { pool: '', memory: 'flash', address: 0x7000, format: 'u32le', source: { kind: 'counter', start: '1000', step: '1' } },
    ...extra,
  };
}

function stationJob(recipeId: string, slot: number, extra: Partial<StationJobSpec> = {}): StationJobSpec {
  return {
    jobId: crypto.randomUUID(),
    recipeId,
    device: UNO,
    deviceLabel: `Arduino Uno (virtual) in slot ${slot}`,
    station: 'Line 1',
    slot: String(slot),
    ...extra,
  };
}

async function withRecipe(api: ReturnType<typeof setup>['api'], extra: Partial<RecipeDraft> = {}, size = 2048) {
  const fw = ok(await api.addFirmware({ name: 'blink.hex', bytes: buffer(makeHex(size)) }));
  return ok(await api.saveRecipe(draft(fw.fileSha256, extra)));
}

describe('station jobs with serial numbers', () => {
  it('gives 8 devices programmed at once 8 unique consecutive serials, recorded per device', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api);
    expect(recipe.serial?.pool).toBe(recipe.id); // a recipe's own pool by default
    const events: StationEvent[][] = Array.from({ length: 8 }, () => []);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => api.runRecipe(stationJob(recipe.id, i + 1, { scan: { lot: 'LOT-7', boardId: `B${i}` } }), proxy((e: StationEvent) => void events[i]!.push(e)))),
    );
    const serials = results.map((r) => ok(r).serial);
    expect(new Set(serials).size).toBe(8);
    expect([...serials].sort()).toEqual(['1000', '1001', '1002', '1003', '1004', '1005', '1006', '1007']);
    // The serial is announced before the device is touched.
    for (const list of events) expect(list.findIndex((e) => e.type === 'serial')).toBeLessThan(list.findIndex((e) => e.type === 'phase'));

    const history = ok(await api.listHistory());
    expect(history).toHaveLength(8);
    for (const r of history) {
      expect(r).toMatchObject({ status: 'passed', station: 'Line 1', recipeId: recipe.id, recipeName: 'Blink board v2', recipeRevision: 1, lot: 'LOT-7', attempt: 1, deviceId: '1e950f' });
      expect(r.boardId).toMatch(/^B\d$/);
      expect(r.programmedSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.programmedSha256).not.toBe(r.imageSha256);
    }
    const recorded = ok(await api.listSerials({ pool: recipe.id }));
    expect(recorded.map((s) => s.status)).toEqual(Array(8).fill('used'));
    expect(ok(await api.serialStatus(recipe.id))).toMatchObject({ next: '1008', used: 8, voided: 0, reserved: 0 });
  });

  it('writes each device its own serial at the rule address', async () => {
    const sims: Simulator[] = [];
    const { api } = setup({
      openLink: async (selector, opts) => {
        if (selector.kind !== 'virtual') throw new Error('virtual only');
        const d = await openVirtualDevice(selector.driverId, { clock: opts.clock, ...(selector.targetId ? { targetId: selector.targetId } : {}) });
        sims.push(d.simulator);
        return d.stream;
      },
    });
    const recipe = await withRecipe(api, {
      serial: {
        pool: 'macs',
        memory: 'flash',
        address: 0x0900,
        format: 'mac',
        source: { kind: 'counter', start: String(0x02aabbcc0010), step: '1' },
        crc: { algorithm: 'crc32', from: 0, to: 0x0a00, at: 0x0a00, format: 'u32le' },
      },
    });
    ok(await api.runRecipe(stationJob(recipe.id, 1), proxy(() => {})));
    ok(await api.runRecipe(stationJob(recipe.id, 2), proxy(() => {})));
    const macs = sims.map((s) => Array.from(s.memory('flash').subarray(0x0900, 0x0906)));
    expect(macs).toEqual([
      [0x02, 0xaa, 0xbb, 0xcc, 0x00, 0x10],
      [0x02, 0xaa, 0xbb, 0xcc, 0x00, 0x11],
    ]);
    const [second] = ok(await api.listHistory());
    expect(second?.serial).toBe('02:AA:BB:CC:00:11');
  });

  it('voids the serial of a failed device and never hands it out again', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api);
    const good = ok(await api.runRecipe(stationJob(recipe.id, 1), proxy(() => {})));
    const bad = await api.runRecipe(stationJob(recipe.id, 2, { device: FAULTY }), proxy(() => {}));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('device-lost');
    const again = ok(await api.runRecipe(stationJob(recipe.id, 2, { attempt: 2 }), proxy(() => {})));
    expect([good.serial, again.serial]).toEqual(['1000', '1002']);
    const bySerial = Object.fromEntries(ok(await api.listSerials()).map((s) => [s.value, s.status]));
    expect(bySerial).toEqual({ '1000': 'used', '1001': 'voided', '1002': 'used' });
    const failed = ok(await api.listHistory()).find((r) => r.status === 'failed');
    expect(failed).toMatchObject({ serial: '1001', slot: '2', error: { code: 'device-lost' } });
  });

  it('never reuses a serial across a reload that cut jobs off, and voids those as interrupted', async () => {
    // The first "tab": its jobs hold locks that vanish with it, and its database connection dies with it.
    const dbName = freshDbName();
    const firstDb = lazyDb(dbName);
    const first = setup({ locks: localLocks(), db: firstDb }, dbName);
    const recipe = await withRecipe(first.api, {}, 16384);
    const done = ok(await first.api.runRecipe(stationJob(recipe.id, 1), proxy(() => {})));
    expect(done.serial).toBe('1000');
    // A job cut off mid-write: the tab goes away while it runs.
    const cut = stationJob(recipe.id, 2);
    let reloaded!: () => void;
    const midWrite = new Promise<void>((r) => (reloaded = r));
    const running = first.api.runRecipe(
      cut,
      proxy((e: StationEvent) => {
        if (e.type === 'progress' && e.phase === 'write') reloaded();
      }),
    );
    await midWrite;
    (await firstDb()).close();
    await first.api.cancel(cut.jobId);
    expect((await running).ok).toBe(false);
    // A reservation that never got its job record (the tab died between the two).
    const db = await openFlasherDb(dbName);
    await new IdbSerialAllocator(db, { pool: recipe.id, source: { kind: 'counter', start: 1000n, step: 1n }, format: 'u32le', jobId: 'lost-job', now: () => Date.now() - 5000 }).reserve('3');
    db.close();

    // The reloaded page: a new worker, whose lock list does not have the old tab's jobs.
    const second = setup({ locks: localLocks() }, dbName);
    const next = ok(await second.api.runRecipe(stationJob(recipe.id, 4), proxy(() => {})));
    expect(next.serial).toBe('1003');
    const statuses = Object.fromEntries(ok(await second.api.listSerials()).map((s) => [s.value, [s.status, s.note ?? '']]));
    expect(statuses).toEqual({
      '1000': ['used', ''],
      '1001': ['voided', expect.stringMatching(/interrupted/)],
      '1002': ['voided', expect.stringMatching(/interrupted/)],
      '1003': ['used', ''],
    });
    const cutRecord = ok(await second.api.listHistory()).find((r) => r.jobId === cut.jobId);
    expect(cutRecord).toMatchObject({ status: 'interrupted', serial: '1001', phase: 'write' });
    expect(ok(await second.api.serialStatus(recipe.id))).toMatchObject({ next: '1004', used: 2, voided: 2, reserved: 0 });
  });

  it('shares one pool between two workers without handing out a number twice', async () => {
    const alive = new Set<string>();
    const shared: JobLocks = {
      async hold(id) {
        alive.add(id);
        return () => void alive.delete(id);
      },
      async held() {
        return new Set(alive);
      },
    };
    const a = setup({ locks: shared });
    const b = setup({ locks: shared }, a.dbName);
    const recipe = await withRecipe(a.api, {}, 1024);
    ok(await b.api.useFirmware(recipe.firmware.fileSha256));
    const runs = Array.from({ length: 12 }, (_, i) => (i % 2 ? a.api : b.api).runRecipe(stationJob(recipe.id, i + 1), proxy(() => {})));
    const serials = (await Promise.all(runs)).map((r) => ok(r).serial!);
    expect(new Set(serials).size).toBe(12);
    expect(serials.map(Number).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => 1000 + i));
  });

  it('takes numbers from an imported list in order, and stops when it is used up', async () => {
    const { api } = setup();
    const values = ok(await api.readSerialList('mac\n02:00:00:00:00:01\n02:00:00:00:00:02\n'));
    expect(values).toEqual([String(0x020000000001), String(0x020000000002)]);
    const recipe = await withRecipe(api, {
      serial: { pool: 'list-a', memory: 'flash', address: 0x900, format: 'mac', source: { kind: 'list', values, name: 'macs.csv' } },
    });
    const got = [];
    for (let i = 0; i < 2; i++) got.push(ok(await api.runRecipe(stationJob(recipe.id, 1), proxy(() => {}))).serial);
    expect(got).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02']);
    expect(ok(await api.serialStatus(recipe.id))).toMatchObject({ next: null, left: 0, used: 2 });
    const over = await api.runRecipe(stationJob(recipe.id, 1), proxy(() => {}));
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.message).toMatch(/used up/);
  });

  it('refuses a device whose ID is not the recipe\'s before writing, and voids its serial', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api, { expectedDeviceId: '0x1E9587' });
    expect(recipe.expectedDeviceId).toBe('1e9587');
    const events: StationEvent[] = [];
    const r = await api.runRecipe(stationJob(recipe.id, 1), proxy((e: StationEvent) => void events.push(e)));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'wrong-target', details: { expected: '1e9587', actual: '1e950f' } });
    await new Promise((res) => setTimeout(res, 20));
    expect(events.some((e) => e.type === 'phase' && e.phase === 'write')).toBe(false);
    expect(ok(await api.listSerials())[0]).toMatchObject({ value: '1000', status: 'voided' });
  });

  it('refuses a recipe changed since the station loaded it', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api);
    const changed = ok(await api.saveRecipe({ ...recipe, name: 'Blink board v3' }));
    expect(changed.revision).toBe(2);
    const r = await api.runRecipe(stationJob(recipe.id, 1, { recipeRevision: 1 }), proxy(() => {}));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/changed since/) });
    const gone = await api.runRecipe(stationJob('no-such-recipe', 1), proxy(() => {}));
    if (!gone.ok) expect(gone.error.code).toBe('not-found');
    expect(gone.ok).toBe(false);
    expect(ok(await api.listSerials())).toEqual([]); // nothing reserved for a job that never started
  });
});

describe('recipes', () => {
  it('refuses a second recipe with a name already taken (case and spacing aside), on save and on import', async () => {
    const { api } = setup();
    const first = await withRecipe(api, { name: 'Line A' });
    const again = await api.saveRecipe(draft(first.firmware.fileSha256, { name: '  line   a ' }));
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.message).toBe('A recipe named "Line A" already exists: give this one another name.');
    // Renaming another recipe onto it is refused too; keeping one's own name is not a clash.
    const second = ok(await api.saveRecipe(draft(first.firmware.fileSha256, { name: 'Line B' })));
    expect((await api.saveRecipe({ ...second, name: 'LINE A' })).ok).toBe(false);
    expect(ok(await api.saveRecipe({ ...first, notes: 'kept its name' })).name).toBe('Line A');
    // An exported recipe imported as a new one (another ID) under a taken name is refused.
    const file = ok(await api.exportRecipe(second.id));
    const doc = JSON.parse(file.text);
    doc.recipe = { ...doc.recipe, id: 'elsewhere', name: 'line a' };
    const imported = await api.importRecipe(JSON.stringify(doc));
    expect(imported.ok).toBe(false);
    expect(ok(await api.listRecipes()).map((r) => r.name).sort()).toEqual(['Line A', 'Line B']);
  });

  it('rejects a serial rule that cannot work, before any device', async () => {
    const { api } = setup();
    const fw = ok(await api.addFirmware({ name: 'blink.hex', bytes: buffer(makeHex(1024)) }));
    const base = draft(fw.fileSha256);
    const tooBig = await api.saveRecipe({ ...base, serial: { ...base.serial!, format: 'u16le', source: { kind: 'counter', start: '70000', step: '1' } } });
    expect(tooBig.ok).toBe(false);
    if (!tooBig.ok) expect(tooBig.error.message).toMatch(/does not fit/);
    const selfCrc = await api.saveRecipe({ ...base, serial: { ...base.serial!, crc: { algorithm: 'crc32', from: 0, to: 0x100, at: 0x80, format: 'u32le' } } });
    expect(selfCrc.ok).toBe(false);
    const badFormat = await api.saveRecipe({ ...base, serial: { ...base.serial!, format: 'u24le' } });
    expect(badFormat.ok).toBe(false);
    const noImage = await api.saveRecipe({ ...base, firmware: { fileSha256: 'e'.repeat(64), name: 'x' } });
    expect(noImage.ok).toBe(false);
    expect(ok(await api.listRecipes())).toEqual([]);
  });

  it('runs a locked recipe, but changes it only with the PIN', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api);
    const locked = ok(await api.lockRecipe(recipe.id, '4711'));
    expect(locked.lock?.pinSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(locked)).not.toContain('4711');

    const edit = await api.saveRecipe({ ...locked, name: 'changed' });
    expect(edit.ok).toBe(false);
    if (!edit.ok) expect(edit.error.message).toMatch(/locked/);
    expect((await api.saveRecipe({ ...locked, name: 'changed' }, '0000')).ok).toBe(false);
    expect((await api.deleteRecipe(locked.id)).ok).toBe(false);
    expect(ok(await api.checkRecipePin(locked.id, '0000'))).toBe(false);
    expect(ok(await api.checkRecipePin(locked.id, '4711'))).toBe(true);

    ok(await api.runRecipe(stationJob(locked.id, 1), proxy(() => {})));

    const changed = ok(await api.saveRecipe({ ...locked, name: 'changed' }, '4711'));
    expect(changed.lock).toEqual(locked.lock); // still locked after an engineer's edit
    const open = ok(await api.unlockRecipe(locked.id, '4711'));
    expect(open.lock).toBeUndefined();
    expect(ok(await api.deleteRecipe(locked.id))).toBe(true);
  });

  it('exports a recipe with its firmware and imports it on another station', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api, { expectedDeviceId: '1e950f' });
    ok(await api.lockRecipe(recipe.id, '4711'));
    const file = ok(await api.exportRecipe(recipe.id));
    expect(file.fileName).toBe('Blink-board-v2.webprog-recipe.json');

    const other = setup();
    const imported = ok(await other.api.importRecipe(file.text));
    expect(imported).toMatchObject({ id: recipe.id, name: 'Blink board v2', expectedDeviceId: '1e950f', firmware: recipe.firmware, revision: 1 });
    expect(imported.lock).toBeDefined();
    expect(ok(await other.api.listFirmware()).map((f) => f.fileSha256)).toEqual([recipe.firmware.fileSha256]);
    expect(ok(await other.api.runRecipe(stationJob(imported.id, 1), proxy(() => {}))).serial).toBe('1000');

    // Importing again next to a locked recipe keeps both; a tampered file is refused.
    const copy = ok(await other.api.importRecipe(file.text));
    expect(copy.id).not.toBe(recipe.id);
    expect(copy.name).toBe('Blink board v2 (imported)');
    const doc = JSON.parse(file.text);
    doc.firmware.base64 = btoa('not the firmware');
    const tampered = await setup().api.importRecipe(JSON.stringify(doc));
    expect(tampered.ok).toBe(false);
    expect((await other.api.importRecipe('{"hello":1}')).ok).toBe(false);
  });

  it('exports station columns in the History CSV', async () => {
    const { api } = setup();
    const recipe = await withRecipe(api);
    ok(await api.runRecipe(stationJob(recipe.id, 5, { scan: { lot: 'L1', workOrder: 'WO-9', boardId: 'PCB-1' } }), proxy(() => {})));
    const csv = ok(await api.exportHistory('csv')).text.split('\r\n');
    const header = csv[0]!.split(',');
    const row = csv[1]!.split(',');
    const get = (name: string) => row[header.indexOf(name)];
    expect(header.slice(0, 4)).toEqual(['started', 'finished', 'status', 'file']);
    expect([get('station'), get('slot'), get('recipe'), get('serial'), get('lot'), get('work_order'), get('board_id'), get('attempt')]).toEqual([
      'Line 1',
      '5',
      'Blink board v2',
      '1000',
      'L1',
      'WO-9',
      'PCB-1',
      '1',
    ]);
  });
});
