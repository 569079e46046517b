import { DEFAULT_SETTINGS, type Settings } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import { call } from '../worker-client';

/** Settings kept in IndexedDB by the worker; reads are instant from this copy. */
export class SettingsState {
  #current = $state.raw<Settings>({ ...DEFAULT_SETTINGS });
  #loaded = $state(false);
  #error = $state.raw<FlashErrorInfo | null>(null);

  get current(): Settings {
    return this.#current;
  }
  get loaded() {
    return this.#loaded;
  }
  get error() {
    return this.#error;
  }

  async load(): Promise<Settings> {
    const result = await call((api) => api.getSettings());
    if (result.ok) this.#current = result.value;
    else this.#error = result.error;
    this.#loaded = true;
    return this.#current;
  }

  async update(patch: Partial<Settings>): Promise<void> {
    this.#current = { ...this.#current, ...patch };
    const result = await call((api) => api.updateSettings(patch));
    if (result.ok) this.#current = result.value;
    else this.#error = result.error;
  }
}
