import type { JobEvent, JobPhase, PlannedPhase } from '../../shared/events';

/**
 * How far a running job is, from its events: the phase, the bytes of that phase done and in all, and
 * the speed. The Flash screen's job and every station slot follow their jobs with one of these.
 */
export class JobProgress {
  #phase = $state<JobPhase>('connect');
  #done = $state(0);
  #total = $state(0);
  #rate = $state(0);
  #etaMs = $state<number | null>(null);
  #plan = $state.raw<PlannedPhase[] | null>(null);
  #overall = $state<number | null>(null);

  get phase() {
    return this.#phase;
  }
  /** Bytes of the current phase done so far, and in all. */
  get done() {
    return this.#done;
  }
  get total() {
    return this.#total;
  }
  /** Bytes per second, 0 until measurable. */
  get rate() {
    return this.#rate;
  }
  /** Time left for the whole job, or null while unknown. */
  get etaMs() {
    return this.#etaMs;
  }

  /** The transfer phases this job really has (erase, write, verify…), once the engine knows; null before. */
  get plan() {
    return this.#plan;
  }

  /** Back to the beginning, for a new job. */
  start(): void {
    this.#phase = 'connect';
    this.#done = this.#total = this.#rate = 0;
    this.#etaMs = null;
    this.#plan = null;
    this.#overall = null;
  }

  /** The job ended well: the whole way is done. */
  finish(): void {
    this.#phase = 'finish';
  }

  /** Follows a 'phase' or 'progress' event; other events are not about progress and change nothing. */
  apply(event: JobEvent): void {
    switch (event.type) {
      case 'phase':
        this.#phase = event.phase;
        // Writing and verifying each count their bytes from zero.
        if (event.phase === 'write' || event.phase === 'verify') {
          this.#done = 0;
          this.#rate = 0;
        }
        break;
      case 'plan':
        this.#plan = event.phases;
        break;
      case 'progress':
        this.#overall = event.overall;
        this.#phase = event.phase;
        this.#done = event.done;
        this.#total = event.total;
        this.#rate = event.bytesPerSecond;
        this.#etaMs = event.etaMs;
        break;
      default:
        break;
    }
  }

  /**
   * 0..1 over the whole job: by the engine's plan (its phases weighed by their expected time) once it
   * has sent one; before that (an older worker), writing is the first half and verifying the second.
   */
  fraction(verify: boolean): number {
    // The engine weighs the job's real phases by their expected time; before its first report, nothing is done.
    if (this.#plan !== null) return this.#phase === 'finish' ? 1 : (this.#overall ?? 0);
    const part = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 0;
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
}
