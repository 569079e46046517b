import { createSha256 } from '../../core/bytes/sha256';
import { toHex } from '../../core/bytes/hex';
import type { FirmwareImage } from '../../core/image/memory-image';
import { applySerial, serialEncoding, type SerialRule } from '../../core/production/serialize';
import { findDriver } from '../../drivers/registry';
import { nameTakenMessage, recipeNamedLike, type Recipe, type RecipeDraft, type RecipeLock, type SerialSettings, type TextExport } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import type { JobOptions } from '../../shared/model';

/*
 * Recipe rules, apart from storage: validation, the PIN lock, and the export file.
 *
 * Invariants:
 * - a stored recipe names a registered driver, a firmware file in the library, and a serial rule whose
 *   first number fits its format and whose CRC does not cover itself (checked on the real image);
 * - no two recipes share a name (ignoring case and spacing): the operator picks by name;
 * - a locked recipe is changed or deleted only with its PIN, and keeps its lock when saved;
 * - every saved change counts the revision up; jobs record the revision they ran.
 */

export const RECIPE_FILE_FORMAT = 'webprog-recipe';

/** The PIN's salted SHA-256, hex. Not a password store: it keeps operators from editing by accident. */
export function pinHash(salt: string, pin: string): string {
  return toHex(createSha256().update(new TextEncoder().encode(`${salt}:${pin}`)).digest());
}

export function newLock(pin: string, now: number): RecipeLock {
  if (pin.trim().length < 4) throw new FlashError('invalid-argument', 'A PIN needs at least 4 characters.', { hint: 'Choose a longer PIN.' });
  const salt = toHex(crypto.getRandomValues(new Uint8Array(16)));
  return { salt, pinSha256: pinHash(salt, pin), lockedAt: now };
}

export function pinOpens(lock: RecipeLock | undefined, pin: string | undefined): boolean {
  if (!lock) return true;
  return pin !== undefined && pinHash(lock.salt, pin) === lock.pinSha256;
}

export function requirePin(recipe: Recipe, pin: string | undefined, doing: string): void {
  if (!pinOpens(recipe.lock, pin)) {
    throw new FlashError('unsupported', `"${recipe.name}" is locked: it can be run, but ${doing} needs the engineer's PIN.`, {
      hint: 'Ask the engineer who locked the recipe to enter the PIN.',
      details: { recipeId: recipe.id },
    });
  }
}

/** Refuses a name another recipe (not `ownId`) already has. */
export function requireUniqueName(name: string, all: readonly Recipe[], ownId: string): void {
  const taken = recipeNamedLike(name, all, ownId);
  if (taken) throw new FlashError('invalid-argument', nameTakenMessage(taken), { hint: 'Rename it, or edit the existing recipe instead.', details: { recipeId: taken.id } });
}

/** The recipe's serial settings as the core's rule (addresses and CRC range as numbers). */
export function serialRule(settings: SerialSettings): SerialRule {
  return {
    memory: settings.memory,
    address: settings.address,
    format: settings.format,
    ...(settings.overwrite ? { overwrite: true } : {}),
    ...(settings.crc ? { crc: { ...settings.crc } } : {}),
  };
}

/**
 * Checks and normalises a draft; `image` is the recipe's firmware, for a dry run of the serial rule.
 * Throws FlashError('invalid-argument' | 'image-out-of-range' | 'bad-image') naming the field at fault.
 */
export function validateDraft(draft: RecipeDraft, image: FirmwareImage | null): Omit<RecipeDraft, 'id'> {
  const name = draft.name?.trim();
  if (!name) throw invalid('The recipe needs a name.');
  const entry = findDriver(draft.driverId);
  if (!entry) throw invalid(`No programmer called "${draft.driverId}".`);
  if (draft.targetId !== undefined && entry.meta.targets.length > 0 && !entry.meta.targets.some((t) => t.id === draft.targetId)) {
    throw invalid(`${entry.meta.label} has no part called "${draft.targetId}".`);
  }
  if (!/^[0-9a-f]{64}$/.test(draft.firmware?.fileSha256 ?? '')) throw invalid('The recipe needs a firmware image from the library.');
  const options: JobOptions = {
    verify: draft.options?.verify !== false,
    erase: Boolean(draft.options?.erase),
    skipUnchanged: Boolean(draft.options?.skipUnchanged),
  };
  const out: Omit<RecipeDraft, 'id'> = {
    name,
    driverId: draft.driverId,
    firmware: { fileSha256: draft.firmware.fileSha256, name: draft.firmware.name || 'firmware' },
    options,
  };
  if (draft.targetId !== undefined) out.targetId = draft.targetId;
  if (draft.board) out.board = draft.board;
  if (draft.notes) out.notes = draft.notes;
  if (draft.expectedDeviceId?.trim()) {
    const id = draft.expectedDeviceId.trim().toLowerCase().replace(/^0x/, '').replace(/[\s:-]/g, '');
    if (!/^[0-9a-f]+$/.test(id)) throw invalid(`The expected device ID "${draft.expectedDeviceId}" is not hex.`);
    out.expectedDeviceId = id;
  }
  if (draft.serial) out.serial = validateSerial(draft.serial, image);
  return out;
}

function validateSerial(s: SerialSettings, image: FirmwareImage | null): SerialSettings {
  const pool = s.pool?.trim();
  if (!pool) throw invalid('The serial numbering needs a pool name.');
  if (!Number.isInteger(s.address) || s.address < 0) throw invalid('The serial address must be a whole number, 0 or more.');
  serialEncoding(s.format); // throws with the list of formats
  const whole = (v: string, what: string) => {
    if (!/^\d+$/.test(v)) throw invalid(`The serial ${what} must be a whole number, got "${v}".`);
    return v.replace(/^0+(?=\d)/, '');
  };
  let source: SerialSettings['source'];
  let first: bigint;
  if (s.source.kind === 'counter') {
    const start = whole(String(s.source.start), 'start');
    const step = whole(String(s.source.step), 'step');
    if (BigInt(step) === 0n) throw invalid('The serial step must be 1 or more.');
    source = { kind: 'counter', start, step };
    first = BigInt(start);
  } else {
    const values = s.source.values.map((v) => whole(String(v), 'list value'));
    if (values.length === 0) throw invalid('The imported serial list is empty.');
    if (new Set(values).size !== values.length) throw invalid('The imported serial list has duplicates: every number must be unique.');
    source = { kind: 'list', values, ...(s.source.name ? { name: s.source.name } : {}) };
    first = BigInt(values[0]!);
  }
  const out: SerialSettings = { pool, memory: s.memory || 'flash', address: s.address, format: s.format, source };
  if (s.crc) out.crc = { ...s.crc };
  if (s.overwrite) out.overwrite = true;
  // A dry run with the first number: a value that does not fit, or a CRC over itself, fails here
  // rather than on the first device of the shift.
  if (image) applySerial(image, serialRule(out), first);
  else serialEncoding(out.format).encode(first);
  return out;
}

function invalid(message: string): FlashError {
  return new FlashError('invalid-argument', message, { hint: 'Correct the recipe and save again.' });
}

/** The export file: the recipe and its firmware, so a station can import it offline in one step. */
export function recipeExport(recipe: Recipe, firmware: { name: string; bytes: ArrayBuffer } | null, now: number): TextExport {
  const doc = {
    format: RECIPE_FILE_FORMAT,
    version: 1,
    exportedAt: new Date(now).toISOString(),
    recipe,
    ...(firmware ? { firmware: { fileSha256: recipe.firmware.fileSha256, name: firmware.name, base64: toBase64(new Uint8Array(firmware.bytes)) } } : {}),
  };
  const safe = recipe.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-|-$/g, '') || 'recipe';
  return { fileName: `${safe}.webprog-recipe.json`, mimeType: 'application/json', text: JSON.stringify(doc, null, 2) + '\n' };
}

/** Reads an export file; the firmware's bytes (if embedded) are checked against the SHA-256 by the caller. */
export function parseRecipeFile(text: string): { recipe: Recipe; firmware?: { name: string; bytes: Uint8Array } } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new FlashError('bad-image', 'This is not a recipe file (it is not JSON).', { hint: 'Choose a .webprog-recipe.json file exported from a station.' });
  }
  const d = doc as { format?: unknown; version?: unknown; recipe?: Recipe; firmware?: { name?: string; base64?: string } };
  if (d?.format !== RECIPE_FILE_FORMAT || d.version !== 1 || typeof d.recipe !== 'object' || d.recipe === null) {
    throw new FlashError('bad-image', 'This is not a webprog recipe file.', { hint: 'Choose a .webprog-recipe.json file exported from a station.' });
  }
  const out: { recipe: Recipe; firmware?: { name: string; bytes: Uint8Array } } = { recipe: d.recipe };
  if (d.firmware?.base64) out.firmware = { name: d.firmware.name ?? d.recipe.firmware?.name ?? 'firmware', bytes: fromBase64(d.firmware.base64) };
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  try {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    throw new FlashError('bad-image', 'The firmware inside the recipe file is damaged.', { hint: 'Export the recipe again.' });
  }
}
