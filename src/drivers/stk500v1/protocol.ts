/** STK500 v1 constants, named as in Atmel AVR061 "STK500 Communication Protocol" (command.h). */
export const Resp_STK = {
  OK: 0x10,
  FAILED: 0x11,
  UNKNOWN: 0x12,
  NODEVICE: 0x13,
  INSYNC: 0x14,
  NOSYNC: 0x15,
} as const;

export const Sync_CRC_EOP = 0x20;

export const Cmnd_STK = {
  GET_SYNC: 0x30,
  GET_SIGN_ON: 0x31,
  SET_PARAMETER: 0x40,
  GET_PARAMETER: 0x41,
  SET_DEVICE: 0x42,
  SET_DEVICE_EXT: 0x45,
  ENTER_PROGMODE: 0x50,
  LEAVE_PROGMODE: 0x51,
  CHIP_ERASE: 0x52,
  LOAD_ADDRESS: 0x55,
  UNIVERSAL: 0x56,
  PROG_PAGE: 0x64,
  READ_PAGE: 0x74,
  READ_SIGN: 0x75,
} as const;

/** AVR061 section 5: parameter ids for GET_PARAMETER. */
export const Parm_STK = {
  HW_VER: 0x80,
  SW_MAJOR: 0x81,
  SW_MINOR: 0x82,
} as const;

/** Memory type byte of PROG_PAGE / READ_PAGE (AVR061 Cmnd_STK_PROG_PAGE). */
export const MemType = { flash: 0x46 /* 'F' */, eeprom: 0x45 /* 'E' */ } as const;

/** LOAD_ADDRESS: 16-bit word address, little-endian (avrdude stk500_loadaddr). */
export function loadAddressFrame(byteAddress: number): Uint8Array {
  const word = byteAddress >>> 1;
  return Uint8Array.of(Cmnd_STK.LOAD_ADDRESS, word & 0xff, (word >> 8) & 0xff, Sync_CRC_EOP);
}

/** PROG_PAGE: length big-endian, then memtype, data, EOP. */
export function progPageFrame(memType: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.length + 5);
  frame.set([Cmnd_STK.PROG_PAGE, data.length >> 8, data.length & 0xff, memType]);
  frame.set(data, 4);
  frame[frame.length - 1] = Sync_CRC_EOP;
  return frame;
}

export function readPageFrame(memType: number, length: number): Uint8Array {
  return Uint8Array.of(Cmnd_STK.READ_PAGE, length >> 8, length & 0xff, memType, Sync_CRC_EOP);
}

/** Word addresses are 16 bits: beyond 128 KiB a bootloader needs the RAMPZ extension we do not speak. */
export const MAX_BYTE_ADDRESS = 0x20000;
