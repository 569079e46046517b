/**
 * AVR109 "Self-programming" (Atmel application note AVR109, the "butterfly" protocol avrdude speaks as
 * `-c avr109`), as the Arduino Caterina bootloader implements it (Caterina.c, LUFA CDC class): one ASCII
 * command letter, binary arguments, no framing or checksum. Most commands answer CR; unknown ones '?'.
 */

/** Command letters (AVR109 table "Commands supported by the bootloader"; Caterina.c CDC_Task). */
export const Cmd = {
  /** `A hi lo`: set address, a word address for flash, a byte address for EEPROM. */
  SET_ADDRESS: 0x41, // 'A'
  /** `b`: block support: 'Y', then the block size big-endian (Caterina: SPM_PAGESIZE). */
  BLOCK_SUPPORT: 0x62, // 'b'
  /** `B sizeH sizeL type data…`: write a block; flash blocks erase their page first (Caterina). */
  BLOCK_WRITE: 0x42, // 'B'
  /** `g sizeH sizeL type`: read a block. */
  BLOCK_READ: 0x67, // 'g'
  CHIP_ERASE: 0x65, // 'e'
  EXIT: 0x45, // 'E'
  ENTER_PROGMODE: 0x50, // 'P'
  LEAVE_PROGMODE: 0x4c, // 'L'
  AUTO_INCREMENT: 0x61, // 'a'
  PROGRAMMER_TYPE: 0x70, // 'p'
  SOFTWARE_ID: 0x53, // 'S'
  SOFTWARE_VERSION: 0x56, // 'V'
  HARDWARE_VERSION: 0x76, // 'v'
  DEVICE_CODES: 0x74, // 't'
  SELECT_DEVICE: 0x54, // 'T'
  /** `s`: signature, last byte first (Caterina sends SIGNATURE_2, _1, _0). */
  READ_SIGNATURE: 0x73, // 's'
  READ_LOW_FUSE: 0x46, // 'F'
  READ_HIGH_FUSE: 0x4e, // 'N'
  READ_EXT_FUSE: 0x51, // 'Q'
  READ_LOCK: 0x72, // 'r'
  WRITE_LOCK: 0x6c, // 'l'
  ESCAPE: 0x1b,
} as const;

/** Block memory types. */
export const MemType = { flash: 0x46 /* 'F' */, eeprom: 0x45 /* 'E' */ } as const;

export const CR = 0x0d;
export const UNKNOWN = 0x3f; // '?'
export const YES = 0x59; // 'Y'

/** What Caterina answers to 'S': the first seven characters of "CATERINA" (SOFTWARE_IDENTIFIER). */
export const CATERINA_ID = 'CATERIN';

/** The Arduino core's 1200-baud touch (CDC.cpp): a sketch that sees the line set to 1200 baud and DTR dropped resets into the bootloader. */
export const TOUCH_BAUD = 1200;

export function blockWrite(memType: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out.set([Cmd.BLOCK_WRITE, data.length >> 8, data.length & 0xff, memType]);
  out.set(data, 4);
  return out;
}

export function blockRead(memType: number, length: number): Uint8Array {
  return Uint8Array.of(Cmd.BLOCK_READ, length >> 8, length & 0xff, memType);
}

/** 'A' with a 16-bit address, big-endian: flash takes words (byte address / 2), EEPROM bytes. */
export function setAddress(address: number): Uint8Array {
  return Uint8Array.of(Cmd.SET_ADDRESS, (address >> 8) & 0xff, address & 0xff);
}
