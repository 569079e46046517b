import type { ErrorCode } from './errors';

/*
 * The desk check of a firmware file against a chosen programmer and part, before anything opens:
 * what the file is, where each part of it goes and why, and, when it must not be flashed, one calm
 * sentence saying why and what to do. core/placement computes it; the worker hands it to the page,
 * the CLI prints it. Plain data only.
 */

/** How a driver places an image that carries no addresses (raw BIN, ESP images), declared in its meta. */
export type RawPlacement =
  /** At the start of the part's first memory: STM32 0x08000000, AVR and SPI NOR 0, a DFU part's flash. */
  | { kind: 'memory-base'; /** ELF e_machine name of the parts' core ('AVR', 'ARM'), to refuse another's ELF. */ machine?: string }
  /** By ESP image kind: bootloader at the chip's offset, partition table at 0x8000, application at 0x10000. */
  | { kind: 'esp'; chips: readonly EspPlacementChip[] };

export interface EspPlacementChip {
  /** As Espressif writes it and as the image header names it: 'ESP32-C3'. */
  name: string;
  /** Flash offset the ROM loads the second-stage bootloader from. */
  bootloader: number;
  /** ELF e_machine name of its CPU: 'Xtensa' or 'RISC-V'. */
  machine: string;
}

/** What a file (or one part of a multi-part job) turned out to be. */
export type ImageKind =
  | 'addressed' // HEX, S-record, ELF, UF2, DfuSe: the file says where its bytes go
  | 'raw' // a plain binary
  | 'esp-bootloader'
  | 'esp-app'
  | 'esp-partition-table'
  | 'esp-merged' // a whole-flash image starting at 0x0
  | 'esp-image'; // an ESP image with neither an app nor a bootloader description

export interface Placement {
  /** The file name (one entry per part). */
  name: string;
  kind: ImageKind;
  memory: string;
  address: number;
  length: number;
  /** Where the address came from: the file, the user (FILE@ADDR, the address field), or the default for its kind. */
  source: 'file' | 'user' | 'default' | 'partition-table';
  /** One sentence for beside the address field: why this address. */
  why: string;
}

export type RefusalReason =
  | 'empty'
  | 'web-page'
  | 'text'
  | 'not-firmware' // an archive, a document, a picture
  | 'name-mismatch' // a .hex that is not Intel HEX, ...
  | 'mostly-text' // a raw binary that reads as text: consent 'text-as-firmware' lets it through
  | 'unreadable' // the parser refused it (bad checksum, truncated, ...)
  | 'needs-address' // a raw binary the driver cannot place by itself
  | 'wrong-chip' // ESP image chip ID, AVR signature in an ELF
  | 'wrong-family' // UF2 family ID
  | 'wrong-machine' // ELF e_machine
  | 'boot-area' // data that is not a bootloader/partition table over the ESP boot area
  | 'misplaced-app' // an ESP application not at a 64 KiB partition boundary at 0x10000 or above
  | 'does-not-fit'; // outside the part's memories

/** Consents a user may give to go on past a refusal that is a judgement, not a fact. */
export type IntakeConsent = 'text-as-firmware';

export interface Refusal {
  reason: RefusalReason;
  /** The FlashError code the CLI and the job use for it. */
  code: ErrorCode;
  /** One calm sentence: "This looks like a web page, not firmware." */
  message: string;
  /** What to do next, one sentence. */
  hint: string;
  /** Which part of a multi-part job (file name). */
  part?: string;
  /** Present when the refusal may be overridden by this explicit consent ("flash it anyway"). */
  consent?: IntakeConsent;
  details?: Record<string, string | number | boolean>;
}

/** Facts only the device can tell, checked once it is identified (before anything is erased). */
export interface DeviceRequirement {
  /** The identified device's name must be this ('ESP32-C3'), from an ESP image's chip ID. */
  deviceName?: string;
  /** The identified device's ID must be this ('1e950f'), from an AVR ELF's .signature section. */
  deviceId?: string;
  /** Where the requirement came from, for the message: 'app.bin says ESP32-C3'. */
  because: string;
}

export type IntakeVerdict =
  | { ok: true; placements: Placement[]; requires?: DeviceRequirement; /** Sentences worth showing, never blocking. */ notes: string[] }
  | { ok: false; refusal: Refusal; /** What was worked out before the refusal, to pre-fill the address field. */ placements: Placement[] };
