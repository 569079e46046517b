import { FlashError } from '../../shared/errors';
import type { JobEvent, JobPhase, PlannedPhase } from '../../shared/events';
import type { AbortSignalLike, Clock } from '../io/clock';
import type { Identified } from './driver-api';

/**
 * Phase timing and truthful progress for every job kind:
 * - the plan names only the phases this job has (a device-digest verify moves almost nothing);
 * - bytes count what the device acknowledged (drivers may report inside a block);
 * - the time left is the current phase at its measured rate plus later phases at their expected rate,
 *   never less than the raw bytes still to cross the line allow, and unknown until a rate is measured.
 */

/** How long a phase must run before its rate is trusted (one slow first block is not a rate). */
const MEASURE_MS = 300;
/**
 * What a device-side digest costs per byte, as if it were a transfer: the chip reads its own flash
 * (tens of MB/s) and hashes it; 1 MB/s is a safe floor for the ESP stub's MD5.
 */
const DIGEST_BYTES_PER_S = 1_000_000;
/** A rate to weigh phases by before anything is measured, when the driver cannot tell its line rate. */
const UNKNOWN_RATE = 10_000;

export interface PhaseTrackerOptions {
  /** Raw bytes per second the link carries at most (Driver.lineRate, asked once the link is up); undefined when unknown or compressed. */
  lineRate?: () => number | undefined;
}

export class PhaseTracker {
  phase: JobPhase = 'connect';
  readonly phaseMs: Partial<Record<JobPhase, number>> = {};
  private readonly start: number;
  private phaseStart: number;
  private planned: PlannedPhase[] = [];
  private phaseDone = 0;
  /** Measured rate of each finished transfer phase, bytes per second. */
  private readonly measured: Partial<Record<JobPhase, number>> = {};

  constructor(
    private readonly rt: { clock: Clock; signal: AbortSignalLike; emit: (event: JobEvent) => void },
    private readonly opts: PhaseTrackerOptions = {},
  ) {
    this.start = this.phaseStart = rt.clock.now();
  }

  enter(phase: JobPhase): void {
    this.checkAbort();
    const now = this.rt.clock.now();
    const spent = now - this.phaseStart;
    this.phaseMs[this.phase] = (this.phaseMs[this.phase] ?? 0) + spent;
    if (this.phaseDone > 0 && spent > 0) this.measured[this.phase] = (this.phaseDone * 1000) / spent;
    this.phase = phase;
    this.phaseStart = now;
    this.phaseDone = 0;
    this.rt.emit({ type: 'phase', phase });
  }

  /**
   * The transfer phases this job will run and their bytes; `how` says whether a verify reads back or asks
   * the device for a digest. Emits the plan with each phase's expected share of the transfer time.
   */
  plan(phases: { phase: JobPhase; bytes: number; how?: PlannedPhase['how'] }[]): void {
    const kept = phases.filter((p) => p.bytes > 0);
    const times = kept.map((p) => p.bytes / this.expectedRate(p.phase, p.how));
    const sum = times.reduce((a, b) => a + b, 0) || 1;
    this.planned = kept.map((p, i) => ({ phase: p.phase, bytes: p.bytes, share: times[i]! / sum, ...(p.how ? { how: p.how } : {}) }));
    this.rt.emit({ type: 'plan', phases: this.planned.map((p) => ({ ...p })) });
  }

  identified(identified: Identified): void {
    this.rt.emit({ type: 'identified', device: identified.device });
  }

  /** Bytes of the current phase the device has acknowledged since the last call. */
  advance(bytes: number): void {
    if (bytes <= 0) return;
    this.phaseDone += bytes;
    const now = this.rt.clock.now();
    const elapsedMs = now - this.phaseStart;
    const rate = elapsedMs >= MEASURE_MS ? (this.phaseDone * 1000) / elapsedMs : 0;
    const current = this.planned.find((p) => p.phase === this.phase);
    this.rt.emit({
      type: 'progress',
      phase: this.phase,
      done: this.phaseDone,
      total: current?.bytes ?? 0,
      bytesPerSecond: rate,
      etaMs: rate > 0 ? this.timeLeft(rate) : null,
      overall: this.overall(),
    });
  }

  checkAbort(): void {
    if (this.rt.signal.aborted) throw new FlashError('aborted', `Cancelled during ${this.phase}.`);
  }

  elapsed(): number {
    const now = this.rt.clock.now();
    this.phaseMs[this.phase] = (this.phaseMs[this.phase] ?? 0) + (now - this.phaseStart);
    this.phaseStart = now;
    return now - this.start;
  }

  /** 0..1 over the planned phases; below 1 until the last byte of the last phase is acknowledged. */
  private overall(): number {
    let sum = 0;
    for (const p of this.planned) {
      if (p.phase === this.phase) return Math.min(1, sum + p.share * Math.min(1, this.phaseDone / p.bytes));
      sum += p.share;
    }
    return sum;
  }

  private timeLeft(rate: number): number {
    const at = this.planned.findIndex((p) => p.phase === this.phase);
    const current = this.planned[at];
    let ms = current ? (Math.max(0, current.bytes - this.phaseDone) * 1000) / rate : 0;
    let raw = current && current.how !== 'device-digest' ? Math.max(0, current.bytes - this.phaseDone) : 0;
    for (const p of this.planned.slice(at + 1)) {
      // A later read-back runs at the line's pace, which the write just measured.
      const expected = p.how === 'device-digest' ? DIGEST_BYTES_PER_S : (this.measured[p.phase] ?? this.measured.write ?? rate);
      ms += (p.bytes * 1000) / expected;
      if (p.how !== 'device-digest') raw += p.bytes;
    }
    const line = this.opts.lineRate?.();
    const floor = line ? (raw * 1000) / line : 0;
    return Math.max(ms, floor);
  }

  private expectedRate(phase: JobPhase, how: PlannedPhase['how']): number {
    if (how === 'device-digest') return DIGEST_BYTES_PER_S;
    return this.measured[phase] ?? this.opts.lineRate?.() ?? UNKNOWN_RATE;
  }
}
