import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../shared/api';
import { chartSeries, stationFigures } from './metrics';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
let n = 0;
function job(slot: string, status: AuditRecord['status'], minute: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    jobId: `j${++n}`,
    status,
    startedAt: T0 + minute * 60_000,
    finishedAt: T0 + minute * 60_000 + 20_000,
    durationMs: 20_000,
    fileName: 'a.hex',
    fileSha256: '',
    imageSha256: '',
    imageBytes: 8192,
    driverId: 'stk500v1',
    deviceKind: 'virtual',
    deviceLabel: 'Uno',
    phase: 'finish',
    appVersion: 't',
    station: 'Line 1',
    slot,
    recipeId: 'r1',
    attempt: 1,
    ...extra,
  };
}

describe('stationFigures', () => {
  const records = [
    job('1', 'passed', 0),
    job('2', 'failed', 0),
    job('2', 'passed', 2, { attempt: 2 }), // the same unit, retried
    job('3', 'passed', 5),
    job('10', 'failed', 6),
    job('1', 'passed', 10),
    job('1', 'running', 29),
    { ...job('9', 'passed', 1), station: undefined }, // a plain Flash job: not the station's
    job('4', 'passed', 3, { station: 'Line 2' }),
  ];

  it('counts units, first-pass and final yield, and per-slot failures and cycles', () => {
    const f = stationFigures(records, { now: T0 + 30 * 60_000, station: 'Line 1' });
    expect(f).toMatchObject({ units: 5, passed: 4, failed: 2, other: 1 });
    expect(f.firstPassYield).toBeCloseTo(3 / 5, 12);
    expect(f.finalYield).toBeCloseTo(4 / 5, 12);
    expect(f.medianCycleMs).toBe(20_000);
    expect(f.perSlot).toEqual([
      { slot: '1', passed: 2, failed: 0, cycles: 3 },
      { slot: '2', passed: 1, failed: 1, cycles: 2 },
      { slot: '3', passed: 1, failed: 0, cycles: 1 },
      { slot: '10', passed: 0, failed: 1, cycles: 1 },
    ]);
  });

  it('reports units per hour over the time worked in the window', () => {
    // 4 passed since the first job 30 minutes ago: 8 per hour.
    expect(stationFigures(records, { now: T0 + 30 * 60_000, station: 'Line 1' }).unitsPerHour).toBeCloseTo(8, 9);
    // An hour's window that started before the shift is not diluted; later, old jobs leave the window.
    const later = stationFigures(records, { now: T0 + 70 * 60_000, station: 'Line 1', windowMs: 3_600_000 });
    // In the window (minutes 10..70): the pass at minute 10 and the job still running at 29.
    expect(later.unitsPerHour).toBeCloseTo(1, 9);
  });

  it('is empty-safe', () => {
    expect(stationFigures([], { now: T0 })).toMatchObject({ units: 0, firstPassYield: null, finalYield: null, unitsPerHour: null, perSlot: [] });
  });
});

describe('stationFigures: the last serial', () => {
  it('is the serial of the device that finished passing last, not of a failed or a later-started one', () => {
    const records = [
      job('1', 'passed', 3, { serial: '5003' }),
      job('2', 'passed', 1, { serial: '5001' }),
      job('3', 'failed', 4, { serial: '5004' }), // voided: never the last serial handed out
      job('4', 'passed', 2, { serial: '5002', finishedAt: T0 + 9 * 60_000 }), // slow: finished last
    ];
    expect(stationFigures(records, { now: T0 + 10 * 60_000 }).lastSerial).toBe('5002');
    expect(stationFigures([job('1', 'passed', 1)], { now: T0 + 60_000 }).lastSerial).toBeNull();
  });
});

describe('chartSeries', () => {
  it('buckets passes and failures per minute with a trailing UPH', () => {
    const records = [job('1', 'passed', 0), job('2', 'passed', 0), job('3', 'failed', 1), job('1', 'passed', 2)];
    const s = chartSeries(records, { now: T0 + 3 * 60_000, windowMs: 5 * 60_000, trailingMs: 2 * 60_000 });
    expect(s.t).toHaveLength(6);
    expect(s.t.at(-1)).toBe((T0 + 3 * 60_000) / 1000);
    // finished 20 s into minutes 0, 0, 1, 2: buckets at -2..3 minutes
    expect(s.passed).toEqual([0, 0, 2, 0, 1, 0]);
    expect(s.failed).toEqual([0, 0, 0, 1, 0, 0]);
    // trailing 2 minutes, per hour: [0, 0, 2, 2, 1, 1] × 30
    expect(s.uph).toEqual([0, 0, 60, 60, 30, 30]);
  });
});
