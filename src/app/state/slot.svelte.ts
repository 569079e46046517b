import type { StationEvent } from '../../shared/api';
import type { FlashErrorInfo, Result } from '../../shared/errors';
import type { FaultMode } from '../faults';
import { JobProgress } from './progress.svelte';

export type SlotStatus = 'idle' | 'running' | 'passed' | 'failed' | 'cancelled';

/** How a slot reaches its device: a built-in virtual board, or a serial port the user granted. */
export type SlotLink = { kind: 'virtual'; fault: FaultMode } | { kind: 'serial'; port: SerialPort; label: string };

/** One socket or port of the station: its device link and its current (or last) job. */
export class SlotState {
  readonly index: number;
  /** 1-based, as printed on the fixture. */
  readonly name: string;
  /** The current job's phase and bytes. */
  readonly progress = new JobProgress();
  #link = $state.raw<SlotLink>({ kind: 'virtual', fault: 'none' });
  #status = $state<SlotStatus>('idle');
  #serial = $state<string | null>(null);
  #deviceId = $state<string | null>(null);
  #error = $state.raw<FlashErrorInfo | null>(null);
  #durationMs = $state<number | null>(null);
  #attempt = $state(1);
  #boardId = $state<string | null>(null);
  #passed = $state(0);
  #failed = $state(0);
  #jobId: string | null = null;
  #workerIndex = 0;
  #startedAt = 0;
  #verify = true;

  constructor(index: number) {
    this.index = index;
    this.name = String(index + 1);
  }

  get link() {
    return this.#link;
  }
  get status() {
    return this.#status;
  }
  get running() {
    return this.#status === 'running';
  }
  get serial() {
    return this.#serial;
  }
  get deviceId() {
    return this.#deviceId;
  }
  get error() {
    return this.#error;
  }
  get durationMs() {
    return this.#durationMs;
  }
  get attempt() {
    return this.#attempt;
  }
  get boardId() {
    return this.#boardId;
  }
  /** Results in this slot since the page was opened. */
  get passed() {
    return this.#passed;
  }
  get failed() {
    return this.#failed;
  }
  get jobId() {
    return this.#jobId;
  }
  get workerIndex() {
    return this.#workerIndex;
  }

  /** 0..1 over the whole job (see JobProgress.fraction). */
  get overall(): number {
    if (this.#status === 'passed') return 1;
    if (this.#status !== 'running') return 0;
    return this.progress.fraction(this.#verify);
  }

  setLink(link: SlotLink): void {
    if (!this.running) this.#link = link;
  }

  /** A scanned board ID for the device now in this slot. */
  setBoardId(id: string | null): void {
    this.#boardId = id;
  }

  begin(jobId: string, attempt: number, workerIndex: number, verify: boolean): void {
    this.#jobId = jobId;
    this.#attempt = attempt;
    this.#workerIndex = workerIndex;
    this.#verify = verify;
    this.#status = 'running';
    this.progress.start();
    this.#serial = null;
    this.#deviceId = null;
    this.#error = null;
    this.#durationMs = null;
    this.#startedAt = performance.now();
  }

  apply(event: StationEvent): void {
    switch (event.type) {
      case 'serial':
        this.#serial = event.text;
        break;
      case 'phase':
      case 'plan':
      case 'progress':
        this.progress.apply(event);
        break;
      case 'identified':
        this.#deviceId = event.device.id;
        break;
      default:
        break;
    }
  }

  end(result: Result<{ serial?: string; device: { id: string }; verified: boolean }>): SlotStatus {
    this.#durationMs = performance.now() - this.#startedAt;
    if (result.ok && result.value.verified) {
      this.#status = 'passed';
      this.progress.finish();
      this.#passed++;
      if (result.value.serial) this.#serial = result.value.serial;
      this.#deviceId = result.value.device.id;
    } else if (!result.ok && result.error.code === 'aborted') {
      this.#status = 'cancelled';
      this.#error = result.error;
    } else {
      this.#status = 'failed';
      this.#failed++;
      this.#error = result.ok ? { code: 'verify-mismatch', message: 'Written but not verified.', hint: 'Turn verify on in the recipe.' } : result.error;
    }
    return this.#status;
  }
}
