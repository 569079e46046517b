import type { AuditRecord } from '../../shared/api';

/*
 * Station figures from the audit trail: units per hour, first-pass yield, failures and cycles per
 * slot, and per-minute series for the live chart. Pure: records in, numbers out.
 *
 * Definitions:
 * - a unit is a device's first try (attempt 1); a restart of a failed slot is a retry of that unit;
 * - first-pass yield = units that passed on their first try / units tried (finished ones);
 * - final yield = devices that passed, first try or retry / units tried;
 * - units per hour = devices passed in the window, per hour of the window actually worked (from the
 *   window's first job to now, at least a minute), so a fresh shift is not diluted by an empty hour;
 * - cycles per slot = every job in the slot (passes, fails, retries): the socket or pogo-pin wear count.
 */

export interface SlotFigures {
  slot: string;
  passed: number;
  failed: number;
  cycles: number;
}

export interface StationFigures {
  units: number;
  passed: number;
  failed: number;
  /** Jobs still running or interrupted/cancelled. */
  other: number;
  firstPassYield: number | null;
  finalYield: number | null;
  unitsPerHour: number | null;
  /** Median job time of passed devices, ms. */
  medianCycleMs: number | null;
  /** The serial of the device that passed last, if the recipe writes serials. */
  lastSerial: string | null;
  perSlot: SlotFigures[];
}

export interface MetricsOptions {
  now: number;
  /** Only this station's records; all stations when undefined. */
  station?: string;
  /** Only this recipe's records. */
  recipeId?: string;
  /** The UPH window; one hour by default. */
  windowMs?: number;
}

/** Records made by a station (plain Flash jobs have no station). */
export function productionRecords(records: AuditRecord[], opts: Pick<MetricsOptions, 'station' | 'recipeId'> = {}): AuditRecord[] {
  return records.filter(
    (r) => r.station !== undefined && (opts.station === undefined || r.station === opts.station) && (opts.recipeId === undefined || r.recipeId === opts.recipeId),
  );
}

export function stationFigures(all: AuditRecord[], opts: MetricsOptions): StationFigures {
  const records = productionRecords(all, opts);
  const windowMs = opts.windowMs ?? 3_600_000;
  let passed = 0;
  let failed = 0;
  let other = 0;
  let units = 0;
  let firstPass = 0;
  const slots = new Map<string, SlotFigures>();
  const cycleMs: number[] = [];
  let last: AuditRecord | null = null;
  const end = (r: AuditRecord) => r.finishedAt ?? r.startedAt;
  for (const r of records) {
    if (r.status === 'passed' && r.serial !== undefined && (last === null || end(r) > end(last))) last = r;
    const first = (r.attempt ?? 1) <= 1;
    const done = r.status === 'passed' || r.status === 'failed';
    if (r.status === 'passed') passed++;
    else if (r.status === 'failed') failed++;
    else other++;
    if (first && done) {
      units++;
      if (r.status === 'passed') firstPass++;
    }
    if (r.status === 'passed' && r.durationMs !== undefined) cycleMs.push(r.durationMs);
    const key = r.slot ?? '?';
    const s = slots.get(key) ?? { slot: key, passed: 0, failed: 0, cycles: 0 };
    s.cycles++;
    if (r.status === 'passed') s.passed++;
    if (r.status === 'failed') s.failed++;
    slots.set(key, s);
  }

  const windowStart = opts.now - windowMs;
  const recent = records.filter((r) => r.startedAt >= windowStart);
  let unitsPerHour: number | null = null;
  if (recent.length > 0) {
    const since = Math.min(...recent.map((r) => r.startedAt));
    const span = Math.max(60_000, opts.now - since);
    const done = recent.filter((r) => r.status === 'passed').length;
    unitsPerHour = (done * 3_600_000) / span;
  }
  return {
    units,
    passed,
    failed,
    other,
    firstPassYield: units > 0 ? firstPass / units : null,
    finalYield: units > 0 ? Math.min(1, passed / units) : null,
    unitsPerHour,
    medianCycleMs: median(cycleMs),
    lastSerial: last?.serial ?? null,
    perSlot: [...slots.values()].sort((a, b) => a.slot.localeCompare(b.slot, undefined, { numeric: true })),
  };
}

/** Per-minute buckets over the window: time (epoch seconds, bucket start), passed, failed, rolling UPH. */
export interface ChartSeries {
  t: number[];
  passed: number[];
  failed: number[];
  /** Passed devices over the trailing 10 minutes, per hour. */
  uph: number[];
}

export function chartSeries(all: AuditRecord[], opts: MetricsOptions & { bucketMs?: number; trailingMs?: number }): ChartSeries {
  const bucketMs = opts.bucketMs ?? 60_000;
  const trailingMs = opts.trailingMs ?? 10 * 60_000;
  const windowMs = opts.windowMs ?? 3_600_000;
  const end = Math.floor(opts.now / bucketMs) * bucketMs;
  const start = end - Math.ceil(windowMs / bucketMs) * bucketMs;
  const n = (end - start) / bucketMs + 1;
  const out: ChartSeries = { t: [], passed: Array(n).fill(0), failed: Array(n).fill(0), uph: [] };
  for (let i = 0; i < n; i++) out.t.push((start + i * bucketMs) / 1000);
  const finished = productionRecords(all, opts).filter((r) => r.status === 'passed' || r.status === 'failed');
  for (const r of finished) {
    const at = r.finishedAt ?? r.startedAt;
    if (at < start || at >= end + bucketMs) continue;
    const i = Math.floor((at - start) / bucketMs);
    if (r.status === 'passed') out.passed[i]!++;
    else out.failed[i]!++;
  }
  const span = Math.max(1, Math.round(trailingMs / bucketMs));
  let running = 0;
  for (let i = 0; i < n; i++) {
    running += out.passed[i]!;
    if (i >= span) running -= out.passed[i - span]!;
    out.uph.push((running * 3_600_000) / (Math.min(i + 1, span) * bucketMs));
  }
  return out;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
