import type { DeviceIdentity } from './model';

/** The phases of every job, in order. Drivers never invent phases: core/job emits them. */
export type JobPhase = 'connect' | 'identify' | 'validate' | 'erase' | 'write' | 'verify' | 'read' | 'finish';

/**
 * What a running job tells the page while it runs: progress only. How it ended, passed or failed (and
 * in which phase), is the job's Result, never an event.
 */
export type JobEvent =
  | { type: 'phase'; phase: JobPhase }
  | {
      type: 'progress';
      phase: JobPhase;
      /** Bytes of this phase done so far and in all. */
      done: number;
      total: number;
      /** Smoothed over the phase so far; 0 until measurable. */
      bytesPerSecond: number;
      /** Estimated time left for the whole job, or null while unknown. */
      etaMs: number | null;
    }
  | { type: 'identified'; device: DeviceIdentity }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string };

export type JobEventListener = (event: JobEvent) => void;
