import { proxy } from 'comlink';
import type { JobSpec } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import type { JobEvent, JobPhase } from '../../shared/events';
import type { DeviceIdentity, JobReport } from '../../shared/model';
import { call } from '../worker-client';

export type JobStatus = 'idle' | 'running' | 'passed' | 'failed';

/** The phases the progress stepper shows, in order; validate and finish are folded into neighbours. */
export const SHOWN_PHASES = ['connect', 'identify', 'write', 'verify'] as const satisfies readonly JobPhase[];

const PHASE_WORDS: Record<JobPhase, string> = {
  connect: 'Connecting',
  identify: 'Identifying the device',
  validate: 'Checking the file against the device',
  erase: 'Erasing',
  write: 'Writing',
  verify: 'Verifying',
  read: 'Reading',
  finish: 'Finishing',
};

export function phaseWord(phase: JobPhase): string {
  return PHASE_WORDS[phase];
}

const STEP_WORDS: Record<(typeof SHOWN_PHASES)[number], string> = {
  connect: 'Connect',
  identify: 'Identify',
  write: 'Write',
  verify: 'Verify',
};

/** One word per step of the progress stepper. */
export function stepWord(phase: (typeof SHOWN_PHASES)[number]): string {
  return STEP_WORDS[phase];
}

/** One job on screen: the live state while it runs, then its result or error. */
export class FlashJob {
  #status = $state<JobStatus>('idle');
  #phase = $state<JobPhase>('connect');
  #done = $state(0);
  #total = $state(0);
  #rate = $state(0);
  #etaMs = $state<number | null>(null);
  #device = $state.raw<DeviceIdentity | null>(null);
  #report = $state.raw<JobReport | null>(null);
  #error = $state.raw<FlashErrorInfo | null>(null);
  #failedPhase = $state<JobPhase | null>(null);
  #log = $state.raw<string[]>([]);
  #spec = $state.raw<JobSpec | null>(null);
  #fileName = $state('');
  #startedAt = $state(0);
  #cancelling = $state(false);

  get status() {
    return this.#status;
  }
  get running() {
    return this.#status === 'running';
  }
  get phase() {
    return this.#phase;
  }
  get done() {
    return this.#done;
  }
  get total() {
    return this.#total;
  }
  get rate() {
    return this.#rate;
  }
  get etaMs() {
    return this.#etaMs;
  }
  get device() {
    return this.#device;
  }
  get report() {
    return this.#report;
  }
  get error() {
    return this.#error;
  }
  get failedPhase() {
    return this.#failedPhase;
  }
  get log() {
    return this.#log;
  }
  get spec() {
    return this.#spec;
  }
  get fileName() {
    return this.#fileName;
  }
  get startedAt() {
    return this.#startedAt;
  }
  get cancelling() {
    return this.#cancelling;
  }

  /** 0..1 over the whole job: writing is the first half, verifying the second (same bytes each). */
  get overall(): number {
    if (this.#status === 'passed') return 1;
    const part = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 0;
    const verify = this.#spec?.options.verify !== false;
    switch (this.#phase) {
      case 'write':
        return verify ? part / 2 : part;
      case 'verify':
        return 0.5 + part / 2;
      case 'finish':
        return 1;
      default:
        return 0;
    }
  }

  /** Runs a job to its end. Resolves with the outcome; never throws. */
  async run(spec: JobSpec, fileName: string): Promise<'passed' | 'failed'> {
    this.#spec = spec;
    this.#fileName = fileName;
    this.#status = 'running';
    this.#phase = 'connect';
    this.#done = this.#total = this.#rate = 0;
    this.#etaMs = null;
    this.#device = null;
    this.#report = null;
    this.#error = null;
    this.#failedPhase = null;
    this.#log = [];
    this.#cancelling = false;
    this.#startedAt = performance.now();
    const jobId = spec.jobId;
    const onEvent = (event: JobEvent) => {
      if (this.#spec?.jobId === jobId && this.#status === 'running') this.#apply(event);
    };
    const result = await call((api) => api.flash(spec, proxy(onEvent)));
    if (this.#spec?.jobId !== jobId) return result.ok ? 'passed' : 'failed';
    if (result.ok) {
      this.#report = result.value;
      this.#device = result.value.device;
      this.#phase = 'finish';
      this.#status = 'passed';
      return 'passed';
    }
    this.#error = result.error;
    this.#failedPhase ??= this.#phase;
    this.#status = 'failed';
    return 'failed';
  }

  async cancel(): Promise<void> {
    const spec = this.#spec;
    if (!spec || this.#status !== 'running') return;
    this.#cancelling = true;
    await call((api) => api.cancel(spec.jobId));
  }

  /** Back to idle, e.g. when the user picks another file after a result. */
  reset(): void {
    if (this.#status === 'running') return;
    this.#status = 'idle';
    this.#report = null;
    this.#error = null;
  }

  #apply(event: JobEvent): void {
    switch (event.type) {
      case 'phase':
        this.#phase = event.phase;
        if (event.phase === 'write' || event.phase === 'verify') {
          this.#done = 0;
          this.#rate = 0;
        }
        break;
      case 'progress':
        this.#phase = event.phase;
        this.#done = event.done;
        this.#total = event.total;
        this.#rate = event.bytesPerSecond;
        this.#etaMs = event.etaMs;
        break;
      case 'identified':
        this.#device = event.device;
        break;
      case 'log':
        this.#log = [...this.#log.slice(-199), `${event.level}: ${event.message}`];
        break;
      case 'failed':
        this.#failedPhase = event.phase;
        break;
      case 'done':
        break;
    }
  }
}
