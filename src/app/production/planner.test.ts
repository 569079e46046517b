import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../shared/api';
import { measuredSpeed, plan, planMethod, type MethodInput, type PlanInput } from './planner';

const method = (m: Partial<MethodInput> = {}): MethodInput => ({
  bytesPerSecond: 4000,
  overheadS: 1,
  channels: 1,
  handlingS: 10,
  fixedCost: 0,
  perUnitCost: 0,
  changeoverMin: 0,
  ...m,
});

const base = { volume: 1000, batches: 1, imageBytes: 32_000, laborPerHour: 36 };

describe('planMethod', () => {
  it('is limited by the channels when programming is slow', () => {
    // p = 1 + 32000/4000 = 9 s; h = 10 s; one channel: 3600 / 19 per hour.
    const one = planMethod(method(), base);
    expect(one.programS).toBe(9);
    expect(one.cycleS).toBe(19);
    expect(one.unitsPerHour).toBeCloseTo(3600 / 19, 9);
    expect(one.limitedBy).toBe('channels');
    expect(one.usefulChannels).toBe(2); // ceil(19 / 10)
    expect(one.lineHours).toBeCloseTo(1000 / (3600 / 19), 9);
    expect(one.cost).toBeCloseTo(36 * one.lineHours, 9);
  });

  it('is limited by the operator once there are enough channels', () => {
    const four = planMethod(method({ channels: 4 }), base);
    // Channels could do 4 × 3600/19 = 757.9/h, the operator only 3600/10 = 360/h.
    expect(four.unitsPerHour).toBe(360);
    expect(four.limitedBy).toBe('handling');
    // More channels change nothing.
    expect(planMethod(method({ channels: 32 }), base).unitsPerHour).toBe(360);
  });

  it('adds changeovers and per-unit extras', () => {
    const m = planMethod(method({ handlingS: 0, channels: 2, changeoverMin: 30, fixedCost: 500, perUnitCost: 0.1 }), { ...base, batches: 4 });
    // Channel-bound: 2 × 3600 / 9 = 800/h; 1000 units = 1.25 h, plus 4 × 0.5 h changeover.
    expect(m.unitsPerHour).toBe(800);
    expect(m.lineHours).toBeCloseTo(3.25, 9);
    expect(m.cost).toBeCloseTo(500 + 36 * 3.25 + 100, 9);
    expect(m.costPerUnit).toBeCloseTo(m.cost / 1000, 9);
    expect(m.usefulChannels).toBe(Infinity);
  });
});

describe('plan: ISP against offline socket programming', () => {
  const input: PlanInput = {
    ...base,
    isp: method({ channels: 8, handlingS: 12, bytesPerSecond: 1800, overheadS: 2, fixedCost: 1500 }),
    socket: method({ channels: 4, handlingS: 4, bytesPerSecond: 200_000, overheadS: 1, fixedCost: 6000, perUnitCost: 0.02 }),
  };

  it('finds the volume where offline programming starts to pay off, and checks it', () => {
    const r = plan(input);
    // ISP: p = 2 + 32000/1800 = 19.78 s, h = 12 s → operator-bound at 300/h; socket: p = 1.16 s,
    // h = 4 s → 900/h. Variable cost: 36/300 = 0.12 vs 36/900 + 0.02 = 0.06 per unit.
    expect(r.isp.unitsPerHour).toBe(300);
    expect(r.socket.unitsPerHour).toBe(900);
    expect(r.faster).toBe('socket');
    expect(r.cheaperAtVolume).toBe('socket');
    expect(r.breakEvenVolume).toBe(75_000); // 4500 / 0.06
    const at = (volume: number) => plan({ ...input, volume });
    expect(at(74_000).isp.cost).toBeLessThan(at(74_000).socket.cost);
    expect(at(76_000).socket.cost).toBeLessThan(at(76_000).isp.cost);
  });

  it('has no break-even when one method is cheaper at every volume', () => {
    const r = plan({ ...input, socket: { ...input.socket, fixedCost: 0 } });
    expect(r.breakEvenVolume).toBeNull();
    expect(r.cheaperAtVolume).toBe('socket');
    const same = plan({ ...input, socket: input.isp });
    expect(same).toMatchObject({ breakEvenVolume: null, cheaperAtVolume: 'same', faster: 'same' });
  });
});

describe('measuredSpeed', () => {
  const rec = (bytes: number, ms: number, extra: Partial<AuditRecord> = {}): AuditRecord =>
    ({ status: 'passed', verified: true, imageBytes: bytes, durationMs: ms, driverId: 'stk500v1' }) as AuditRecord;

  it('fits overhead and rate from jobs of different sizes', () => {
    // time = 0.5 s + bytes / 5000
    const s = measuredSpeed([rec(5000, 1500), rec(10_000, 2500), rec(20_000, 4500), rec(40_000, 8500)]);
    expect(s!.bytesPerSecond).toBeCloseTo(5000, 6);
    expect(s!.overheadS).toBeCloseTo(0.5, 9);
    expect(s!.samples).toBe(4);
  });

  it('uses the median rate when every image has the same size, and ignores failures', () => {
    const s = measuredSpeed([rec(8192, 2000), rec(8192, 2100), rec(8192, 1900), { ...rec(8192, 100), status: 'failed' } as AuditRecord]);
    expect(s).toEqual({ bytesPerSecond: 8192 / 2, overheadS: 0, samples: 3, typicalBytes: 8192 });
    expect(measuredSpeed([])).toBeNull();
  });
});
