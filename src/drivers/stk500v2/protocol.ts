/**
 * STK500 v2 constants, named as in Atmel AVR068 "STK500 Communication Protocol" (command.h, which
 * avrdude copies into stk500v2_private.h and the Arduino Mega bootloader into its own command.h).
 */

/** AVR068 "Message format": START, SEQUENCE_NUMBER, MESSAGE_SIZE (2 bytes, big-endian), TOKEN, body, CHECKSUM. */
export const MESSAGE_START = 0x1b;
export const TOKEN = 0x0e;
/** Bytes a frame adds around its body: start, sequence, two size bytes, token, checksum. */
export const FRAME_OVERHEAD = 6;
/**
 * Largest body the Arduino Mega bootloader can hold: its msgBuffer is 285 bytes (stk500boot.c); a
 * 256-byte page with its 10-byte PROGRAM_FLASH header fits, a frame announcing more is noise.
 */
export const MAX_BODY = 285;

/** AVR068 "Commands" (command.h). */
export const CMD = {
  SIGN_ON: 0x01,
  SET_PARAMETER: 0x02,
  GET_PARAMETER: 0x03,
  LOAD_ADDRESS: 0x06,
  ENTER_PROGMODE_ISP: 0x10,
  LEAVE_PROGMODE_ISP: 0x11,
  CHIP_ERASE_ISP: 0x12,
  PROGRAM_FLASH_ISP: 0x13,
  READ_FLASH_ISP: 0x14,
  PROGRAM_EEPROM_ISP: 0x15,
  READ_EEPROM_ISP: 0x16,
  READ_FUSE_ISP: 0x18,
  READ_LOCK_ISP: 0x1a,
  READ_SIGNATURE_ISP: 0x1b,
  SPI_MULTI: 0x1d,
} as const;

/** AVR068 "Status constants": the second byte of every answer. */
export const STATUS = {
  CMD_OK: 0x00,
  CMD_TOUT: 0x80,
  RDY_BSY_TOUT: 0x81,
  SET_PARAM_MISSING: 0x82,
  CMD_FAILED: 0xc0,
  CKSUM_ERROR: 0xc1,
  CMD_UNKNOWN: 0xc9,
} as const;

/** AVR068 "Parameter constants" for GET_PARAMETER. */
export const PARAM = {
  HW_VER: 0x90,
  SW_MAJOR: 0x91,
  SW_MINOR: 0x92,
} as const;

/**
 * LOAD_ADDRESS bit 31: "the device has more than 64 K words of flash; issue Load Extended Address"
 * (AVR068 CMD_LOAD_ADDRESS; avrdude stk500v2_loadaddr sets it for parts with a load_ext_addr op,
 * i.e. ATmega2560/2561). The Mega bootloader shifts the whole word address left by one, which drops it.
 */
export const LOAD_EXT_ADDR_BIT = 0x80000000;

/**
 * PROGRAM_FLASH_ISP / PROGRAM_EEPROM_ISP mode byte (AVR068): bit 0 page mode, bit 7 "write page".
 * avrdude sends the part's mode | 0x80 = 0xC1 for paged flash (avrdude.conf `mode = 0x41`).
 */
export const MODE_PAGED_WRITE = 0xc1;
/** ISP instruction bytes carried in the body (ATmega2560 datasheet 30.8 "Serial Programming Instruction Set"). */
export const ISP = {
  LOAD_PROGRAM_PAGE_LOW: 0x40,
  WRITE_PROGRAM_PAGE: 0x4c,
  READ_PROGRAM_LOW: 0x20,
  LOAD_EEPROM_PAGE: 0xc1,
  WRITE_EEPROM_PAGE: 0xc2,
  READ_EEPROM: 0xa0,
  READ_SIGNATURE: 0x30,
} as const;

/** Sign-on name of the Arduino Mega 2560 bootloader (stk500boot.c CMD_SIGN_ON answer). */
export const MEGA_BOOTLOADER_SIGN_ON = 'AVRISP_2';

export function checksum(bytes: Uint8Array, end = bytes.length): number {
  let x = 0;
  for (let i = 0; i < end; i++) x ^= bytes[i]!;
  return x;
}

/** One message on the wire: `1B seq sizeH sizeL 0E body… xor`. */
export function encodeFrame(seq: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(body.length + FRAME_OVERHEAD);
  frame.set([MESSAGE_START, seq & 0xff, body.length >> 8, body.length & 0xff, TOKEN]);
  frame.set(body, 5);
  frame[frame.length - 1] = checksum(frame, frame.length - 1);
  return frame;
}

export interface Frame {
  seq: number;
  body: Uint8Array;
}

/**
 * Incremental frame parser, the receive state machine of AVR068 (avrdude stk500v2_recv, the Mega
 * bootloader's msgParseState): bytes before MESSAGE_START are skipped, a wrong TOKEN or an oversize
 * length starts the hunt again, and a bad checksum is reported once the frame is complete.
 */
export class FrameParser {
  private buf: number[] = [];

  /** Feeds bytes; returns complete frames and a count of frames whose checksum failed. */
  push(bytes: Uint8Array): { frames: Frame[]; badChecksums: number } {
    const frames: Frame[] = [];
    let badChecksums = 0;
    for (const b of bytes) {
      const buf = this.buf;
      if (buf.length === 0 && b !== MESSAGE_START) continue;
      buf.push(b);
      if (buf.length === 5) {
        const size = (buf[2]! << 8) | buf[3]!;
        if (buf[4] !== TOKEN || size === 0 || size > MAX_BODY) this.buf = [];
        continue;
      }
      if (buf.length < 5 || buf.length < ((buf[2]! << 8) | buf[3]!) + FRAME_OVERHEAD) continue;
      const frame = Uint8Array.from(buf);
      this.buf = [];
      if (checksum(frame, frame.length - 1) === frame[frame.length - 1]) frames.push({ seq: frame[1]!, body: frame.slice(5, -1) });
      else badChecksums++;
    }
    return { frames, badChecksums };
  }

  reset(): void {
    this.buf = [];
  }
}

/** LOAD_ADDRESS body: a word address for flash (a byte address for EEPROM), big-endian, with bit 31 for > 128 KiB parts. */
export function loadAddressBody(address: number, extended: boolean): Uint8Array {
  const a = (extended ? LOAD_EXT_ADDR_BIT | address : address) >>> 0;
  return Uint8Array.of(CMD.LOAD_ADDRESS, a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
}

/** PROGRAM_FLASH_ISP / PROGRAM_EEPROM_ISP body in page mode, with the ISP bytes avrdude sends. */
export function programBody(memory: 'flash' | 'eeprom', data: Uint8Array, pollDelayMs: number): Uint8Array {
  const body = new Uint8Array(10 + data.length);
  const flash = memory === 'flash';
  body.set([
    flash ? CMD.PROGRAM_FLASH_ISP : CMD.PROGRAM_EEPROM_ISP,
    data.length >> 8,
    data.length & 0xff,
    MODE_PAGED_WRITE,
    pollDelayMs,
    flash ? ISP.LOAD_PROGRAM_PAGE_LOW : ISP.LOAD_EEPROM_PAGE,
    flash ? ISP.WRITE_PROGRAM_PAGE : ISP.WRITE_EEPROM_PAGE,
    flash ? ISP.READ_PROGRAM_LOW : ISP.READ_EEPROM,
    0xff, // poll values: erased flash and EEPROM read 0xFF
    0xff,
  ]);
  body.set(data, 10);
  return body;
}

/** READ_FLASH_ISP / READ_EEPROM_ISP body; the answer is `cmd OK data… OK`. */
export function readBody(memory: 'flash' | 'eeprom', length: number): Uint8Array {
  const flash = memory === 'flash';
  return Uint8Array.of(flash ? CMD.READ_FLASH_ISP : CMD.READ_EEPROM_ISP, length >> 8, length & 0xff, flash ? ISP.READ_PROGRAM_LOW : ISP.READ_EEPROM);
}
