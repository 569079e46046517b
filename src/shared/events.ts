import type { DeviceIdentity } from './model';

/** The phases of every job, in order. Drivers never invent phases: core/job emits them. */
export type JobPhase = 'connect' | 'identify' | 'validate' | 'erase' | 'write' | 'verify' | 'read' | 'finish';

/**
 * What a running job tells the page while it runs: progress only. How it ended, passed or failed (and
 * in which phase), is the job's Result, never an event.
 */
/** A transfer phase a job will really run (JobEvent 'plan'). */
export interface PlannedPhase {
  phase: JobPhase;
  bytes: number;
  /** Expected fraction of the job's transfer time, 0..1; the plan's shares sum to 1. */
  share: number;
  /** A verify either reads every byte back or asks the device for a digest (ESP MD5), which moves almost nothing. */
  how?: 'read-back' | 'device-digest';
}

export type JobEvent =
  | { type: 'phase'; phase: JobPhase }
  /** The transfer phases this job has, once known (before erase/write); only those are worth drawing. */
  | { type: 'plan'; phases: PlannedPhase[] }
  | {
      type: 'progress';
      phase: JobPhase;
      /** Bytes of this phase done so far and in all. */
      done: number;
      total: number;
      /** From what the device acknowledged over the phase so far; 0 until measurable (~0.3 s). */
      bytesPerSecond: number;
      /** Time left for the whole job, never less than the line allows; null while unknown. */
      etaMs: number | null;
      /** 0..1 over the whole job by the plan's shares; reaches 1 only with the last acknowledged byte. */
      overall: number;
    }
  | { type: 'identified'; device: DeviceIdentity }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string };

export type JobEventListener = (event: JobEvent) => void;
