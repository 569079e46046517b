import { transfer } from 'comlink';
import type { FirmwareEntry } from '../../shared/api';
import type { Result } from '../../shared/errors';
import { call } from '../worker-client';
import { WorkerList } from './worker-list.svelte';

/** The firmware library as the Library view shows it. */
export class LibraryState extends WorkerList<FirmwareEntry> {
  protected fetchAll(): Promise<Result<FirmwareEntry[]>> {
    return call((api) => api.listFirmware());
  }

  async add(file: File): Promise<FirmwareEntry | null> {
    const bytes = await file.arrayBuffer();
    const result = await call((api) => api.addFirmware(transfer({ name: file.name, bytes }, [bytes])));
    if (!this.settle(result)) return null;
    await this.refresh();
    return result.value;
  }

  async setNotes(fileSha256: string, notes: string): Promise<void> {
    const result = await call((api) => api.updateFirmware(fileSha256, { notes }));
    if (result.ok) this.setItems(this.items.map((i) => (i.fileSha256 === fileSha256 ? result.value : i)));
    else this.fail(result.error);
  }

  async remove(fileSha256: string): Promise<void> {
    const result = await call((api) => api.removeFirmware(fileSha256));
    if (!result.ok) this.fail(result.error);
    await this.refresh();
  }
}
