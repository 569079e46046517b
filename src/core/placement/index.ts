import { FlashError, isFlashError } from '../../shared/errors';
import type { DeviceRequirement, ImageKind, IntakeConsent, IntakeVerdict, Placement, RawPlacement, Refusal } from '../../shared/intake';
import type { DriverInfo, TargetInfo } from '../../shared/model';
import { readImage } from '../image/index';
import { byteCount, createImage, hex, type FirmwareImage } from '../image/memory-image';
import { checkContent } from './content';
import { checkEspLayout, defaultEspAddress, espOffsets } from './esp-rules';
import { espFileKind, type EspFileKind, type EspPartition } from './esp';
import { checkFamily, sameChip, withoutReadOnly } from './family';
import { checkFit } from './fit';

export { checkContent } from './content';
export { checkFit, type SegmentSpan } from './fit';
export { ESP_LAYOUT, parsePartitionTable, appPartition } from './esp';

/** One file of a job, with the address the user gave (FILE@ADDR, --address, the address field), if any. */
export interface FirmwarePart {
  name: string;
  bytes: Uint8Array;
  address?: number;
}

/** The programmer and part a job is for; no part means "detect and accept what answers". */
export interface PlacementTarget {
  driver: Pick<DriverInfo, 'id' | 'targets' | 'placement'>;
  targetId?: string;
}

export interface Prepared {
  verdict: IntakeVerdict;
  /** The image to program, present exactly when the verdict is ok. */
  image?: FirmwareImage;
}

/**
 * The front door: content checks, placement, family and fit, in that order, for one file or the parts
 * of one job (esptool style). Pure and synchronous, so the page can re-run it on every change of file,
 * board or address, and the CLI runs it before opening a port. The job itself checks `requires` once
 * the device is identified (see `checkIdentified`).
 */
export function prepareFirmware(parts: readonly FirmwarePart[], where: PlacementTarget, consent: readonly IntakeConsent[] = []): Prepared {
  const rule: RawPlacement = where.driver.placement ?? { kind: 'memory-base' };
  const targets = where.driver.targets;
  const target = where.targetId === undefined ? undefined : targets.find((t) => t.id === where.targetId);
  const placements: Placement[] = [];
  const refuse = (refusal: Refusal): Prepared => ({ verdict: { ok: false, refusal, placements } });
  if (parts.length === 0) return refuse({ reason: 'empty', code: 'bad-image', message: 'No firmware file was given.', hint: 'Pick a firmware file.' });

  const kinds = parts.map((p) => (rule.kind === 'esp' ? espFileKind(p.bytes, espOffsets(rule, target)) : null));
  const table = kinds.find((k) => k?.kind === 'esp-partition-table')?.table;
  const images: FirmwareImage[] = [];
  let requires: DeviceRequirement | undefined;
  for (const [i, part] of parts.entries()) {
    const content = checkContent(part.bytes, part.name, consent);
    if (!content.ok) return refuse(content.refusal);
    const placed = placePart(part, content.format === 'ihex' || content.format === 'srec' || content.format === 'elf' || content.format === 'uf2' || content.format === 'dfuse', kinds[i] ?? null, rule, target, targets, table);
    if ('refusal' in placed) return refuse(placed.refusal);
    placements.push(placed.placement);
    const family = checkFamily(placed.image, part.name, rule, target, targets);
    if (family.refusal) return refuse(family.refusal);
    requires ??= family.requires;
    images.push(withoutReadOnly(placed.image));
  }
  if (rule.kind === 'esp') {
    const layout = checkEspLayout(images, placements, rule, target);
    if (layout) return refuse(layout);
  }
  let image: FirmwareImage;
  try {
    image = images.length === 1 ? images[0]! : createImage('parts', images.flatMap((p) => p.segments));
  } catch (err) {
    return refuse(unreadable(err, parts.map((p) => p.name).join(' + ')));
  }
  if (byteCount(image) === 0) return refuse({ reason: 'empty', code: 'bad-image', message: 'This file holds no bytes to program.', hint: 'Pick the firmware the build produced.' });
  const segments = image.segments.map((s) => ({ memory: s.memory, address: s.address, length: s.data.length }));
  const misfit = checkFit(segments, target, targets, { sizeKnown: rule.kind !== 'esp' });
  if (misfit) return refuse(misfit);
  const notes = placements.filter((p) => p.source !== 'file').map((p) => `${p.name}: ${p.why}`);
  return { verdict: { ok: true, placements, notes, ...(requires ? { requires } : {}) }, image };
}

/** Reads one part and decides its address. */
function placePart(
  part: FirmwarePart,
  addressed: boolean,
  esp: EspFileKind | null,
  rule: RawPlacement,
  target: TargetInfo | undefined,
  targets: readonly TargetInfo[],
  table: EspPartition[] | undefined,
): { placement: Placement; image: FirmwareImage } | { refusal: Refusal } {
  const name = part.name;
  if (addressed) {
    let image: FirmwareImage;
    try {
      image = readImage(part.bytes, { name });
    } catch (err) {
      return { refusal: unreadable(err, name) };
    }
    const start = Math.min(...image.segments.map((s) => s.address));
    if (part.address !== undefined && start !== part.address) {
      if (start !== 0) {
        return { refusal: { reason: 'needs-address', code: 'bad-image', part: name, message: `${name} says its bytes start at ${hex(start)}; it cannot also go at ${hex(part.address)}.`, hint: 'Drop the address: this file carries its own.' } };
      }
      image = { ...image, segments: image.segments.map((s) => ({ ...s, address: s.address + part.address! })) };
    }
    const at = Math.min(...image.segments.map((s) => s.address));
    const placement = { name, kind: 'addressed' as const, memory: image.segments[0]?.memory ?? 'flash', address: at, length: byteCount(image) };
    return { image, placement: part.address === undefined ? { ...placement, source: 'file', why: `the file says its bytes start at ${hex(at)}.` } : { ...placement, source: 'user', why: `moved to ${hex(at)} as asked.` } };
  }
  const kind: ImageKind = esp?.kind ?? 'raw';
  const auto = part.address === undefined ? defaultAddress(kind, esp, rule, target, targets, table) : undefined;
  if (auto && 'refusal' in auto) return { refusal: { ...auto.refusal, part: name } };
  const address = part.address ?? auto!.address;
  let image: FirmwareImage;
  try {
    image = readImage(part.bytes, { name, baseAddress: address });
  } catch (err) {
    return { refusal: unreadable(err, name) };
  }
  const source = part.address !== undefined ? 'user' : auto!.source;
  const why = part.address !== undefined ? `written at ${hex(address)} as asked.` : auto!.why;
  return { image, placement: { name, kind, memory: 'flash', address, length: part.bytes.length, source, why } };
}

type Auto = { address: number; source: Placement['source']; why: string } | { refusal: Refusal };

function defaultAddress(kind: ImageKind, esp: EspFileKind | null, rule: RawPlacement, target: TargetInfo | undefined, targets: readonly TargetInfo[], table: EspPartition[] | undefined): Auto {
  if (rule.kind === 'esp') return defaultEspAddress(kind, esp, rule, target, table);
  const bases = [...new Set((target ? [target] : targets).map((t) => (t.memories.find((m) => m.name === 'flash') ?? t.memories[0])?.base))];
  if (bases.length !== 1 || bases[0] === undefined) {
    return { refusal: { reason: 'needs-address', code: 'bad-image', message: 'A raw binary carries no address, and the parts of this programmer start their flash at different places.', hint: 'Choose the part, or give the address (FILE@0x08000000, --address, or the address field).' } };
  }
  const where = target ? `the ${target.name}'s` : "the part's";
  return { address: bases[0], source: 'default', why: `a raw binary starts at ${where} flash start, ${hex(bases[0])}.` };
}

function unreadable(err: unknown, name: string): Refusal {
  const message = isFlashError(err) ? err.message : String(err);
  const hint = isFlashError(err) ? err.hint : 'The file is damaged or not a firmware image: rebuild or download it again.';
  return { reason: 'unreadable', code: 'bad-image', message, hint, part: name };
}

/**
 * After identify, before anything is erased: the device must be the one the file names. Returns the
 * refusal, or null when the device is right (or nothing is required).
 */
export function checkIdentified(requires: DeviceRequirement | undefined, device: { id: string; name: string }): Refusal | null {
  if (!requires) return null;
  const nameOk = requires.deviceName === undefined || sameChip(requires.deviceName, device.name);
  const idOk = requires.deviceId === undefined || requires.deviceId.toLowerCase() === device.id.toLowerCase();
  if (nameOk && idOk) return null;
  return {
    reason: 'wrong-chip',
    code: 'wrong-target',
    message: `${capitalise(requires.because)}, but the device that answered is the ${device.name} (${device.id}).`,
    hint: 'Connect the board this firmware was built for, or pick the firmware built for this one.',
    details: { ...(requires.deviceName ? { wanted: requires.deviceName } : {}), ...(requires.deviceId ? { wantedId: requires.deviceId } : {}), found: device.name, foundId: device.id },
  };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A refusal as the FlashError a job, the CLI or an API call fails with (details.reason names the rule). */
export function refusalError(refusal: Refusal): FlashError {
  return new FlashError(refusal.code, refusal.message, {
    hint: refusal.hint,
    details: { reason: refusal.reason, ...(refusal.part ? { file: refusal.part } : {}), ...(refusal.consent ? { consent: refusal.consent } : {}), ...refusal.details },
    ...(refusal.consent ? { action: { kind: 'consent-needed' as const, option: 'consent', value: refusal.consent } } : {}),
  });
}

/** The accept hook's check: throws when the identified device is not the one the file names. */
export function requireDevice(requires: DeviceRequirement, device: { id: string; name: string }): void {
  const refusal = checkIdentified(requires, device);
  if (refusal) throw refusalError(refusal);
}
