/**
 * SPI NOR flash parts as plain data. One record per JEDEC ID (plus variant bytes where one ID
 * covers parts that erase differently); behaviour is chosen from these fields, never by part name.
 */

export type SpiNorVendor =
  | 'Winbond'
  | 'Macronix'
  | 'GigaDevice'
  | 'Micron'
  | 'XMC'
  | 'ISSI'
  | 'Cypress'
  | 'Puya'
  | 'EON'
  | 'Adesto'
  | 'Boya'
  | 'XTX'
  | 'Fudan'
  | 'Zbit';

/** One uniform erase granularity the whole array supports. */
export interface EraseType {
  /** Bytes erased by one command; a power of two. */
  size: number;
  /** Opcode taking a 3-byte address (or a 4-byte one while the chip is in 4-byte mode). */
  opcode: number;
  /** Opcode that always takes a 4-byte address (JESD216B 4BAIT), on parts that have one. */
  opcode4b?: number;
  /** Datasheet typical and maximum time for one erase. */
  typMs: number;
  maxMs: number;
}

/**
 * How a part addresses bytes above 16 MiB:
 * - '3': it has no more than 16 MiB;
 * - '4-native': dedicated 4-byte opcodes (13h READ4B, 12h PP4B, and each erase's opcode4b);
 * - '4-enter': normal opcodes after EN4B (B7h, preceded by WREN on some parts; EX4B E9h leaves).
 */
export type Addressing = '3' | '4-native' | '4-enter';

export interface SpiNorChip {
  /** Short unique name users type (`--chip W25Q16`), matched case-insensitively. */
  id: string;
  vendor: SpiNorVendor;
  /** Other part numbers answering with the same ID and behaving the same. */
  aliases: readonly string[];
  /** RDID (9Fh): manufacturer << 16 | memory type << 8 | capacity. */
  jedecId: number;
  /**
   * RDID bytes after the first three that tell apart variants sharing `jedecId` (for example
   * Cypress S25FL-S byte 4: 00h uniform 256 KiB sectors, 01h 64 KiB sectors).
   */
  idExtra?: readonly number[];
  size: number;
  /** Page program buffer: a PP never crosses a multiple of this (256 almost everywhere). */
  pageSize: number;
  /** Uniform erase types, smallest first. */
  erase: readonly EraseType[];
  chipErase?: { opcode: number; typMs: number; maxMs: number };
  /** One whole page program, typical and maximum. */
  program: { typMs: number; maxMs: number };
  /** Supply range in millivolts: a 1.8 V part must not be driven at 3.3 V. */
  voltage: readonly [number, number];
  addressing: Addressing;
  /** Answers RDSFDP (5Ah) with a JESD216 table. */
  sfdp: boolean;
  /**
   * Write protection in status register 1: `bpMask` holds the block-protect bits (any set means
   * some region ignores program/erase); `cmp` means SR2 bit 6 complements the protected range,
   * so CMP=1 with BP=0 protects everything.
   */
  protect: { bpMask: number; cmp: boolean };
  /** Highest clock for plain READ (03h). */
  maxReadMHz: number;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
