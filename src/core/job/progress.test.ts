import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../shared/events';
import { PhaseTracker } from './progress';

/** A clock the test moves by hand. */
function manualClock() {
  let t = 0;
  return { now: () => t, sleep: async () => {}, tick: (ms: number) => void (t += ms) };
}

function tracker(lineRate?: number) {
  const clock = manualClock();
  const events: JobEvent[] = [];
  const t = new PhaseTracker({ clock, signal: new AbortController().signal, emit: (e) => void events.push(e) }, lineRate ? { lineRate: () => lineRate } : {});
  const progress = () => events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
  return { t, clock, events, progress };
}

describe('PhaseTracker', () => {
  it('plans only the phases a job has: a device-digest verify is a sliver of the job', () => {
    const { t, events } = tracker();
    t.plan([{ phase: 'write', bytes: 1 << 20 }, { phase: 'verify', bytes: 1 << 20, how: 'device-digest' }]);
    const plan = events.find((e) => e.type === 'plan');
    expect(plan?.type === 'plan' && plan.phases.map((p) => p.phase)).toEqual(['write', 'verify']);
    const shares = plan?.type === 'plan' ? plan.phases.map((p) => p.share) : [];
    expect(shares[0]).toBeGreaterThan(0.95);
    expect(shares[0]! + shares[1]!).toBeCloseTo(1, 9);
    t.plan([{ phase: 'write', bytes: 100 }, { phase: 'verify', bytes: 0 }]);
    const second = events.filter((e) => e.type === 'plan').at(-1);
    expect(second?.type === 'plan' && second.phases).toEqual([{ phase: 'write', bytes: 100, share: 1 }]);
  });

  it('gives no time left until a rate is measured, then never less than the line allows', () => {
    const { t, clock, progress } = tracker(11_520);
    t.plan([{ phase: 'write', bytes: 32768 }, { phase: 'verify', bytes: 32768, how: 'read-back' }]);
    t.enter('write');
    clock.tick(10);
    t.advance(4096); // a first block acknowledged suspiciously fast: no estimate yet
    expect(progress()[0]!.etaMs).toBeNull();
    // A device that seems faster than its line (a burst): the estimate still respects the line.
    clock.tick(300);
    t.advance(16384);
    const e = progress().at(-1)!;
    const raw = 32768 - 20480 + 32768;
    expect(e.etaMs!).toBeGreaterThanOrEqual((raw * 1000) / 11_520);
  });

  it('counts the whole job in overall, and reaches 1 only with the last byte', () => {
    const { t, clock, progress } = tracker();
    t.plan([{ phase: 'write', bytes: 1000 }, { phase: 'verify', bytes: 1000, how: 'read-back' }]);
    t.enter('write');
    for (let i = 0; i < 10; i++) {
      clock.tick(100);
      t.advance(100);
    }
    expect(progress().at(-1)!.overall).toBeCloseTo(0.5, 5);
    t.enter('verify');
    clock.tick(100);
    t.advance(999);
    expect(progress().at(-1)!.overall).toBeLessThan(1);
    t.advance(1);
    expect(progress().at(-1)!.overall).toBe(1);
    const overall = progress().map((p) => p.overall);
    expect(overall).toEqual([...overall].sort((a, b) => a - b));
  });
});
