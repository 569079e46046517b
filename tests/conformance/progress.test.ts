import { describe, expect, it } from 'vitest';
import { createImage } from '../../src/core/image/memory-image';
import { runJob } from '../../src/core/job/run-job';
import { findDriverOfKind } from '../../src/drivers/registry';
import type { DriverContext } from '../../src/drivers/types';
import type { JobEvent } from '../../src/shared/events';
import { systemClock } from '../../src/transports/clock';
import { openVirtualDevice } from '../../src/transports/virtual';
import { randomBytes } from '../support/tools';

/** What a job on each serial driver's virtual device tells the page while it runs. */
async function flashWithEvents(driverId: string, length: number): Promise<JobEvent[]> {
  const entry = findDriverOfKind(driverId, 'serial')!;
  const target = entry.meta.targets[0]!;
  const flash = target.memories.find((m) => m.name === 'flash')!;
  const dev = await openVirtualDevice(driverId, { clock: systemClock, targetId: target.id });
  const { createDriver } = await entry.load();
  const controller = new AbortController();
  const ctx: DriverContext = { stream: dev.stream, clock: systemClock, log: () => {}, signal: controller.signal, targetId: target.id };
  const events: JobEvent[] = [];
  const image = createImage('t', [{ memory: 'flash', address: flash.base, data: randomBytes(length, 11) }]);
  await runJob(createDriver(ctx), image, {}, { clock: systemClock, signal: controller.signal, emit: (e) => void events.push(e) });
  await dev.stream.close();
  return events;
}

const progressOf = (events: JobEvent[]) => events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');

describe('truthful progress', () => {
  it('ESP: no read-back phase in the plan, write progress per acknowledged frame in image bytes', async () => {
    const events = await flashWithEvents('esp-rom', 128 * 1024);
    const plan = events.find((e) => e.type === 'plan');
    expect(plan?.type === 'plan' && plan.phases.map((p) => [p.phase, p.how])).toEqual([['write', undefined], ['verify', 'device-digest']]);
    const writes = progressOf(events).filter((e) => e.phase === 'write');
    // The 128 KiB go out as 16 KiB frames: progress comes frame by frame, not in one block-sized jump.
    expect(writes.length).toBeGreaterThanOrEqual(8);
    const steps = writes.map((e, i) => e.done - (writes[i - 1]?.done ?? 0));
    expect(Math.max(...steps)).toBeLessThanOrEqual(16 * 1024);
    expect(writes.at(-1)!.done).toBe(128 * 1024);
    // Once write is done, almost nothing is left: the MD5 verify is a sliver of the job.
    expect(writes.at(-1)!.overall).toBeGreaterThan(0.9);
    expect(writes.at(-1)!.etaMs ?? 0).toBeLessThan(2000);
  }, 60_000);

  it('STK500 v1: the time left is never less than the remaining raw bytes at 115200 baud allow', async () => {
    const total = 8192;
    const events = await flashWithEvents('stk500v1', total);
    const lineRate = 115200 / 10;
    for (const e of progressOf(events)) {
      if (e.etaMs === null) continue;
      const remaining = e.phase === 'write' ? total - e.done + total : total - e.done;
      expect(e.etaMs).toBeGreaterThanOrEqual((remaining * 1000) / lineRate - 1);
    }
    const overall = progressOf(events).map((e) => e.overall);
    expect(overall).toEqual([...overall].sort((a, b) => a - b));
    expect(overall.at(-1)).toBe(1);
  }, 60_000);
});
