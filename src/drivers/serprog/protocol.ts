/**
 * flashrom's Serial Flasher Protocol ("serprog"), interface version 1, named as in
 * flashrom doc/supported_hw/supported_prog/serprog/serprog-protocol.rst ("Command set" table).
 * Multi-byte values are little-endian; addresses and lengths are 24-bit.
 */
export const S_CMD = {
  NOP: 0x00,
  Q_IFACE: 0x01,
  Q_CMDMAP: 0x02,
  Q_PGMNAME: 0x03,
  Q_SERBUF: 0x04,
  Q_BUSTYPE: 0x05,
  Q_CHIPSIZE: 0x06,
  Q_OPBUF: 0x07,
  Q_WRNMAXLEN: 0x08,
  R_BYTE: 0x09,
  R_NBYTES: 0x0a,
  O_INIT: 0x0b,
  O_WRITEB: 0x0c,
  O_WRITEN: 0x0d,
  O_DELAY: 0x0e,
  O_EXEC: 0x0f,
  SYNCNOP: 0x10,
  Q_RDNMAXLEN: 0x11,
  S_BUSTYPE: 0x12,
  O_SPIOP: 0x13,
  S_SPI_FREQ: 0x14,
  S_PIN_STATE: 0x15,
  S_SPI_CS: 0x16,
  S_SPI_MODE: 0x17,
  S_CS_MODE: 0x18,
} as const;

/** serprog-protocol.rst: every answer starts with ACK, or is a lone NAK. */
export const S_ACK = 0x06;
export const S_NAK = 0x15;

/** Q_BUSTYPE / S_BUSTYPE bits (serprog-protocol.rst, "Bus types"). */
export const BUS = {
  PARALLEL: 1 << 0,
  LPC: 1 << 1,
  FWH: 1 << 2,
  SPI: 1 << 3,
} as const;

/** Q_IFACE must answer this; anything else is another protocol revision. */
export const SERPROG_INTERFACE_VERSION = 1;

/** The 24-bit length fields: 0 in Q_WRNMAXLEN / Q_RDNMAXLEN means this (flashrom serprog_init). */
export const MAX_24BIT = 0xffffff;

/**
 * Parameter bytes that follow each opcode (serprog-protocol.rst "Parameters" column), so a
 * device can frame a command; O_WRITEN and O_SPIOP carry a payload whose length is in them.
 */
export const PARAM_LENGTH: Readonly<Record<number, number>> = {
  [S_CMD.R_BYTE]: 3,
  [S_CMD.R_NBYTES]: 6,
  [S_CMD.O_WRITEB]: 4,
  [S_CMD.O_WRITEN]: 6,
  [S_CMD.O_DELAY]: 4,
  [S_CMD.S_BUSTYPE]: 1,
  [S_CMD.O_SPIOP]: 6,
  [S_CMD.S_SPI_FREQ]: 4,
  [S_CMD.S_PIN_STATE]: 1,
  [S_CMD.S_SPI_CS]: 1,
  [S_CMD.S_SPI_MODE]: 1,
  [S_CMD.S_CS_MODE]: 1,
};

export function u24(n: number): [number, number, number] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff];
}

export function readU16(b: ArrayLike<number>, at: number): number {
  return (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
}

export function readU24(b: ArrayLike<number>, at: number): number {
  return readU16(b, at) | ((b[at + 2] ?? 0) << 16);
}

export function readU32(b: ArrayLike<number>, at: number): number {
  return (readU24(b, at) | ((b[at + 3] ?? 0) << 24)) >>> 0;
}

/** O_SPIOP: u24 write length, u24 read length, then the bytes clocked out with CS held low. */
export function spiOpFrame(write: ArrayLike<number>, readLength: number): Uint8Array {
  const frame = new Uint8Array(7 + write.length);
  frame[0] = S_CMD.O_SPIOP;
  frame.set(u24(write.length), 1);
  frame.set(u24(readLength), 4);
  frame.set(write, 7);
  return frame;
}

/** Is `cmd` advertised in the 32-byte Q_CMDMAP bitmap? */
export function hasCommand(map: Uint8Array, cmd: number): boolean {
  return ((map[cmd >> 3] ?? 0) & (1 << (cmd & 7))) !== 0;
}

export function commandMap(cmds: readonly number[]): Uint8Array {
  const map = new Uint8Array(32);
  for (const c of cmds) map[c >> 3]! |= 1 << (c & 7);
  return map;
}
