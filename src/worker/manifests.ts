import { describeImage, type FirmwareImage } from '../core/image/index';
import type { Identified } from '../core/job/driver-api';
import { checkBuildParts } from '../core/manifest/integrity';
import { buildLabel, imageFromBuild, originOf, parseManifest, partUrl, pickBuild, type FirmwareManifest } from '../core/manifest/model';
import { checkManifestSignature, parsePublicKey } from '../core/manifest/signature';
import type { AuditRecord, FirmwareFile, ImageSummary, InstallReport, ManifestSource, ManifestSummary } from '../shared/api';
import { FlashError } from '../shared/errors';
import type { JobEvent } from '../shared/events';
import { sha256Hex } from './digest';

/*
 * Firmware manifests in the worker (core/manifest: webprog's superset of ESP Web Tools manifests):
 * load (fetch or picked files), check the vendor's signature when the link pins a key, keep, install.
 * Every part of the chosen build is checked (size, SHA-256, content) before anything is erased.
 *
 * An install is ONE device session. Which build to write is known only once the chip has answered, so
 * the job starts with an empty image and the install's `prepare` hook (core/job JobHooks) picks the
 * build for the identified device, fetches its parts (if not picked as files), checks and assembles
 * them and returns the image; runJob then validates it against the device like any other. Nothing is
 * written before that: runJob runs prepare after identify and before validate, always
 * (tests/worker/manifest.test.ts).
 *
 * The alternative, a first session that only identifies and a second that flashes, costs a second reset
 * and stub upload (1–2 s), and on chips with their own USB port a second re-enumeration in between,
 * which may need a second permission prompt: exactly what an "Install" button must not do.
 * The price of one session: the parts are downloaded while the chip waits in download mode (the ROM
 * and stub have no idle timeout), and a download failure is reported after connecting, with nothing written.
 */

/** A manifest kept between `loadManifest` and `install`. */
export interface LoadedManifest {
  sha256: string;
  manifest: FirmwareManifest;
  /** True when the link pinned a vendor key and the signature verified against it. */
  verified: boolean;
  /** The URL or the file name. */
  source: string;
  /** Parts are fetched relative to this; undefined for picked files. */
  url?: string;
  bytes: ArrayBuffer;
  /** Part bytes by manifest path: the picked files, then whatever was fetched. */
  files: Map<string, Uint8Array>;
}

/** Downloads one file; the platform's fetch by default (same-origin or CORS). */
export type FetchFile = (url: string, signal?: AbortSignal) => Promise<Uint8Array>;

const KEEP = 4;

export class ManifestStore {
  readonly #loaded = new Map<string, LoadedManifest>();

  constructor(private readonly fetchFile: FetchFile = platformFetch) {}

  async load(source: ManifestSource): Promise<ManifestSummary> {
    let loaded: LoadedManifest;
    if (source?.kind === 'url') {
      const url = String(source.url ?? '').trim();
      if (!/^https?:\/\//i.test(url)) {
        throw new FlashError('bad-image', `"${url}" is not a web address.`, { hint: 'Paste the full manifest link, starting with https://.' });
      }
      const bytes = await this.fetchFile(url);
      loaded = { ...(await this.#parse(bytes, url, source.key)), url, files: new Map() };
    } else if (source?.kind === 'files') {
      if (!(source.manifest?.bytes instanceof ArrayBuffer)) throw new FlashError('bad-image', 'No manifest file content was received.');
      const parsed = await this.#parse(new Uint8Array(source.manifest.bytes), source.manifest.name, source.key);
      loaded = { ...parsed, files: matchParts(parsed.manifest, source.parts ?? []) };
    } else {
      throw new FlashError('invalid-argument', 'A manifest comes from a URL or from files.');
    }
    this.#loaded.delete(loaded.sha256);
    this.#loaded.set(loaded.sha256, loaded);
    while (this.#loaded.size > KEEP) this.#loaded.delete(this.#loaded.keys().next().value!);
    return summarise(loaded);
  }

  get(sha256: string): LoadedManifest {
    const m = this.#loaded.get(sha256);
    if (!m) throw new FlashError('bad-image', 'That firmware manifest is no longer loaded.', { hint: 'Open the install link again, or pick the manifest file again.' });
    return m;
  }

  /**
   * The install plan for a job: the History-facing summary of the manifest and the prepare hook that
   * builds the image once the chip is known. `build()` is what was chosen, after identify.
   */
  plan(m: LoadedManifest, driverId: string): InstallPlan {
    const image: FirmwareImage = { format: 'manifest', segments: [] };
    let chosen: InstallReport['build'] | null = null;
    const summary: ImageSummary = {
      name: `${m.manifest.name}${m.manifest.version ? ` ${m.manifest.version}` : ''} (manifest)`,
      fileSize: m.bytes.byteLength,
      fileSha256: m.sha256,
      format: 'manifest',
      segments: [],
      totalBytes: 0,
      imageSha256: '',
      crc32: '',
    };
    const bind = async (identified: Identified, { audit, log, signal }: InstallContext): Promise<FirmwareImage> => {
      // History names the chip that answered even when the manifest has no build for it.
      audit({ deviceId: identified.device.id, deviceName: identified.device.name });
      const build = pickBuild(m.manifest, driverId, identified.device);
      const label = buildLabel(build);
      for (const part of build.parts) {
        if (m.files.has(part.path)) continue;
        if (!m.url) {
          throw new FlashError('bad-image', `The file "${part.path}" of the ${label} build was not picked.`, {
            hint: 'Pick the manifest again together with all its part files; nothing was written.',
          });
        }
        if (signal.aborted) throw new FlashError('aborted', 'The job was cancelled.');
        const url = partUrl(m.url, part.path);
        checkPartOrigin(url, m.url);
        log({ type: 'log', level: 'info', message: `Downloading ${part.path} for the ${label}.` });
        m.files.set(part.path, await this.fetchFile(url, signal));
      }
      // Size, SHA-256 and content of every part, before the first erase.
      checkBuildParts(build, m.files, { signed: m.verified });
      const built = imageFromBuild(build, m.files);
      const d = describeImage(built);
      chosen = {
        chipFamily: label,
        parts: build.parts.map((p) => ({ ...p, size: m.files.get(p.path)!.length })),
        imageSha256: d.sha256,
        imageBytes: d.totalBytes,
      };
      log({ type: 'log', level: 'info', message: `Installing the ${label} build: ${build.parts.map((p) => `${p.path} at 0x${p.offset.toString(16)}`).join(', ')}.` });
      audit({ imageSha256: d.sha256, imageBytes: d.totalBytes, fileName: `${summary.name}, ${label} build` });
      return built;
    };
    return {
      firmware: { summary, image, bytes: m.bytes },
      prepare: (ctx) => (identified) => bind(identified, ctx),
      build: () => chosen,
    };
  }

  async #parse(bytes: Uint8Array, source: string, key: string | undefined): Promise<Omit<LoadedManifest, 'files'>> {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new FlashError('bad-image', `${source} is not a JSON manifest.`, { hint: 'Check the link or file: it should be a firmware manifest.json.' });
    }
    const manifest = parseManifest(json);
    // A pinned key makes the signature mandatory; without one, a signature proves nothing about who signed.
    if (key) await checkManifestSignature(json, parsePublicKey(key));
    return { sha256: await sha256Hex(bytes), manifest, verified: Boolean(key), source, bytes: bytes.slice().buffer };
  }
}

/** What the job lends the install: its History record, its event stream and its cancel signal. */
export interface InstallContext {
  audit: (patch: Partial<AuditRecord>) => void;
  log: (event: JobEvent) => void;
  signal: AbortSignal;
}

export interface InstallPlan {
  firmware: { summary: ImageSummary; image: FirmwareImage; bytes: ArrayBuffer };
  /** The job's prepare hook: picks, fetches, checks and assembles the build for the device that answered. */
  prepare(ctx: InstallContext): (identified: Identified) => Promise<FirmwareImage>;
  build(): InstallReport['build'] | null;
}

/** Picked part files by manifest path: the exact relative path first, then the file name alone. */
function matchParts(manifest: FirmwareManifest, parts: FirmwareFile[]): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const base = (p: string) => p.replace(/^.*[\\/]/, '');
  for (const build of manifest.builds) {
    for (const part of build.parts) {
      const file = parts.find((f) => f.name === part.path) ?? parts.find((f) => base(f.name) === base(part.path));
      if (file && file.bytes instanceof ArrayBuffer) files.set(part.path, new Uint8Array(file.bytes));
    }
  }
  return files;
}

function summarise(m: LoadedManifest): ManifestSummary {
  return {
    manifestSha256: m.sha256,
    name: m.manifest.name,
    ...(m.manifest.version ? { version: m.manifest.version } : {}),
    ...(m.manifest.releaseNotes ? { whatsNew: m.manifest.releaseNotes } : {}),
    source: m.source,
    signature: m.verified ? 'verified' : m.manifest.signed ? 'not-checked' : 'unsigned',
    drivers: [...new Set(m.manifest.builds.map((b) => b.driver))],
    builds: m.manifest.builds.map((b) => ({
      driver: b.driver,
      chipFamily: buildLabel(b),
      parts: b.parts.map((p) => ({ path: p.path, offset: p.offset })),
      missing: m.url ? [] : b.parts.filter((p) => !m.files.has(p.path)).map((p) => p.path),
    })),
  };
}

/**
 * The worker's own connect-src (a page's meta Content-Security-Policy does not reach workers): parts
 * come from the manifest's origin or the app's, never from a third site the manifest names.
 */
function checkPartOrigin(url: string, manifestUrl: string): void {
  const allowed = [originOf(manifestUrl), originOf(String((globalThis as { location?: { origin?: string } }).location?.origin ?? ''))];
  if (allowed.includes(originOf(url))) return;
  throw new FlashError('bad-image', `The manifest names a part on another site (${originOf(url)}), which webprog does not download from.`, {
    hint: 'The vendor should publish the parts beside the manifest; nothing was written.',
  });
}

async function platformFetch(url: string, signal?: AbortSignal): Promise<Uint8Array> {
  const hint = 'Check the link and the connection. A manifest on another site must allow cross-origin requests (CORS).';
  let res: Response;
  try {
    res = await fetch(url, { ...(signal ? { signal } : {}), cache: 'no-cache', credentials: 'omit' });
  } catch (err) {
    if (signal?.aborted) throw new FlashError('aborted', 'The job was cancelled.');
    throw new FlashError('bad-image', `${url} could not be downloaded: ${err instanceof Error ? err.message : String(err)}`, { hint });
  }
  if (!res.ok) throw new FlashError('bad-image', `${url} could not be downloaded (HTTP ${res.status}).`, { hint, details: { status: res.status } });
  return new Uint8Array(await res.arrayBuffer());
}
