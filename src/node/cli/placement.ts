import type { FirmwareImage } from '../../core/image/index';
import { hex } from '../../core/image/memory-image';
import type { JobRuntime } from '../../core/job/run-job';
import { prepareFirmware, refusalError, requireDevice } from '../../core/placement/index';
import type { DeviceRequirement, IntakeConsent } from '../../shared/intake';
import { wholeNumber } from './args';
import type { DeviceChoice } from './device';
import { readParts } from './files';
import type { Output } from './output';
import type { CommandContext, FlagSpec } from './spec';

/** The flags of the front door (core/placement), shared by flash and verify. */
export const PLACEMENT_FLAGS: readonly FlagSpec[] = [
  { name: 'address', type: 'string', value: 'A', description: 'Where a raw binary goes (one file; several parts use FILE@ADDRESS). Default: the driver\'s place for it (STM32 0x08000000, ESP app 0x10000, ...).' },
  { name: 'text-as-firmware', type: 'boolean', description: 'Flash a binary that reads as text anyway (a data or configuration image); refused without it.' },
];

export interface PlacedImage {
  image: FirmwareImage;
  /** What the identified device must be (the chip an ESP image names, an AVR ELF's signature). */
  requires?: DeviceRequirement;
}

/**
 * The job's files through the same front door as the app: content checks, placement per driver and
 * image kind, chip/family, fit. A refusal is thrown as its FlashError before any port is opened (exit 2);
 * the address chosen for each file without one is said on stderr.
 */
export async function placedImage({ flags, args, cwd }: CommandContext, choice: DeviceChoice, out: Output): Promise<PlacedImage> {
  const parts = await readParts(cwd, args, wholeNumber(flags, 'address'));
  const consent: IntakeConsent[] = flags['text-as-firmware'] ? ['text-as-firmware'] : [];
  // A target with a consent suffix (W25Q16+unprotect) is the part W25Q16 here.
  const targetId = choice.targetId?.split('+')[0] || undefined;
  const { verdict, image } = prepareFirmware(parts, { driver: choice.entry.meta, ...(targetId ? { targetId } : {}) }, consent);
  if (!verdict.ok) {
    const { refusal } = verdict;
    throw refusalError(refusal.consent === 'text-as-firmware' ? { ...refusal, hint: `${refusal.hint} To flash it anyway: --text-as-firmware.` } : refusal);
  }
  for (const p of verdict.placements) if (p.source !== 'file') out.note(`${p.name} → ${hex(p.address, 8)}: ${p.why}`);
  return { image: image!, ...(verdict.requires ? { requires: verdict.requires } : {}) };
}

/** The runtime with the accept hook that refuses a device other than the one the file names. */
export function requiring(rt: JobRuntime, requires: DeviceRequirement | undefined): JobRuntime {
  if (!requires) return rt;
  const accept = rt.hooks?.accept;
  return {
    ...rt,
    hooks: {
      ...rt.hooks,
      accept: async (found) => {
        await accept?.(found);
        requireDevice(requires, found.device);
      },
    },
  };
}
