import type { FlashErrorInfo } from './errors';
import type { DeviceIdentity, JobReport } from './model';

/** The phases of every job, in order. Drivers never invent phases: core/job emits them. */
export type JobPhase = 'connect' | 'identify' | 'validate' | 'erase' | 'write' | 'verify' | 'read' | 'finish';

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
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string }
  | { type: 'done'; report: JobReport }
  | { type: 'failed'; error: FlashErrorInfo; phase: JobPhase };

export type JobEventListener = (event: JobEvent) => void;
