import type { EspPlacementChip, ImageKind, Placement, RawPlacement, Refusal } from '../../shared/intake';
import type { TargetInfo } from '../../shared/model';
import { hex, type FirmwareImage } from '../image/memory-image';
import { appPartition, ESP_LAYOUT, type EspFileKind, type EspPartition } from './esp';
import { sameChip } from './family';

type EspRule = RawPlacement & { kind: 'esp' };

/** The boot area every ESP reads before any application: bootloader, then the partition table's sector. */
const BOOT_AREA_END = ESP_LAYOUT.PARTITION_TABLE + 0x1000;

/** The bootloader offsets to look for a merged image's bootloader at: the chosen chip's, or every chip's. */
export function espOffsets(rule: EspRule, target: TargetInfo | undefined): number[] {
  const chips = target ? rule.chips.filter((c) => sameChip(c.name, target.name)) : rule.chips;
  return [...new Set(chips.map((c) => c.bootloader))];
}

type Auto = { address: number; source: Placement['source']; why: string } | { refusal: Refusal };

/** Where an Espressif file goes when the user gave no address, by what it is. */
export function defaultEspAddress(kind: ImageKind, esp: EspFileKind | null, rule: EspRule, target: TargetInfo | undefined, table: EspPartition[] | undefined): Auto {
  switch (kind) {
    case 'esp-partition-table':
      return { address: ESP_LAYOUT.PARTITION_TABLE, source: 'default', why: `a partition table goes at ${hex(ESP_LAYOUT.PARTITION_TABLE)}, where the bootloader looks for it.` };
    case 'esp-merged':
      return { address: 0, source: 'default', why: 'a whole-flash (merged) image starts at 0x0000.' };
    case 'esp-image':
    case 'esp-app': {
      // An ESP32-family image without a bootloader description is an application.
      if (kind === 'esp-image' && esp?.chip === 'ESP8266') return { address: 0, source: 'default', why: 'an ESP8266 image with its own boot code starts at 0x0000 (Arduino, NONOS SDK).' };
      const app = table ? appPartition(table) : undefined;
      if (app) return { address: app.offset, source: 'partition-table', why: `an application goes to the "${app.label}" partition of the partition table in this job, ${hex(app.offset)}.` };
      return { address: ESP_LAYOUT.APP, source: 'default', why: `an application goes at ${hex(ESP_LAYOUT.APP)}, where ESP-IDF's and Arduino's partition tables start it.` };
    }
    case 'esp-bootloader': {
      const chip = chipOf(rule, target, esp?.chip);
      if (chip) return { address: chip.bootloader, source: 'default', why: `the ${chip.name} loads its bootloader from ${hex(chip.bootloader)}.` };
      return needsAddress('This is an ESP bootloader, and which chip it is for decides where it goes.', 'Choose the board, or give the address (0x1000 on ESP32 and ESP32-S2, 0x2000 on ESP32-P4 and -C5, 0x0 on the others).');
    }
    default:
      return needsAddress(
        'A raw binary carries no address, and on an ESP it may be anything (a file system, calibration data): webprog will not guess.',
        'Give the address it goes to (FILE@0x290000, --address, or the address field); an application built with ESP-IDF or Arduino is recognised by itself.',
      );
  }
}

/**
 * The boot area rules, over every part of a job: an application only at a 64 KiB partition boundary
 * from 0x10000 on, a bootloader only at its chip's offset, a partition table not over the bootloader,
 * and nothing else over the first 0x9000 bytes (an Uno HEX on an ESP32). Null when the layout is sound.
 */
export function checkEspLayout(images: FirmwareImage[], placements: Placement[], rule: EspRule, target: TargetInfo | undefined): Refusal | null {
  for (const [i, p] of placements.entries()) {
    const image = images[i]!;
    const chipName = typeof image.meta?.chip === 'string' ? image.meta.chip : undefined;
    const at = hex(p.address);
    const refuse = (reason: Refusal['reason'], message: string, hint: string): Refusal => ({ reason, code: 'image-out-of-range', message, hint, part: p.name, details: { address: p.address } });
    if (p.kind === 'esp-app' || (p.kind === 'esp-image' && chipName !== 'ESP8266')) {
      if (p.address < BOOT_AREA_END) {
        return refuse('misplaced-app', `An ESP application at ${at} would overwrite the bootloader and partition table, and the board would no longer boot.`, `Write it at ${hex(ESP_LAYOUT.APP)} (or its partition's offset): ${p.name}@0x10000, or the address field.`);
      }
      if (p.address < ESP_LAYOUT.APP || p.address % ESP_LAYOUT.APP_ALIGN !== 0) {
        return refuse('misplaced-app', `An ESP application runs only from a partition on a 64 KiB boundary, 0x10000 or above; ${at} is not one.`, `Write it at ${hex(ESP_LAYOUT.APP)} or at its partition's offset.`);
      }
    } else if (p.kind === 'esp-bootloader') {
      const chip = chipOf(rule, target, chipName);
      if (chip && p.address !== chip.bootloader) {
        return refuse('boot-area', `The ${chip.name} loads its bootloader from ${hex(chip.bootloader)}; at ${at} it would not boot.`, `Write it at ${hex(chip.bootloader)}.`);
      }
    } else if (p.kind === 'esp-partition-table') {
      if (p.address < ESP_LAYOUT.PARTITION_TABLE) {
        return refuse('boot-area', `A partition table at ${at} would overwrite the bootloader.`, `Write it at ${hex(ESP_LAYOUT.PARTITION_TABLE)}.`);
      }
    } else if (p.kind === 'esp-merged') {
      if (p.address !== 0) return refuse('boot-area', `A whole-flash (merged) image starts at 0x0000, not ${at}.`, 'Write it at 0x0.');
    } else if (image.segments.some((s) => s.address < BOOT_AREA_END)) {
      const first = Math.min(...image.segments.map((s) => s.address));
      return refuse(
        'boot-area',
        `This file would write ${hex(first)}, the ESP's bootloader area, and it is not an ESP bootloader: the board would no longer boot.`,
        'Pick the firmware built for this ESP (its .bin files), or give an address at 0x10000 or above.',
      );
    }
  }
  return null;
}

function chipOf(rule: EspRule, target: TargetInfo | undefined, imageChip: string | undefined): EspPlacementChip | undefined {
  const name = target?.name ?? imageChip;
  return name === undefined ? undefined : rule.chips.find((c) => sameChip(c.name, name));
}

function needsAddress(message: string, hint: string): Auto {
  return { refusal: { reason: 'needs-address', code: 'bad-image', message, hint } };
}
