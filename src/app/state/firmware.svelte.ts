import { transfer } from 'comlink';
import type { ImageSummary, SampleFirmware } from '../../shared/api';
import type { FlashErrorInfo, Result } from '../../shared/errors';
import type { FileHandle } from '../file-access';
import { formatBytes, hexAddress } from '../format';
import { call } from '../worker-client';
import type { DeviceChoice } from './catalog.svelte';

/** Files larger than this are refused before reading: no firmware for these parts comes close. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** The firmware chosen for the next job, parsed and held by the worker. */
export class FirmwareState {
  #summary = $state.raw<ImageSummary | null>(null);
  #status = $state<'empty' | 'loading' | 'ready' | 'error'>('empty');
  #error = $state.raw<FlashErrorInfo | null>(null);
  #loadingName = $state('');
  #sample = $state.raw<Omit<SampleFirmware, 'summary'> | null>(null);
  #request = 0;

  get summary() {
    return this.#summary;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  get loadingName() {
    return this.#loadingName;
  }

  /**
   * A file opened with a handle (picker or drop, File System Access API): read again before each
   * re-flash. `rebuiltAt` is the file's time when a re-read found it changed.
   */
  #watched: { handle: FileHandle; lastModified: number; size: number } | null = null;
  #rebuiltAt = $state<number | null>(null);

  get watched(): boolean {
    return this.#watched !== null;
  }
  get rebuiltAt() {
    return this.#rebuiltAt;
  }

  /** Opens a file through its handle, to be read again on each re-flash. */
  async fromHandle(handle: FileHandle): Promise<void> {
    let file: File;
    try {
      file = await handle.getFile();
    } catch (err) {
      this.#fail({ code: 'bad-image', message: `${handle.name} could not be read: ${String(err)}`, hint: 'Choose the file again.' });
      return;
    }
    await this.fromFile(file);
    if (this.#status === 'ready') this.#watched = { handle, lastModified: file.lastModified, size: file.size };
  }

  /**
   * Before a re-flash: reads a watched file again. 'changed' when the build wrote a new one (it is
   * parsed, and its summary and SHA-256 replace the old), 'same' when not, 'failed' when it could not be read.
   */
  async reread(): Promise<'same' | 'changed' | 'failed'> {
    const watched = this.#watched;
    if (!watched) return 'same';
    let file: File;
    try {
      file = await watched.handle.getFile();
    } catch {
      this.#watched = null;
      this.#fail({ code: 'bad-image', message: `${watched.handle.name} can no longer be read (moved or deleted?).`, hint: 'Choose the file again.' });
      return 'failed';
    }
    if (file.lastModified === watched.lastModified && file.size === watched.size) return 'same';
    const before = this.#summary?.fileSha256;
    await this.fromHandle(watched.handle);
    if (this.#status !== 'ready') return 'failed';
    if (this.#summary?.fileSha256 === before) return 'same';
    this.#rebuiltAt = file.lastModified;
    return 'changed';
  }

  /** Reads a picked or dropped file and has the worker parse it (the bytes are moved, not copied). */
  async fromFile(file: File): Promise<void> {
    if (file.size > MAX_FILE_BYTES) {
      this.#fail({ code: 'bad-image', message: `${file.name} is ${formatBytes(file.size)}, too large to be firmware.`, hint: 'Choose the firmware file (.hex, .bin, .elf, .uf2…).' });
      return;
    }
    await this.#load(file.name, async () => {
      const bytes = await file.arrayBuffer();
      return call((api) => api.inspect(transfer({ name: file.name, bytes }, [bytes])));
    });
  }

  /** Loads the worker's "Try it" file for a board (see worker/samples.ts). */
  async fromSample(choice: { driverId: string; targetId?: string }): Promise<void> {
    let sample: Omit<SampleFirmware, 'summary'> | null = null;
    await this.#load('the sample', async () => {
      const result = await call((api) => api.sampleFirmware({ driverId: choice.driverId, ...(choice.targetId === undefined ? {} : { targetId: choice.targetId }) }));
      if (!result.ok) return result;
      sample = { realHardware: result.value.realHardware, about: result.value.about };
      return { ok: true, value: result.value.summary };
    });
    if (this.#status === 'ready') this.#sample = sample;
  }

  /** The chosen file is a "Try it" sample: what it does, and whether it is for real boards too. */
  get sample() {
    return this.#sample;
  }

  /** Takes a file from the library. `quiet` leaves the picker empty instead of showing an error. */
  async fromLibrary(fileSha256: string, name = 'firmware', quiet = false): Promise<void> {
    await this.#load(name, () => call((api) => api.useFirmware(fileSha256)), quiet);
  }

  clear(): void {
    this.#request++;
    this.#watched = null;
    this.#rebuiltAt = null;
    this.#sample = null;
    this.#summary = null;
    this.#error = null;
    this.#status = 'empty';
  }

  async #load(name: string, op: () => Promise<Result<ImageSummary>>, quiet = false): Promise<void> {
    const request = ++this.#request;
    this.#sample = null;
    this.#watched = null;
    this.#rebuiltAt = null;
    this.#status = 'loading';
    this.#loadingName = name;
    this.#error = null;
    let result: Result<ImageSummary>;
    try {
      result = await op();
    } catch (err) {
      result = { ok: false, error: { code: 'bad-image', message: `${name} could not be read: ${String(err)}`, hint: 'Choose the file again.' } };
    }
    if (request !== this.#request) return; // a newer pick won
    if (result.ok) {
      this.#summary = result.value;
      this.#status = 'ready';
    } else if (quiet) {
      this.clear();
    } else {
      this.#fail(result.error);
    }
  }

  #fail(error: FlashErrorInfo): void {
    this.#summary = null;
    this.#error = error;
    this.#status = 'error';
  }
}

export interface Fit {
  ok: boolean;
  /** Share of the part's flash the image spans, 0..1. */
  share: number;
  text: string;
}

/** Does the image fit the chosen part's flash? The engine checks again (with the bootloader) before writing. */
export function fitOf(summary: ImageSummary, choice: DeviceChoice | undefined): Fit | null {
  const mem = choice?.flash;
  if (!choice || !mem || mem.size === 0) return null;
  const flash = summary.segments.filter((s) => s.memory === 'flash');
  const others = summary.segments.filter((s) => s.memory !== 'flash').map((s) => s.memory);
  if (flash.length === 0) return { ok: true, share: 0, text: `No flash data; the file has ${[...new Set(others)].join(', ')} data.` };
  const start = Math.min(...flash.map((s) => s.address));
  const end = Math.max(...flash.map((s) => s.address + s.length));
  const used = end - mem.base;
  const share = used / mem.size;
  if (start < mem.base || end > mem.base + mem.size) {
    return {
      ok: false,
      share: Math.min(1, Math.max(0, share)),
      text: `Outside ${choice.targetName}'s flash: the file spans ${hexAddress(start)}–${hexAddress(end - 1)}, the flash ${hexAddress(mem.base)}–${hexAddress(mem.base + mem.size - 1)}.`,
    };
  }
  const extra = others.length > 0 ? ` Also has ${[...new Set(others)].join(', ')} data.` : '';
  return { ok: true, share, text: `Uses ${formatBytes(used)} of ${formatBytes(mem.size)} flash on ${choice.targetName}.${extra}` };
}
