import type { AuditRecord } from '../../shared/api';
import type { Result } from '../../shared/errors';
import { saveText } from '../download';
import { call } from '../worker-client';
import { WorkerList } from './worker-list.svelte';

/** The audit log as the History view shows it. */
export class HistoryState extends WorkerList<AuditRecord> {
  #exporting = $state(false);

  /** The jobs, newest first. */
  get records(): AuditRecord[] {
    return this.items;
  }
  get exporting() {
    return this.#exporting;
  }

  protected fetchAll(): Promise<Result<AuditRecord[]>> {
    return call((api) => api.listHistory({ limit: 500 }));
  }

  /** Saves the whole log as a file through the browser's download. */
  async download(format: 'csv' | 'json'): Promise<void> {
    this.#exporting = true;
    try {
      const result = await call((api) => api.exportHistory(format));
      if (result.ok) saveText(result.value);
      else this.fail(result.error);
    } finally {
      this.#exporting = false;
    }
  }
}
