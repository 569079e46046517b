import { createImage, type FirmwareImage } from '../../core/image/memory-image';
import { FlashError } from '../../shared/errors';
import { ESP_CHIPS, type EspChip } from './chips/index';

/**
 * ESP Web Tools manifests (esphome/esp-web-tools README, "Creating your manifest"): a name, a version
 * and builds, each for one `chipFamily` with the parts to write at their offsets. Pure: the caller
 * fetches the manifest and the part files; this picks the build for the detected chip and turns the
 * parts into one image.
 */
export interface ManifestPart {
  path: string;
  offset: number;
}

export interface ManifestBuild {
  chipFamily: string;
  parts: ManifestPart[];
  improv?: boolean;
}

export interface EspWebToolsManifest {
  name: string;
  version?: string;
  /**
   * Release notes to show before installing. Not in ESP Web Tools' schema (it ignores unknown keys), so
   * a vendor can add it without breaking that tool: `"whats_new": "Fixes ..."`.
   */
  whatsNew?: string;
  /** Ask before a fresh install whether to erase the whole flash first. */
  newInstallPromptErase: boolean;
  builds: ManifestBuild[];
}

/** Family names manifests use, which are our chips' names ('ESP32', 'ESP32-C3', 'ESP8266', ...). */
export const MANIFEST_FAMILIES: readonly string[] = ESP_CHIPS.map((c) => c.name);

/** Validates a parsed manifest (JSON.parse output); every problem is a 'bad-image' naming the field. */
export function parseManifest(json: unknown): EspWebToolsManifest {
  const bad = (what: string) =>
    new FlashError('bad-image', `The firmware manifest is not valid: ${what}.`, {
      hint: 'Check the manifest URL; it should be an ESP Web Tools manifest.json with "builds" and "parts".',
    });
  if (!isObject(json)) throw bad('it is not a JSON object');
  if (typeof json.name !== 'string' || json.name === '') throw bad('"name" is missing');
  if (!Array.isArray(json.builds) || json.builds.length === 0) throw bad('"builds" is missing or empty');
  const builds = json.builds.map((b: unknown, i: number): ManifestBuild => {
    if (!isObject(b) || typeof b.chipFamily !== 'string') throw bad(`builds[${i}] has no "chipFamily"`);
    if (!Array.isArray(b.parts) || b.parts.length === 0) throw bad(`builds[${i}] (${b.chipFamily}) has no "parts"`);
    const parts = b.parts.map((p: unknown, j: number): ManifestPart => {
      if (!isObject(p) || typeof p.path !== 'string' || p.path === '') throw bad(`builds[${i}].parts[${j}] has no "path"`);
      const offset = typeof p.offset === 'number' ? p.offset : typeof p.offset === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(p.offset.trim()) ? Number(p.offset.trim()) : NaN;
      if (!Number.isInteger(offset) || offset < 0) throw bad(`builds[${i}].parts[${j}] has no valid "offset"`);
      return { path: p.path, offset };
    });
    return { chipFamily: b.chipFamily, parts, ...(typeof b.improv === 'boolean' ? { improv: b.improv } : {}) };
  });
  return {
    name: json.name,
    ...(typeof json.version === 'string' ? { version: json.version } : {}),
    ...(typeof json.whats_new === 'string' && json.whats_new.trim() !== '' ? { whatsNew: json.whats_new.trim() } : {}),
    newInstallPromptErase: json.new_install_prompt_erase === true,
    builds,
  };
}

/** The build for the detected chip; 'wrong-target' naming the families the manifest has otherwise. */
export function pickBuild(manifest: EspWebToolsManifest, chip: Pick<EspChip, 'name'>): ManifestBuild {
  const key = normalise(chip.name);
  const build = manifest.builds.find((b) => normalise(b.chipFamily) === key);
  if (build) return build;
  const offered = manifest.builds.map((b) => b.chipFamily).join(', ');
  throw new FlashError('wrong-target', `${manifest.name} has no build for the ${chip.name} on this board (it has: ${offered}).`, {
    hint: `Connect a board with one of those chips, or get a ${manifest.name} build for ${chip.name}; nothing was written.`,
    details: { actual: chip.name, offered },
  });
}

/** Where a part lives: its path resolved against the manifest's URL, as a browser would. */
export function partUrl(manifestUrl: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return path; // absolute URL
  const origin = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)/i.exec(manifestUrl)?.[1] ?? '';
  if (path.startsWith('/')) return origin + path;
  const base = manifestUrl.replace(/[?#].*$/, '').replace(/[^/]*$/, '');
  const segments = (base.slice(origin.length) + path).split('/');
  const out: string[] = [];
  for (const s of segments) {
    if (s === '..') out.length > 1 && out.pop();
    else if (s !== '.') out.push(s);
  }
  return origin + out.join('/');
}

/**
 * One image from a build's parts, each at its offset. Parts that overlap with different bytes are
 * refused (createImage names both), and a missing file is named by its path.
 */
export function imageFromBuild(build: ManifestBuild, files: ReadonlyMap<string, Uint8Array>): FirmwareImage {
  const segments = build.parts.map((p) => {
    const data = files.get(p.path);
    if (!data) throw new FlashError('bad-image', `The part "${p.path}" of the ${build.chipFamily} build was not loaded.`);
    return { memory: 'flash', address: p.offset, data, origin: p.path };
  });
  const image = createImage('esp-web-tools', segments);
  image.meta = { chipFamily: build.chipFamily, parts: build.parts.length };
  return image;
}

function normalise(family: string): string {
  return family.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
