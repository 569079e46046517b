import { describe, expect, it } from 'vitest';
import { createWorkerClock } from '../../src/worker/clock';

/** The worker's shared sleep scheduler: order, precision, abort, and stalls taken out of the clock. */
describe('worker clock', () => {
  it('wakes sleepers in deadline order, never early', async () => {
    const clock = createWorkerClock();
    const woke: [string, number, number][] = [];
    const sleep = (name: string, ms: number) => {
      const at = clock.now() + ms;
      return clock.sleep(ms).then(() => void woke.push([name, at, clock.now()]));
    };
    await Promise.all([sleep('c', 12), sleep('a', 2), sleep('b', 5.5), sleep('zero', 0)]);
    expect(woke.map(([n]) => n)).toEqual(['zero', 'a', 'b', 'c']);
    for (const [, at, t] of woke) {
      expect(t).toBeGreaterThanOrEqual(at);
      expect(t - at).toBeLessThan(40); // generous: CI machines are loaded
    }
  });

  it('serves many sleepers at once', async () => {
    const clock = createWorkerClock();
    const start = clock.now();
    await Promise.all(Array.from({ length: 200 }, (_, i) => clock.sleep((i % 20) * 0.5)));
    expect(clock.now() - start).toBeGreaterThanOrEqual(9.5);
  });

  it('rejects a sleep when its signal aborts, and forgets it', async () => {
    const clock = createWorkerClock();
    const ctl = new AbortController();
    const p = clock.sleep(10_000, ctl.signal);
    ctl.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    const pre = new AbortController();
    pre.abort(new Error('already'));
    await expect(clock.sleep(1, pre.signal)).rejects.toThrow('already');
  });

  it('takes a stall out of the clock, staying monotonic, and wakes the earliest sleeper first', async () => {
    let raw = 0;
    const clock = createWorkerClock(() => raw);
    const order: string[] = [];
    const device = clock.sleep(10).then(() => order.push(`device@${clock.now()}`));
    const host = clock.sleep(300).then(() => order.push(`host@${clock.now()}`));
    raw = 1000; // the thread got no CPU for a second
    await device;
    expect(order).toEqual(['device@50']); // as if it had been 40 ms late, not 990
    expect(clock.stalledMs).toBe(950);
    expect(clock.now()).toBe(50);
    raw = 1250; // time goes on normally: the host's deadline (300) is reached now
    await host;
    expect(order).toEqual(['device@50', 'host@300']);
  });
});
