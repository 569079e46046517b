import type { AuditRecord } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import { call } from '../worker-client';

/** The audit log as the History view shows it. */
export class HistoryState {
  #records = $state.raw<AuditRecord[]>([]);
  #status = $state<'idle' | 'loading' | 'ready'>('idle');
  #error = $state.raw<FlashErrorInfo | null>(null);
  #exporting = $state(false);

  get records() {
    return this.#records;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  get exporting() {
    return this.#exporting;
  }

  async refresh(): Promise<void> {
    if (this.#status === 'idle') this.#status = 'loading';
    const result = await call((api) => api.listHistory({ limit: 500 }));
    this.#status = 'ready';
    if (result.ok) {
      this.#records = result.value;
      this.#error = null;
    } else {
      this.#error = result.error;
    }
  }

  /** Saves the whole log as a file through the browser's download. */
  async download(format: 'csv' | 'json'): Promise<void> {
    this.#exporting = true;
    try {
      const result = await call((api) => api.exportHistory(format));
      if (!result.ok) {
        this.#error = result.error;
        return;
      }
      const url = URL.createObjectURL(new Blob([result.value.text], { type: result.value.mimeType }));
      const a = document.createElement('a');
      a.href = url;
      a.download = result.value.fileName;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } finally {
      this.#exporting = false;
    }
  }
}
