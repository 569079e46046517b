import type { AuditRecord } from '../../shared/api';

/*
 * In-system (ISP, on the assembled board) versus offline (in a socket, before assembly) programming:
 * the line time and cost of each for a volume, and where one overtakes the other. Pure arithmetic,
 * so the numbers on the Planner screen can be checked by hand.
 *
 * The model, per method:
 * - programming time per device  p = overhead + image bytes / rate
 * - handling time per device     h = load + unload by the operator (or handler), one device at a time
 * - N channels (gang slots, sockets) program in parallel; a channel is busy while loaded and programmed
 * - units per hour = min(3600 / h, N × 3600 / (h + p)): either the operator or the channels limit it
 * - line hours = volume / UPH + batches × changeover
 * - cost = fixed (fixture, socket adapters, programmer) + labour × line hours + per-unit extras × volume
 * - break-even volume: where the two cost lines cross (null if one is cheaper at every volume)
 */

export interface MethodInput {
  /** Programming speed, bytes per second of image (write + verify together). */
  bytesPerSecond: number;
  /** Per device, independent of size: connect, identify, reset, verify set-up. Seconds. */
  overheadS: number;
  /** Devices programmed at once. */
  channels: number;
  /** Operator (or handler) time to load and unload one device. Seconds. */
  handlingS: number;
  /** One-off: fixture, socket adapters, programmer. */
  fixedCost: number;
  /** Per device: trays, re-taping, labels. */
  perUnitCost: number;
  /** Per batch: swapping fixture or adapters, loading the recipe, first-article check. Minutes. */
  changeoverMin: number;
}

export interface PlanInput {
  /** Devices to program. */
  volume: number;
  /** How many separate runs the volume comes in (each costs a changeover). */
  batches: number;
  imageBytes: number;
  /** Cost of an operator hour (line time). */
  laborPerHour: number;
  isp: MethodInput;
  socket: MethodInput;
}

export interface MethodPlan {
  programS: number;
  cycleS: number;
  unitsPerHour: number;
  limitedBy: 'handling' | 'channels';
  /** Channels that keep one operator fully busy; more add nothing. */
  usefulChannels: number;
  lineHours: number;
  cost: number;
  costPerUnit: number;
  /** Cost that grows with each device: labour share plus extras. */
  variableCostPerUnit: number;
}

export interface PlanResult {
  isp: MethodPlan;
  socket: MethodPlan;
  /** Volume above which the method with the lower per-unit cost is cheaper overall. */
  breakEvenVolume: number | null;
  /** Which is cheaper above the break-even (or always, when there is none). */
  cheaperAtVolume: 'isp' | 'socket' | 'same';
  faster: 'isp' | 'socket' | 'same';
}

/** One method's figures for a volume. */
export function planMethod(m: MethodInput, input: Pick<PlanInput, 'volume' | 'batches' | 'imageBytes' | 'laborPerHour'>): MethodPlan {
  const rate = Math.max(1e-9, m.bytesPerSecond);
  const channels = Math.max(1, Math.floor(m.channels));
  const h = Math.max(0, m.handlingS);
  const p = Math.max(0, m.overheadS) + Math.max(0, input.imageBytes) / rate;
  const byChannels = (channels * 3600) / Math.max(1e-9, h + p);
  const byHandling = h > 0 ? 3600 / h : Infinity;
  const unitsPerHour = Math.min(byChannels, byHandling);
  const volume = Math.max(0, input.volume);
  const changeoverHours = (Math.max(0, input.batches) * Math.max(0, m.changeoverMin)) / 60;
  const lineHours = volume / unitsPerHour + changeoverHours;
  const variableCostPerUnit = input.laborPerHour / unitsPerHour + m.perUnitCost;
  const cost = m.fixedCost + input.laborPerHour * lineHours + m.perUnitCost * volume;
  return {
    programS: p,
    cycleS: h + p,
    unitsPerHour,
    limitedBy: byHandling <= byChannels ? 'handling' : 'channels',
    usefulChannels: h > 0 ? Math.ceil((h + p) / h - 1e-9) : Infinity,
    lineHours,
    cost,
    costPerUnit: volume > 0 ? cost / volume : NaN,
    variableCostPerUnit,
  };
}

export function plan(input: PlanInput): PlanResult {
  const isp = planMethod(input.isp, input);
  const socket = planMethod(input.socket, input);
  // Costs that do not grow with volume: the fixed cost and the changeovers' line time.
  const fixed = (m: MethodInput) => m.fixedCost + (input.laborPerHour * Math.max(0, input.batches) * Math.max(0, m.changeoverMin)) / 60;
  const dFixed = fixed(input.socket) - fixed(input.isp);
  const dVar = isp.variableCostPerUnit - socket.variableCostPerUnit;
  let breakEvenVolume: number | null = null;
  let cheaperAtVolume: PlanResult['cheaperAtVolume'];
  if (Math.abs(dVar) < 1e-12) {
    cheaperAtVolume = Math.abs(dFixed) < 1e-9 ? 'same' : dFixed > 0 ? 'isp' : 'socket';
  } else {
    cheaperAtVolume = dVar > 0 ? 'socket' : 'isp';
    const v = dFixed / dVar;
    if (v > 0 && Number.isFinite(v)) breakEvenVolume = Math.ceil(v);
  }
  const faster = Math.abs(isp.unitsPerHour - socket.unitsPerHour) < 1e-9 ? 'same' : isp.unitsPerHour > socket.unitsPerHour ? 'isp' : 'socket';
  return { isp, socket, breakEvenVolume, cheaperAtVolume, faster };
}

export interface MeasuredSpeed {
  bytesPerSecond: number;
  overheadS: number;
  /** Verified jobs the figure comes from. */
  samples: number;
  /** Typical image size in those jobs. */
  typicalBytes: number;
}

/**
 * Programming speed from the audit log: a least-squares line time = overhead + bytes / rate over the
 * verified jobs. With one image size only, the overhead cannot be told apart: it is 0 and the rate is
 * the median of bytes / time.
 */
export function measuredSpeed(records: AuditRecord[], opts: { driverId?: string } = {}): MeasuredSpeed | null {
  const pts = records
    .filter((r) => r.status === 'passed' && r.verified && r.durationMs !== undefined && r.durationMs > 0 && r.imageBytes > 0)
    .filter((r) => opts.driverId === undefined || r.driverId === opts.driverId)
    .map((r) => ({ x: r.imageBytes, y: r.durationMs! / 1000 }));
  if (pts.length === 0) return null;
  const typicalBytes = medianOf(pts.map((p) => p.x));
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.x, 0) / n;
  const my = pts.reduce((a, p) => a + p.y, 0) / n;
  const sxx = pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const sxy = pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  // A fit needs sizes that differ by more than a few percent, and a positive slope.
  if (n >= 3 && Math.sqrt(sxx / n) > 0.05 * mx && sxy > 0) {
    const slope = sxy / sxx;
    const intercept = my - slope * mx;
    if (intercept >= 0) return { bytesPerSecond: 1 / slope, overheadS: intercept, samples: n, typicalBytes };
    // A negative intercept is noise: fall back to the line through the origin.
    const through = pts.reduce((a, p) => a + p.x * p.y, 0) / pts.reduce((a, p) => a + p.x * p.x, 0);
    return { bytesPerSecond: 1 / through, overheadS: 0, samples: n, typicalBytes };
  }
  return { bytesPerSecond: medianOf(pts.map((p) => p.x / p.y)), overheadS: 0, samples: n, typicalBytes };
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
