import { toHex } from '../bytes/hex';
import { sha256 } from '../bytes/sha256';
import { checkContent } from '../placement/content';
import { FlashError } from '../../shared/errors';
import { buildLabel, type ManifestBuild, type ManifestPart } from './model';

/*
 * Every part of the chosen build is checked before the first erase: its size and SHA-256 where the
 * manifest gives them, and its content always (core/placement's content check: an empty body, a web
 * page such as a static host's index.html answered for a missing file, or a text file is never
 * firmware). A signed manifest must give every part's SHA-256: the signature covers the hashes, the
 * hashes cover the bytes.
 */

const NOTHING_WRITTEN = 'Nothing was written: ask the vendor for a fresh download link.';

export function checkPart(part: ManifestPart, bytes: Uint8Array, build: ManifestBuild, opts: { signed: boolean }): void {
  const label = `"${part.path}" of the ${buildLabel(build)} build`;
  if (opts.signed && part.sha256 === undefined) {
    throw new FlashError('bad-signature', `The signed manifest gives no SHA-256 for ${label}, so the file cannot be trusted.`, { hint: NOTHING_WRITTEN });
  }
  if (part.size !== undefined && bytes.length !== part.size) {
    throw new FlashError('bad-image', `The file ${label} is ${bytes.length} bytes, but the manifest says ${part.size}.`, {
      hint: NOTHING_WRITTEN,
      details: { expected: part.size, actual: bytes.length },
    });
  }
  if (part.sha256 !== undefined) {
    const actual = toHex(sha256(bytes));
    if (actual !== part.sha256) {
      throw new FlashError('bad-image', `The file ${label} is not the one the manifest describes (its SHA-256 differs).`, {
        hint: NOTHING_WRITTEN,
        details: { expected: part.sha256, actual },
      });
    }
  }
  // Named as a raw binary whatever its path says: manifest parts are written byte for byte.
  const content = checkContent(bytes, 'part.bin');
  if (!content.ok) {
    throw new FlashError('bad-image', `The file ${label} is not firmware: ${lowerFirst(content.refusal.message)}`, {
      hint: 'The vendor’s site may have answered a missing file with a web page. ' + NOTHING_WRITTEN,
      details: { reason: content.refusal.reason },
    });
  }
  // Parts are written byte for byte: a HEX or S-record text would land on the chip as ASCII.
  if (content.format === 'ihex' || content.format === 'srec') {
    throw new FlashError('bad-image', `The file ${label} is ${content.format === 'ihex' ? 'Intel HEX' : 'S-record'} text; manifest parts are raw binaries.`, {
      hint: 'The vendor should publish the .bin the build produced. ' + NOTHING_WRITTEN,
    });
  }
}

/** Checks every part of `build` (see checkPart); the files are keyed by part path. */
export function checkBuildParts(build: ManifestBuild, files: ReadonlyMap<string, Uint8Array>, opts: { signed: boolean }): void {
  for (const part of build.parts) {
    const bytes = files.get(part.path);
    if (!bytes) throw new FlashError('bad-image', `The part "${part.path}" of the ${buildLabel(build)} build was not loaded.`, { hint: NOTHING_WRITTEN });
    checkPart(part, bytes, build, opts);
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
