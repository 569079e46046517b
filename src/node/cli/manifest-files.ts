import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FirmwareImage } from '../../core/image/memory-image';
import type { Identified } from '../../core/job/driver-api';
import type { JobRuntime } from '../../core/job/run-job';
import { checkBuildParts } from '../../core/manifest/integrity';
import { imageFromBuild, parseManifest, pickBuild, type FirmwareManifest } from '../../core/manifest/model';
import { checkManifestSignature, fromBase64, parsePublicKey } from '../../core/manifest/signature';
import { FlashError } from '../../shared/errors';
import { UsageError } from './spec';

/*
 * Manifests on disk, for `webprog manifest …` and `webprog flash --manifest`: parts are the files
 * beside the manifest, as the vendor will publish them.
 */

export function readManifestJson(path: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UsageError(`${path} is not a JSON manifest`, 'Give the manifest.json file.');
}

export function partFile(manifestPath: string, partPath: string): string {
  return resolve(dirname(manifestPath), partPath);
}

export function readPart(manifestPath: string, partPath: string): Uint8Array {
  const file = partFile(manifestPath, partPath);
  if (!existsSync(file)) throw new FlashError('bad-image', `The part ${partPath} is not beside the manifest.`, { hint: 'Keep the part files beside the manifest, as they are published.' });
  return new Uint8Array(readFileSync(file));
}

/** public-key.txt (base64url, from `manifest keygen`) or a PEM public key. */
export function readPublicKey(path: string): Uint8Array {
  const text = readFileSync(path, 'utf8');
  if (text.includes('-----BEGIN')) return fromBase64(createPublicKey(text).export({ format: 'jwk' }).x!)!;
  return parsePublicKey(text.trim());
}

/**
 * A manifest install for `flash --manifest`: the manifest is read (and its signature checked against
 * `pubkey` when given) before any port opens; the build is picked once the device answered, its parts
 * checked (size, SHA-256, content) and assembled by the job's prepare hook, before anything is erased.
 */
export async function manifestInstall(path: string, driverId: string, pubkey?: string): Promise<{ manifest: FirmwareManifest; image: FirmwareImage; withHook: (rt: JobRuntime) => JobRuntime }> {
  const raw = readManifestJson(path);
  if (pubkey) await checkManifestSignature(raw, readPublicKey(pubkey));
  const manifest = parseManifest(raw);
  if (!manifest.builds.some((b) => b.driver === driverId)) {
    const drivers = [...new Set(manifest.builds.map((b) => b.driver))].join(', ');
    throw new UsageError(`${manifest.name} has no build for ${driverId}`, `Its builds are for: ${drivers}.`);
  }
  const prepare = (identified: Identified) => {
    const build = pickBuild(manifest, driverId, identified.device);
    const files = new Map(build.parts.map((p) => [p.path, readPart(path, p.path)] as const));
    checkBuildParts(build, files, { signed: Boolean(pubkey) });
    return imageFromBuild(build, files);
  };
  return {
    manifest,
    image: { format: 'manifest', segments: [] },
    withHook: (rt) => ({ ...rt, hooks: { ...rt.hooks, prepare } }),
  };
}
