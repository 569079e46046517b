/**
 * CRC-16 with the CCITT polynomial x^16 + x^12 + x^5 + 1 (0x1021), MSB-first, no final XOR.
 * Two presets differ only in the initial value (catalogue names from Greg Cook's "CRC RevEng"):
 * - CRC-16/XMODEM, init 0x0000: XMODEM-CRC, SAM-BA;
 * - CRC-16/IBM-3740 (a.k.a. CCITT-FALSE), init 0xFFFF.
 */

export const CRC16_CCITT_POLY = 0x1021;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ CRC16_CCITT_POLY : c << 1;
    t[n] = c & 0xffff;
  }
  return t;
})();

export interface Crc16 {
  update(bytes: Uint8Array): Crc16;
  /** The CRC so far, 0..0xFFFF. Does not end the stream. */
  digest(): number;
}

/** Streaming CRC-16/CCITT with the given initial value (0xFFFF: CCITT-FALSE; 0: XMODEM). */
export function createCrc16Ccitt(init = 0xffff): Crc16 {
  let state = init & 0xffff;
  const self: Crc16 = {
    update(bytes) {
      let c = state;
      for (let i = 0; i < bytes.length; i++) c = (TABLE[((c >> 8) ^ bytes[i]!) & 0xff]! ^ (c << 8)) & 0xffff;
      state = c;
      return self;
    },
    digest: () => state,
  };
  return self;
}

/** CRC-16/CCITT-FALSE (init 0xFFFF). */
export function crc16Ccitt(bytes: Uint8Array): number {
  return createCrc16Ccitt(0xffff).update(bytes).digest();
}

/** CRC-16/XMODEM (init 0). */
export function crc16Xmodem(bytes: Uint8Array): number {
  return createCrc16Ccitt(0).update(bytes).digest();
}
