import { proxy } from 'comlink';
import type { InstallReport, JobSpec } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import type { JobEvent, JobPhase, PlannedPhase } from '../../shared/events';
import type { DeviceIdentity, JobReport } from '../../shared/model';
import { call } from '../worker-client';
import { JobProgress } from './progress.svelte';

export type JobStatus = 'idle' | 'running' | 'passed' | 'failed';

/** The steps every job shows before its transfer phases, and the transfer phases shown until the engine's plan arrives. */
const LEAD_STEPS = ['connect', 'identify'] as const satisfies readonly JobPhase[];
const DEFAULT_TRANSFER_STEPS = ['write', 'verify'] as const satisfies readonly JobPhase[];

/** The steps of the progress stepper: connect, identify, then only the transfer phases this job really has. */
export function jobSteps(plan: readonly PlannedPhase[] | null): JobPhase[] {
  return [...LEAD_STEPS, ...(plan ? plan.map((p) => p.phase) : DEFAULT_TRANSFER_STEPS)];
}

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

const STEP_WORDS: Record<JobPhase, string> = {
  connect: 'Connect',
  identify: 'Identify',
  validate: 'Check',
  erase: 'Erase',
  write: 'Write',
  verify: 'Verify',
  read: 'Read',
  finish: 'Finish',
};

/** One word per step of the progress stepper. */
export function stepWord(phase: JobPhase): string {
  return STEP_WORDS[phase];
}

/** One job on screen: the live state while it runs, then its result or error. */
export class FlashJob {
  /** Phase, bytes and speed while it runs. */
  readonly progress = new JobProgress();
  #status = $state<JobStatus>('idle');
  #device = $state.raw<DeviceIdentity | null>(null);
  #report = $state.raw<JobReport | null>(null);
  #error = $state.raw<FlashErrorInfo | null>(null);
  #failedPhase = $state<JobPhase | null>(null);
  #log = $state.raw<string[]>([]);
  #spec = $state.raw<JobSpec | null>(null);
  #fileName = $state('');
  #kind = $state<'flash' | 'install'>('flash');
  #build = $state.raw<InstallReport['build'] | null>(null);
  #startedAt = $state(0);
  #cancelling = $state(false);

  get status() {
    return this.#status;
  }
  get running() {
    return this.#status === 'running';
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
  /** A file flashed, or a manifest installed (the Install button). */
  get kind() {
    return this.#kind;
  }
  /** For an install that passed: the build written. */
  get build() {
    return this.#build;
  }
  get startedAt() {
    return this.#startedAt;
  }
  get cancelling() {
    return this.#cancelling;
  }

  /**
   * 0..1 over the whole job (see JobProgress.fraction). Below 1 until the job's result is in: the
   * screen never says 100 % while the engine is still finishing.
   */
  get overall(): number {
    if (this.#status === 'passed') return 1;
    return Math.min(0.99, this.progress.fraction(this.#spec?.options.verify !== false));
  }

  /** Runs a job to its end. Resolves with the outcome; never throws. */
  async run(spec: JobSpec, fileName: string, kind: 'flash' | 'install' = 'flash'): Promise<'passed' | 'failed'> {
    this.#spec = spec;
    this.#fileName = fileName;
    this.#kind = kind;
    this.#build = null;
    this.#status = 'running';
    this.progress.start();
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
    const result = await call<JobReport | InstallReport>((api) => (kind === 'install' ? api.install(spec, proxy(onEvent)) : api.flash(spec, proxy(onEvent))));
    if (this.#spec?.jobId !== jobId) return result.ok ? 'passed' : 'failed';
    if (result.ok) {
      this.#report = result.value;
      if ('build' in result.value) this.#build = result.value.build;
      this.#device = result.value.device;
      this.progress.finish();
      this.#status = 'passed';
      return 'passed';
    }
    this.#error = result.error;
    this.#failedPhase = result.error.phase ?? this.progress.phase;
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
      case 'plan':
      case 'progress':
        this.progress.apply(event);
        break;
      case 'identified':
        this.#device = event.device;
        break;
      case 'log':
        this.#log = [...this.#log.slice(-199), `${event.level}: ${event.message}`];
        break;
    }
  }
}
