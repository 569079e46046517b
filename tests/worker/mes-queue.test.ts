import { proxy } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/shared/api';
import { MesQueue, type MesQueueDeps } from '../../src/worker/production/mes-queue';
import { lazyDb } from '../../src/worker/storage/db';
import { buffer, connectApi, freshDbName, makeHex, ok } from './helpers';

/*
 * The MES queue: records are kept in IndexedDB until the endpoint answers 2xx, retried with
 * exponential backoff, delivered once each, and survive a reload. Time and fetch are fakes.
 */

/** Manual wall clock and timers. */
function fakeTime(start = 1_700_000_000_000) {
  let now = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    timers: {
      set: (fn: () => void, ms: number) => {
        const id = next++;
        timers.push({ at: now + ms, fn, id });
        return id;
      },
      clear: (id: unknown) => void (timers = timers.filter((t) => t.id !== id)),
    },
    pending: () => timers.map((t) => t.at - now).sort((a, b) => a - b),
    advance(ms: number) {
      now += ms;
      for (const t of timers.filter((t) => t.at <= now)) {
        timers = timers.filter((x) => x !== t);
        t.fn();
      }
    },
  };
}

type Answer = number | 'offline';

/** A fetch that answers from a script, recording every call. */
function fakeFetch(script: Answer[], fallback: Answer = 200) {
  const calls: { url: string; body: string; key: string }[] = [];
  const fetch: MesQueueDeps['fetch'] = async (url, init) => {
    calls.push({ url, body: init.body, key: init.headers['idempotency-key']! });
    const answer = script.shift() ?? fallback;
    if (answer === 'offline') throw new TypeError('Failed to fetch');
    return { ok: answer >= 200 && answer < 300, status: answer };
  };
  return { fetch, calls };
}

function record(jobId: string): AuditRecord {
  return {
    jobId,
    status: 'passed',
    startedAt: 1,
    finishedAt: 2,
    fileName: 'blink.hex',
    fileSha256: 'a'.repeat(64),
    imageSha256: 'b'.repeat(64),
    imageBytes: 10,
    driverId: 'stk500v1',
    deviceKind: 'virtual',
    deviceLabel: 'Arduino Uno (virtual)',
    phase: 'finish',
    appVersion: 'test',
    station: 'Line 1',
    serial: '1000',
  };
}

const flushIdb = () => new Promise((r) => setTimeout(r, 5));

describe('MES queue', () => {
  const opened: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const db of opened.splice(0)) (await db() as { close(): void }).close();
  });

  function queue(dbName: string, script: Answer[], time = fakeTime()) {
    const db = lazyDb(dbName);
    opened.push(db);
    const f = fakeFetch(script);
    const q = new MesQueue({ db, fetch: f.fetch, now: time.now, timers: time.timers, baseBackoffMs: 1000, maxBackoffMs: 8000, random: () => 0.5 });
    return { q, time, ...f };
  }

  it('delivers a record at once when the MES answers', async () => {
    const { q, calls } = queue(freshDbName(), [200]);
    await q.enqueue('https://mes.example/api/units', record('j1'));
    await q.drain();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('https://mes.example/api/units');
    expect(calls[0]!.key).toBe('j1');
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ format: 'webprog-audit', version: 1, record: { jobId: 'j1', serial: '1000' } });
    expect(await q.status('https://mes.example/api/units')).toMatchObject({ pending: 0, failing: false, delivered: 1 });
  });

  it('retries with exponential backoff while offline or failing, then delivers each record once', async () => {
    const { q, time, calls } = queue(freshDbName(), ['offline', 503, 'offline', 500]);
    await q.enqueue('https://mes.example/u', record('j1'));
    time.advance(0); // the attempt right after queueing
    await q.drain();
    expect(calls).toHaveLength(1);
    let status = await q.status('https://mes.example/u');
    expect(status).toMatchObject({ pending: 1, failing: true, lastError: expect.stringMatching(/could not be reached/) });
    expect(status.nextAttemptAt! - time.now()).toBe(1000);

    // Backoff doubles: 1 s, 2 s, 4 s, 8 s (the cap). Nothing is sent before its time.
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      const wait = time.pending()[0]!;
      gaps.push(wait);
      time.advance(wait - 1);
      await q.drain();
      const before = calls.length;
      time.advance(1);
      await flushIdb();
      await q.drain();
      expect(calls.length).toBe(before + 1);
    }
    expect(gaps).toEqual([1000, 2000, 4000, 8000]);
    expect(calls).toHaveLength(5);
    status = await q.status('https://mes.example/u');
    expect(status).toMatchObject({ pending: 0, delivered: 1 });
    expect(new Set(calls.map((c) => c.key))).toEqual(new Set(['j1']));
  });

  it('keeps every record through a reload and delivers them in order afterwards', async () => {
    const dbName = freshDbName();
    const time = fakeTime();
    const before = queue(dbName, ['offline', 'offline', 'offline'], time);
    for (const id of ['a', 'b', 'c']) await before.q.enqueue('https://mes.example/u', record(id));
    await before.q.drain();
    expect(await before.q.status('https://mes.example/u')).toMatchObject({ pending: 3, failing: true });

    // A new worker on the same database, back online: everything waiting goes out on retry.
    const after = queue(dbName, [], time);
    await after.q.retryNow();
    expect(after.calls.map((c) => c.key)).toEqual(['a', 'b', 'c']);
    expect(await after.q.status('https://mes.example/u')).toMatchObject({ pending: 0, delivered: 3 });
  });

  it('lets two workers drain one queue without sending a record twice', async () => {
    const dbName = freshDbName();
    const time = fakeTime();
    const one = queue(dbName, [], time);
    const two = queue(dbName, [], time);
    for (let i = 0; i < 6; i++) await one.q.enqueue('https://mes.example/u', record(`r${i}`));
    await Promise.all([one.q.drain(), two.q.drain(), one.q.drain()]);
    const sent = [...one.calls, ...two.calls].map((c) => c.key).sort();
    expect(sent).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
  });
});

describe('MES delivery from station jobs', () => {
  it('queues each finished device record for the configured endpoint', async () => {
    const time = fakeTime(Date.now());
    const f = fakeFetch(['offline']);
    const { api, close } = connectApi({ fetch: f.fetch, timers: time.timers, mesBackoff: { baseMs: 1000, maxMs: 60_000, random: () => 0.5 } });
    try {
      ok(await api.updateSettings({ mesUrl: 'https://mes.example/units', stationName: 'Line 1' }));
      const fw = ok(await api.addFirmware({ name: 'blink.hex', bytes: buffer(makeHex(1024)) }));
      const recipe = ok(
        await api.saveRecipe({
          name: 'MES test',
          driverId: 'stk500v1',
          targetId: 'm328p',
          firmware: { fileSha256: fw.fileSha256, name: 'blink.hex' },
          options: {},
          serial: { pool: '', memory: 'flash', address: 0x600, format: 'u32le', source: { kind: 'counter', start: '1', step: '1' } },
        }),
      );
      const job = { jobId: crypto.randomUUID(), recipeId: recipe.id, device: { kind: 'virtual' as const, driverId: 'stk500v1', targetId: 'm328p' }, deviceLabel: 'Uno', station: 'Line 1', slot: '1' };
      ok(await api.runRecipe(job, proxy(() => {})));
      time.advance(0); // the queue's first attempt (offline)
      await new Promise((r) => setTimeout(r, 50));
      expect(ok(await api.mesStatus())).toMatchObject({ url: 'https://mes.example/units', pending: 1, failing: true });
      const status = ok(await api.retryMes()); // back online
      expect(status).toMatchObject({ pending: 0 });
      expect(f.calls).toHaveLength(2);
      expect(JSON.parse(f.calls[1]!.body).record).toMatchObject({ jobId: job.jobId, status: 'passed', serial: '1', station: 'Line 1', recipeName: 'MES test' });
    } finally {
      close();
    }
  });
});
