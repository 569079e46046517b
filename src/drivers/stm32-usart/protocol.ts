import { crc32Mpeg2 } from '../../core/bytes/crc32';

/*
 * STM32 system-memory bootloader, USART protocol: ST AN3155 "USART protocol used in the STM32
 * bootloader". Section numbers below are AN3155's (§3.n: one section per command).
 */

/** AN3155 §1 "USART bootloader code sequence": the byte from which the bootloader measures the baud rate. */
export const SYNC = 0x7f;

/** AN3155 §3: the answer to every command byte pair, address and data frame. */
export const Reply = {
  ACK: 0x79,
  NACK: 0x1f,
} as const;

/** AN3155 §3, table "USART bootloader commands". */
export const Cmd = {
  /** Get: version and allowed commands (§3.1). */
  GET: 0x00,
  /** Get Version & Read Protection Status (§3.2). */
  GET_VERSION: 0x01,
  /** Get ID: the product ID (§3.3). */
  GET_ID: 0x02,
  /** Read Memory: up to 256 bytes (§3.4). */
  READ_MEMORY: 0x11,
  /** Go: jump to user code (§3.5). */
  GO: 0x21,
  /** Write Memory: up to 256 bytes to RAM, flash or option bytes (§3.6). */
  WRITE_MEMORY: 0x31,
  /** Erase: 1-byte page numbers (§3.7); excludes Extended Erase. */
  ERASE: 0x43,
  /** Extended Erase: 2-byte page numbers, bank and mass erase codes (§3.8). */
  EXTENDED_ERASE: 0x44,
  /** Write Protect (§3.9): the device resets afterwards. */
  WRITE_PROTECT: 0x63,
  /** Write Unprotect (§3.10): the device resets afterwards. */
  WRITE_UNPROTECT: 0x73,
  /** Readout Protect (§3.11): the device resets afterwards. */
  READOUT_PROTECT: 0x82,
  /** Readout Unprotect (§3.12): mass-erases the flash, then resets. */
  READOUT_UNPROTECT: 0x92,
  /** Get Checksum: CRC-32 of a memory range, on the bootloaders that list it (AN3155 rev. 14+). */
  GET_CHECKSUM: 0xa1,
} as const;

/** The commands a read-protected device still accepts (AN3155 §3, commands table, read-protection note). */
export const ALLOWED_UNDER_RDP: readonly number[] = [Cmd.GET, Cmd.GET_VERSION, Cmd.GET_ID, Cmd.READOUT_PROTECT, Cmd.READOUT_UNPROTECT];

/** AN3155 §3.7: legacy Erase "global erase" code, sent as FF 00. */
export const GLOBAL_ERASE = 0xff;

/** AN3155 §3.8: Extended Erase special codes, sent as two bytes plus their XOR. */
export const ExtendedErase = {
  MASS: 0xffff,
  BANK1: 0xfffe,
  BANK2: 0xfffd,
} as const;

/** AN3155 §3.4/§3.6: one Read or Write Memory moves at most 256 bytes. */
export const MAX_TRANSFER = 256;
/** AN3155 §3.6: Write Memory data length and address are multiples of 4. */
export const WRITE_ALIGN = 4;
/** Page numbers per Extended Erase frame: stm32flash splits at 512 (an STM32L152 refuses more). */
export const MAX_ERASE_PAGES = 512;

/** XOR of `bytes`: the frame checksum of AN3155 §3 "Communication safety" (all bytes, checksum included, XOR to 0). */
export function xorOf(bytes: ArrayLike<number>, from = 0, to = bytes.length): number {
  let x = 0;
  for (let i = from; i < to; i++) x ^= bytes[i]!;
  return x;
}

/** A command byte and its complement. */
export function commandFrame(cmd: number): Uint8Array {
  return Uint8Array.of(cmd, cmd ^ 0xff);
}

/** A 32-bit value, most significant byte first, then the XOR of the four (addresses, Get Checksum sizes). */
export function wordFrame(value: number): Uint8Array {
  const b = Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff, 0);
  b[4] = xorOf(b, 0, 4);
  return b;
}

/** Read Memory length: N = bytes - 1 and its complement. */
export function readLengthFrame(length: number): Uint8Array {
  return Uint8Array.of(length - 1, (length - 1) ^ 0xff);
}

/** Write Memory data: N = bytes - 1, the bytes, then the XOR of N and the bytes. */
export function writeDataFrame(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.length + 2);
  frame[0] = data.length - 1;
  frame.set(data, 1);
  frame[frame.length - 1] = xorOf(frame, 0, frame.length - 1);
  return frame;
}

/** Legacy Erase: N = pages - 1, the page numbers (one byte each), the XOR of all; or FF 00 for all. */
export function eraseFrame(pages: readonly number[] | 'global'): Uint8Array {
  if (pages === 'global') return Uint8Array.of(GLOBAL_ERASE, GLOBAL_ERASE ^ 0xff);
  const frame = Uint8Array.of(pages.length - 1, ...pages, 0);
  frame[frame.length - 1] = xorOf(frame, 0, frame.length - 1);
  return frame;
}

/** Extended Erase: N = pages - 1 and the page numbers, 16-bit big-endian, then the XOR of every byte. */
export function extendedEraseFrame(pages: readonly number[] | number): Uint8Array {
  const words = typeof pages === 'number' ? [pages] : [pages.length - 1, ...pages];
  const frame = new Uint8Array(words.length * 2 + 1);
  words.forEach((w, i) => {
    frame[2 * i] = w >> 8;
    frame[2 * i + 1] = w & 0xff;
  });
  frame[frame.length - 1] = xorOf(frame, 0, frame.length - 1);
  return frame;
}

/** Write Protect: N = sectors - 1, the sector numbers, the XOR of all. */
export function writeProtectFrame(sectors: readonly number[]): Uint8Array {
  return eraseFrame(sectors);
}

/**
 * The CRC the STM32 CRC unit (and Get Checksum) computes: CRC-32/MPEG-2 (polynomial 0x04C11DB7, init
 * 0xFFFFFFFF, no reflection, no final XOR) over 32-bit words read little-endian from memory, i.e. the
 * MPEG-2 CRC of the data with each word's bytes reversed. `data.length` must be a multiple of 4.
 */
export function stm32Crc(data: Uint8Array): number {
  const swapped = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 4) {
    swapped[i] = data[i + 3]!;
    swapped[i + 1] = data[i + 2]!;
    swapped[i + 2] = data[i + 1]!;
    swapped[i + 3] = data[i]!;
  }
  return crc32Mpeg2(swapped);
}

export function byteHex(b: number): string {
  return '0x' + b.toString(16).toUpperCase().padStart(2, '0');
}

export function addressHex(a: number): string {
  return '0x' + a.toString(16).toUpperCase().padStart(8, '0');
}
