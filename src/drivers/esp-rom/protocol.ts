/**
 * Espressif serial bootloader protocol, ROM loader and flasher stub. Names follow esptool's
 * `ESPLoader` constants; citations are to Espressif's "Serial Protocol" page of the esptool docs
 * (docs/en/advanced-topics/serial-protocol.rst) unless a line says otherwise.
 */

/** Command opcodes ("Supported by ROM / stub loader" tables). */
export const Command = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  // stub loader only
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;

export type CommandCode = (typeof Command)[keyof typeof Command];

/** Packet direction byte ("Command packet" / "Response packet"). */
export const Direction = { REQUEST: 0x00, RESPONSE: 0x01 } as const;

/** ROM loader error codes, second status byte when the first is 1 ("ROM loader errors"). */
export const RomError = {
  INVALID_MESSAGE: 0x05,
  FAILED_TO_ACT: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE_ERROR: 0x08,
  FLASH_READ_ERROR: 0x09,
  FLASH_READ_LENGTH_ERROR: 0x0a,
  DEFLATE_ERROR: 0x0b,
} as const;

/** Flasher stub error codes (esptool stub_flasher.h / esp-flasher-stub command_handler.h). */
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  FAILED_SPI_UNLOCK: 0xc5,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const;

/** Seed of the XOR checksum over *_DATA payloads ("Checksum"). */
export const CHECKSUM_MAGIC = 0xef;
/** The ROM autobauds on SYNC; esptool always starts at this rate (ESPLoader.ESP_ROM_BAUD). */
export const ESP_ROM_BAUD = 115200;
/** READ_REG here tells the chip family apart (esptool CHIP_DETECT_MAGIC_REG_ADDR). */
export const CHIP_DETECT_MAGIC_REG_ADDR = 0x40001000;

/** Block sizes (esptool ESP_RAM_BLOCK, FLASH_WRITE_SIZE for ROM and stub, USB_RAM_BLOCK). */
export const BlockSize = {
  RAM: 0x1800,
  RAM_USB_OTG: 0x800,
  FLASH_ROM: 0x400,
  FLASH_STUB: 0x4000,
  FLASH_STUB_USB_OTG: 0x800,
  READ_PACKET: 0x1000,
} as const;

export const SECTOR_SIZE = 0x1000;
export const FLASH_BLOCK_SIZE = 0x10000;

/** SYNC payload: 07 07 12 20 then 32 x 0x55 ("SYNC" command). */
export const SYNC_PAYLOAD: Uint8Array = Uint8Array.from([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)]);

/** The stub announces itself with this unsolicited packet after MEM_END ("OHAI"). */
export const STUB_HELLO = Uint8Array.of(0x4f, 0x48, 0x41, 0x49);

/** JEDEC capacity byte → flash size in bytes (esptool DETECTED_FLASH_SIZES). */
export const DETECTED_FLASH_SIZES: Readonly<Record<number, number>> = (() => {
  const out: Record<number, number> = {};
  const MiB = 1 << 20;
  for (let code = 0x12; code <= 0x1c; code++) out[code] = (256 * 1024) << (code - 0x12);
  out[0x20] = 64 * MiB;
  out[0x21] = 128 * MiB;
  out[0x22] = 256 * MiB;
  for (let code = 0x32; code <= 0x3a; code++) out[code] = (256 * 1024) << (code - 0x32);
  return out;
})();

/** SPI flash command for the JEDEC ID (JESD216 / any SPI NOR datasheet: RDID 9Fh). */
export const SPIFLASH_RDID = 0x9f;

/** SPI controller "user command" bits esptool drives in run_spiflash_command. */
export const SpiUser = {
  CMD_USR: 1 << 18,
  USR_COMMAND: 1 << 31,
  USR_MISO: 1 << 28,
  USR_MOSI: 1 << 27,
  USR2_COMMAND_LEN_SHIFT: 28,
  /** ESP8266 packs the data lengths into USR1 (no DLEN registers). */
  ESP8266_MISO_BITLEN_SHIFT: 8,
  ESP8266_MOSI_BITLEN_SHIFT: 17,
} as const;

export interface Request {
  command: number;
  data: Uint8Array;
  checksum: number;
}

export interface Response {
  command: number;
  value: number;
  data: Uint8Array;
}

/** XOR of the payload seeded with 0xEF: the checksum field of MEM_DATA / FLASH_DATA / FLASH_DEFL_DATA. */
export function checksum(data: Uint8Array): number {
  let sum: number = CHECKSUM_MAGIC;
  for (const b of data) sum ^= b;
  return sum;
}

/** Request packet before SLIP framing: dir, cmd, size (u16), checksum (u32), data. */
export function encodeRequest(command: number, data: Uint8Array = new Uint8Array(0), sum = 0): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const view = new DataView(out.buffer);
  out[0] = Direction.REQUEST;
  out[1] = command;
  view.setUint16(2, data.length, true);
  view.setUint32(4, sum >>> 0, true);
  out.set(data, 8);
  return out;
}

/** A request as the device sees it, or null when the packet is not a well-formed request. */
export function decodeRequest(packet: Uint8Array): Request | null {
  if (packet.length < 8 || packet[0] !== Direction.REQUEST) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const size = view.getUint16(2, true);
  if (packet.length !== 8 + size) return null;
  return { command: packet[1]!, checksum: view.getUint32(4, true), data: packet.subarray(8) };
}

export function encodeResponse(command: number, value: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const view = new DataView(out.buffer);
  out[0] = Direction.RESPONSE;
  out[1] = command;
  view.setUint16(2, data.length, true);
  view.setUint32(4, value >>> 0, true);
  out.set(data, 8);
  return out;
}

/** A response as the host sees it, or null for anything else (our own echo, text, a damaged packet). */
export function decodeResponse(packet: Uint8Array): Response | null {
  if (packet.length < 8 || packet[0] !== Direction.RESPONSE) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const size = view.getUint16(2, true);
  if (packet.length !== 8 + size) return null;
  return { command: packet[1]!, value: view.getUint32(4, true), data: packet.subarray(8) };
}

/** Little-endian u32 words, the argument format of every command. */
export function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
  return out;
}

export function readWord(data: Uint8Array, index: number): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(index * 4, true);
}

/** Header of MEM_DATA / FLASH_DATA / FLASH_DEFL_DATA: length, sequence, two zero words, then the data. */
export function dataPacket(command: number, seq: number, payload: Uint8Array): Uint8Array {
  const body = new Uint8Array(16 + payload.length);
  body.set(words(payload.length, seq, 0, 0));
  body.set(payload, 16);
  return encodeRequest(command, body, checksum(payload));
}

export function commandName(code: number): string {
  const entry = Object.entries(Command).find(([, v]) => v === code);
  return entry ? entry[0] : `command 0x${code.toString(16).padStart(2, '0')}`;
}
