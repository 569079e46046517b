import { transfer } from 'comlink';
import type { FirmwareFile, ManifestSummary } from '../../shared/api';
import type { FlashErrorInfo, Result } from '../../shared/errors';
import { call } from '../worker-client';

/** Part files larger than this are refused before reading (the largest ESP flash is 128 MiB). */
const MAX_PART_BYTES = 128 * 1024 * 1024;

/**
 * The vendor's firmware manifest chosen for "Install" (journey 3): loaded by the worker from its URL,
 * or from a manifest file picked together with its part files.
 */
export class ManifestState {
  #summary = $state.raw<ManifestSummary | null>(null);
  #status = $state<'empty' | 'loading' | 'ready' | 'error'>('empty');
  #error = $state.raw<FlashErrorInfo | null>(null);
  #request = 0;
  /** The vendor's public key pinned by the link (`&key=`): the manifest must be signed with it. */
  #key: string | undefined;
  readonly #onReady: (summary: ManifestSummary) => void;

  constructor(opts: { onReady?: (summary: ManifestSummary) => void } = {}) {
    this.#onReady = opts.onReady ?? (() => {});
  }

  get summary() {
    return this.#summary;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }

  /** The driver (protocol) that installs it: the manifest's first, or null before one is loaded. */
  get driver(): string | null {
    return this.#summary?.drivers[0] ?? null;
  }

  /** "Demo Sensor 2.4.1". */
  get title(): string {
    const s = this.#summary;
    return s ? `${s.name}${s.version ? ` ${s.version}` : ''}` : '';
  }

  /** A link the vendor gave; relative links are taken relative to this page. `key` pins the vendor's signing key. */
  async fromUrl(url: string, key?: string): Promise<void> {
    this.#key = key || undefined;
    let absolute: string;
    try {
      absolute = new URL(url.trim(), location.href).href;
    } catch {
      this.#fail({ code: 'bad-image', message: `"${url}" is not a web address.`, hint: 'Paste the full manifest link, starting with https://.' });
      return;
    }
    const source = this.#key ? { kind: 'url' as const, url: absolute, key: this.#key } : { kind: 'url' as const, url: absolute };
    await this.#load(() => call((api) => api.loadManifest(source)));
  }

  /** The manifest (the one .json file) and its part files, picked together. */
  async fromFiles(files: File[]): Promise<void> {
    const manifest = files.find((f) => /\.json$/i.test(f.name));
    if (!manifest) {
      this.#fail({ code: 'bad-image', message: 'None of the chosen files is a manifest (.json).', hint: 'Choose manifest.json together with its .bin part files.' });
      return;
    }
    const big = files.find((f) => f.size > MAX_PART_BYTES);
    if (big) {
      this.#fail({ code: 'bad-image', message: `${big.name} is too large to be a firmware part.`, hint: 'Choose manifest.json and the .bin files it names.' });
      return;
    }
    await this.#load(async () => {
      const read = async (f: File): Promise<FirmwareFile> => ({
        // A folder pick keeps the relative path, which is what the manifest names.
        name: (f as File & { webkitRelativePath?: string }).webkitRelativePath?.replace(/^[^/]*\//, '') || f.name,
        bytes: await f.arrayBuffer(),
      });
      const parts = await Promise.all(files.filter((f) => f !== manifest).map(read));
      const m = await read(manifest);
      const source = { kind: 'files' as const, manifest: m, parts, ...(this.#key ? { key: this.#key } : {}) };
      return call((api) => api.loadManifest(transfer(source, [m.bytes, ...parts.map((p) => p.bytes)])));
    });
  }

  clear(): void {
    this.#request++;
    this.#summary = null;
    this.#error = null;
    this.#status = 'empty';
  }

  async #load(op: () => Promise<Result<ManifestSummary>>): Promise<void> {
    const request = ++this.#request;
    this.#status = 'loading';
    this.#error = null;
    let result: Result<ManifestSummary>;
    try {
      result = await op();
    } catch (err) {
      result = { ok: false, error: { code: 'bad-image', message: `The manifest could not be read: ${String(err)}`, hint: 'Choose it again.' } };
    }
    if (request !== this.#request) return;
    if (result.ok) {
      this.#summary = result.value;
      this.#status = 'ready';
      this.#onReady(result.value);
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
