import type { TargetInfo } from '../../shared/model';
import type { DeviceRequirement, RawPlacement, Refusal } from '../../shared/intake';
import { toHex } from '../bytes/hex';
import { segmentsOf, type FirmwareImage } from '../image/memory-image';

/**
 * Content that names another chip or family than the chosen one: an ESP image's chip ID, a UF2 family ID,
 * an ELF's e_machine, the AVR signature avr-libc puts in an ELF's .signature section.
 * Returns a refusal, or what must be checked once the device is identified (no part chosen yet).
 */
export function checkFamily(image: FirmwareImage, name: string, rule: RawPlacement, target: TargetInfo | undefined, targets: readonly TargetInfo[]): { refusal?: Refusal; requires?: DeviceRequirement } {
  const wrong = (reason: Refusal['reason'], message: string, hint: string): { refusal: Refusal } => ({
    refusal: { reason, code: 'wrong-target', message, hint, part: name },
  });
  const forWhat = target ? `the ${target.name}` : 'this programmer';
  const chip = image.format === 'esp' && typeof image.meta?.chip === 'string' ? image.meta.chip : undefined;
  if (chip !== undefined) {
    if (rule.kind !== 'esp') return wrong('wrong-chip', `This is an ${chip} image, and ${forWhat} is not an Espressif chip.`, 'Pick the firmware built for this board, or choose the ESP programmer.');
    if (target && !sameChip(target.name, chip)) return wrong('wrong-chip', `This image is built for the ${chip}, not the ${target.name}.`, `Build it for the ${target.name}, or pick the ${chip} board.`);
    if (!target) return { requires: { deviceName: chip, because: `${name} is built for the ${chip}` } };
  }
  const family = typeof image.meta?.family === 'string' ? image.meta.family : undefined;
  if (family !== undefined && !/^0x/i.test(family)) {
    const names = target ? [target.name] : targets.map((t) => t.name);
    if (!names.some((n) => familyMatches(family, n))) {
      return wrong('wrong-family', `This UF2 file is for the ${family} family, not ${target ? `the ${target.name}` : 'a part this programmer writes'}.`, 'Pick the UF2 built for this board.');
    }
  }
  const machine = typeof image.meta?.machine === 'string' && image.format === 'elf' ? image.meta.machine : undefined;
  const expected = rule.kind === 'memory-base' ? rule.machine : espMachines(rule, target);
  if (machine !== undefined && expected !== undefined && !expected.split('|').includes(machine)) {
    return wrong('wrong-machine', `This ELF file holds ${machine} code, and ${forWhat} runs ${expected.replace('|', ' or ')} code.`, 'Pick the firmware built for this board.');
  }
  const signature = segmentsOf(image, 'signature')[0];
  if (signature && signature.data.length >= 3) {
    // avr-libc's <avr/signature.h> stores SIGNATURE_2, SIGNATURE_1, SIGNATURE_0: the device ID reversed.
    const id = toHex(Uint8Array.from(signature.data.subarray(0, 3)).reverse()).toLowerCase();
    if (target?.deviceId !== undefined && target.deviceId !== id) {
      return wrong('wrong-chip', `This ELF file is built for the AVR with signature ${id}, and the ${target.name} is ${target.deviceId}.`, `Build it for the ${target.name} (avr-gcc -mmcu), or pick the board it was built for.`);
    }
    if (!target) return { requires: { deviceId: id, because: `${name} is built for the AVR with signature ${id}` } };
  }
  return {};
}

/** The image without memories nobody programs (an AVR ELF's .signature is read-only, checked above). */
export function withoutReadOnly(image: FirmwareImage): FirmwareImage {
  if (!image.segments.some((s) => s.memory === 'signature')) return image;
  return { ...image, segments: image.segments.filter((s) => s.memory !== 'signature') };
}

function espMachines(rule: RawPlacement & { kind: 'esp' }, target: TargetInfo | undefined): string | undefined {
  const chips = target ? rule.chips.filter((c) => sameChip(c.name, target.name)) : rule.chips;
  const machines = [...new Set(chips.map((c) => c.machine))];
  return machines.length > 0 ? machines.join('|') : undefined;
}

/** 'STM32F4' fits 'STM32F411CE'; an ESP family must be the chip itself ('ESP32' is not the ESP32-S3). */
function familyMatches(family: string, targetName: string): boolean {
  const f = norm(family);
  const t = norm(targetName);
  return f.startsWith('ESP') ? f === t : t.startsWith(f);
}

/** Chip names compared as people write them: 'ESP32-C3', 'esp32c3' and 'ESP32 C3' are one chip. */
export function sameChip(a: string, b: string): boolean {
  return norm(a) === norm(b);
}

function norm(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9]/g, '');
}
