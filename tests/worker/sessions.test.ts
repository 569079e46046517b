import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/shared/events';
import { throttleEvents } from '../../src/worker/sessions';

/** A manual clock and timer queue, so throttling is checked without waiting. */
function fakeTime() {
  let now = 0;
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
    advance(ms: number) {
      now += ms;
      for (const t of timers.filter((t) => t.at <= now)) {
        timers = timers.filter((x) => x !== t);
        t.fn();
      }
    },
  };
}

const progress = (done: number): JobEvent => ({ type: 'progress', phase: 'write', done, total: 1000, bytesPerSecond: 1, etaMs: null, overall: 0 });

describe('progress throttling', () => {
  it('sends at most one progress per interval, always the latest, and never reorders', () => {
    const t = fakeTime();
    const sent: JobEvent[] = [];
    const { emit, flush } = throttleEvents((e) => sent.push(e), 40, t.now, t.timers);
    for (let i = 1; i <= 100; i++) {
      emit(progress(i * 10));
      t.advance(1); // one event a millisecond: 1000/s in
    }
    emit({ type: 'phase', phase: 'verify' });
    flush();
    const done = sent.flatMap((e) => (e.type === 'progress' ? [e.done] : []));
    expect(done.length).toBeLessThanOrEqual(4); // 100 ms at 25/s, plus the first and the flushed last
    expect(done.at(-1)).toBe(1000); // the final count is never dropped
    expect(sent.at(-1)).toEqual({ type: 'phase', phase: 'verify' });
    expect([...done].sort((a, b) => a - b)).toEqual(done);
  });
});
