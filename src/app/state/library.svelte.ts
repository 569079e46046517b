import { transfer } from 'comlink';
import type { FirmwareEntry } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import { call } from '../worker-client';

/** The firmware library as the Library view shows it. */
export class LibraryState {
  #items = $state.raw<FirmwareEntry[]>([]);
  #status = $state<'idle' | 'loading' | 'ready'>('idle');
  #error = $state.raw<FlashErrorInfo | null>(null);

  get items() {
    return this.#items;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }

  async refresh(): Promise<void> {
    if (this.#status === 'idle') this.#status = 'loading';
    const result = await call((api) => api.listFirmware());
    this.#status = 'ready';
    if (result.ok) {
      this.#items = result.value;
      this.#error = null;
    } else {
      this.#error = result.error;
    }
  }

  async add(file: File): Promise<FirmwareEntry | null> {
    const bytes = await file.arrayBuffer();
    const result = await call((api) => api.addFirmware(transfer({ name: file.name, bytes }, [bytes])));
    if (!result.ok) {
      this.#error = result.error;
      return null;
    }
    this.#error = null;
    await this.refresh();
    return result.value;
  }

  async setNotes(fileSha256: string, notes: string): Promise<void> {
    const result = await call((api) => api.updateFirmware(fileSha256, { notes }));
    if (result.ok) this.#items = this.#items.map((i) => (i.fileSha256 === fileSha256 ? result.value : i));
    else this.#error = result.error;
  }

  async remove(fileSha256: string): Promise<void> {
    const result = await call((api) => api.removeFirmware(fileSha256));
    if (!result.ok) this.#error = result.error;
    await this.refresh();
  }
}
