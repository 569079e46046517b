import { createImage, type FirmwareImage } from '../image/memory-image';
import { FlashError } from '../../shared/errors';
import type { DeviceIdentity } from '../../shared/model';

/*
 * Firmware manifests: what a vendor publishes so customers can install an update with one button.
 *
 * ESP Web Tools manifests (esphome/esp-web-tools README, "Creating your manifest") are accepted
 * unchanged: a name, a version, builds keyed by `chipFamily`, parts at offsets. webprog's superset adds,
 * per build, the `driver` and the `device` it is for (any protocol, not only ESP), per part its
 * `sha256` and `size`, release notes, an erase policy, and a signature over the whole manifest
 * (./signature.ts). Pure: the caller fetches files; this parses, picks a build and assembles an image.
 */

export interface ManifestPart {
  path: string;
  offset: number;
  /** Lower-case hex SHA-256 of the part file, checked before anything is erased. */
  sha256?: string;
  /** Size of the part file in bytes, checked likewise. */
  size?: number;
}

/** What a build is for: matched against what the device answered (DeviceIdentity) after identify. */
export interface DeviceMatch {
  /** The device ID exactly as the driver reads it: AVR signature, STM32 product ID, DFU VID:PID, SPI NOR JEDEC ID. */
  id?: string;
  /** The part name as the driver reports it, case, spaces, punctuation and a trailing "(…)" ignored: "ATmega328P", "W25Q16", "ESP32-C3". */
  name?: string;
}

export type ErasePolicy = 'as-needed' | 'all';

export interface ManifestBuild {
  /** The protocol (driver id) that installs it; ESP Web Tools builds are 'esp-rom'. */
  driver: string;
  /** ESP Web Tools' chip family ('ESP32', 'ESP32-C3', 'ESP8266', ...), kept for History and summaries. */
  chipFamily?: string;
  device: DeviceMatch;
  parts: ManifestPart[];
  /** 'as-needed' (the default) erases what is written; 'all' erases the whole chip first. */
  erase: ErasePolicy;
  /** Versions the device may run for this update to apply (where the protocol can read it). */
  minVersion?: string;
  maxVersion?: string;
  improv?: boolean;
}

export interface FirmwareManifest {
  name: string;
  version?: string;
  /** Release notes in a small markdown subset (shared/release-notes.ts): `release_notes` or ESP-style `whats_new`. */
  releaseNotes?: string;
  /** ESP Web Tools: ask before a fresh install whether to erase the whole flash first. */
  newInstallPromptErase: boolean;
  builds: ManifestBuild[];
  /** Present when the manifest carries a signature (checked by ./signature.ts against a pinned key). */
  signed: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/i;

/** Validates a parsed manifest (JSON.parse output); every problem is a 'bad-image' naming the field. */
export function parseManifest(json: unknown): FirmwareManifest {
  const bad = (what: string) =>
    new FlashError('bad-image', `The firmware manifest is not valid: ${what}.`, {
      hint: 'Check the manifest link; it should be a webprog or ESP Web Tools manifest.json with "builds" and "parts".',
    });
  if (!isObject(json)) throw bad('it is not a JSON object');
  if (typeof json.name !== 'string' || json.name === '') throw bad('"name" is missing');
  if (!Array.isArray(json.builds) || json.builds.length === 0) throw bad('"builds" is missing or empty');
  const builds = json.builds.map((b: unknown, i: number): ManifestBuild => {
    if (!isObject(b)) throw bad(`builds[${i}] is not an object`);
    const chipFamily = typeof b.chipFamily === 'string' && b.chipFamily !== '' ? b.chipFamily : undefined;
    const driver = typeof b.driver === 'string' && b.driver !== '' ? b.driver : chipFamily ? 'esp-rom' : undefined;
    if (!driver) throw bad(`builds[${i}] has neither "driver" nor "chipFamily"`);
    const label = chipFamily ?? driver;
    if (!Array.isArray(b.parts) || b.parts.length === 0) throw bad(`builds[${i}] (${label}) has no "parts"`);
    const parts = b.parts.map((p: unknown, j: number) => parsePart(p, `builds[${i}].parts[${j}]`, bad));
    const device = parseDevice(b.device, `builds[${i}].device`, bad);
    if (chipFamily && !device.name) device.name = chipFamily;
    if (b.erase !== undefined && b.erase !== 'as-needed' && b.erase !== 'all') throw bad(`builds[${i}].erase must be "as-needed" or "all"`);
    return {
      driver,
      ...(chipFamily ? { chipFamily } : {}),
      device,
      parts,
      erase: b.erase === 'all' ? 'all' : 'as-needed',
      ...(typeof b.min_version === 'string' ? { minVersion: b.min_version } : {}),
      ...(typeof b.max_version === 'string' ? { maxVersion: b.max_version } : {}),
      ...(typeof b.improv === 'boolean' ? { improv: b.improv } : {}),
    };
  });
  const notes = [json.release_notes, json.whats_new].find((n): n is string => typeof n === 'string' && n.trim() !== '');
  return {
    name: json.name,
    ...(typeof json.version === 'string' ? { version: json.version } : {}),
    ...(notes ? { releaseNotes: notes.trim() } : {}),
    newInstallPromptErase: json.new_install_prompt_erase === true,
    builds,
    signed: json.signature !== undefined,
  };
}

function parsePart(p: unknown, where: string, bad: (what: string) => FlashError): ManifestPart {
  if (!isObject(p) || typeof p.path !== 'string' || p.path === '') throw bad(`${where} has no "path"`);
  const offset = typeof p.offset === 'number' ? p.offset : typeof p.offset === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(p.offset.trim()) ? Number(p.offset.trim()) : NaN;
  if (!Number.isInteger(offset) || offset < 0) throw bad(`${where} has no valid "offset"`);
  if (p.sha256 !== undefined && (typeof p.sha256 !== 'string' || !HEX64.test(p.sha256))) throw bad(`${where}.sha256 is not 64 hex digits`);
  if (p.size !== undefined && (typeof p.size !== 'number' || !Number.isInteger(p.size) || p.size < 0)) throw bad(`${where}.size is not a byte count`);
  return {
    path: p.path,
    offset,
    ...(typeof p.sha256 === 'string' ? { sha256: p.sha256.toLowerCase() } : {}),
    ...(typeof p.size === 'number' ? { size: p.size } : {}),
  };
}

function parseDevice(d: unknown, where: string, bad: (what: string) => FlashError): DeviceMatch {
  if (d === undefined) return {};
  if (!isObject(d)) throw bad(`${where} is not an object`);
  const out: DeviceMatch = {};
  for (const key of ['id', 'name'] as const) {
    if (d[key] === undefined) continue;
    if (typeof d[key] !== 'string' || d[key] === '') throw bad(`${where}.${key} is not a text`);
    out[key] = d[key];
  }
  return out;
}

/** How a build is named to people: its chip family, else what it matches, else its driver. */
export function buildLabel(build: ManifestBuild): string {
  return build.chipFamily ?? build.device.name ?? build.device.id ?? build.driver;
}

/**
 * The build for the identified device among the builds for `driver`: the first whose device keys all
 * match; builds with no keys match any device of their driver, after every specific build. 'wrong-target'
 * naming what the manifest has otherwise.
 */
export function pickBuild(manifest: FirmwareManifest, driver: string, device: DeviceIdentity): ManifestBuild {
  const mine = manifest.builds.filter((b) => b.driver === driver);
  const matches = (m: DeviceMatch) =>
    (m.id === undefined || normalise(m.id) === normalise(device.id) || normalise(device.id).startsWith(normalise(m.id) + '/')) &&
    (m.name === undefined || normalise(device.name.replace(/\s*\([^)]*\)\s*$/, '')) === normalise(m.name));
  const specific = mine.find((b) => (b.device.id !== undefined || b.device.name !== undefined) && matches(b.device));
  const build = specific ?? mine.find((b) => b.device.id === undefined && b.device.name === undefined);
  if (build) return build;
  const offered = (mine.length ? mine : manifest.builds).map(buildLabel).join(', ');
  throw new FlashError('wrong-target', `${manifest.name} has no build for the ${device.name} on this board (it has: ${offered}).`, {
    hint: `Connect a board with one of those chips, or get a ${manifest.name} build for ${device.name}; nothing was written.`,
    details: { actual: device.name, offered },
  });
}

/** Drivers the manifest has builds for, in the manifest's order. */
export function manifestDrivers(manifest: FirmwareManifest): string[] {
  return [...new Set(manifest.builds.map((b) => b.driver))];
}

/** Where a part lives: its path resolved against the manifest's URL, as a browser would. */
export function partUrl(manifestUrl: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return path; // absolute URL
  const origin = originOf(manifestUrl);
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

/** "https://vendor.example" of "https://vendor.example/fw/manifest.json" (lower-case scheme and host). */
export function originOf(url: string): string {
  return (/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(url)?.[1] ?? '').toLowerCase();
}

/**
 * One image from a build's parts, each at its offset. Parts that overlap with different bytes are
 * refused (createImage names both), and a missing file is named by its path.
 */
export function imageFromBuild(build: ManifestBuild, files: ReadonlyMap<string, Uint8Array>): FirmwareImage {
  const segments = build.parts.map((p) => {
    const data = files.get(p.path);
    if (!data) throw new FlashError('bad-image', `The part "${p.path}" of the ${buildLabel(build)} build was not loaded.`);
    return { memory: 'flash', address: p.offset, data, origin: p.path };
  });
  const image = createImage('manifest', segments);
  image.meta = { build: buildLabel(build), parts: build.parts.length, ...(build.chipFamily ? { chipFamily: build.chipFamily } : {}) };
  return image;
}

function normalise(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9/]/g, '');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
