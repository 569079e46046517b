/**
 * CRC-32 as zlib, Ethernet and PNG compute it (reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF),
 * and CRC-32/MPEG-2 (polynomial 0x04C11DB7 MSB-first, init 0xFFFFFFFF, no final XOR) that the RP2040 boot ROM
 * checks over boot2 (RP2040 datasheet 2.8.1.3.1).
 */

/** Reflected CRC-32 polynomial (IEEE 802.3). */
export const CRC32_POLY_REFLECTED = 0xedb88320;
/** Same polynomial, MSB-first form, for CRC-32/MPEG-2. */
export const CRC32_POLY = 0x04c11db7;

const REFLECTED_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? CRC32_POLY_REFLECTED ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const MSB_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ CRC32_POLY : c << 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export interface Crc32 {
  update(bytes: Uint8Array): Crc32;
  /** The CRC of everything so far, as an unsigned 32-bit number. Does not end the stream. */
  digest(): number;
}

/** Streaming zlib CRC-32. */
export function createCrc32(): Crc32 {
  let state = 0xffffffff;
  const self: Crc32 = {
    update(bytes) {
      let c = state;
      for (let i = 0; i < bytes.length; i++) c = REFLECTED_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
      state = c;
      return self;
    },
    digest: () => (state ^ 0xffffffff) >>> 0,
  };
  return self;
}

export function crc32(bytes: Uint8Array): number {
  return createCrc32().update(bytes).digest();
}

/** Streaming CRC-32/MPEG-2. */
export function createCrc32Mpeg2(): Crc32 {
  let state = 0xffffffff;
  const self: Crc32 = {
    update(bytes) {
      let c = state;
      for (let i = 0; i < bytes.length; i++) c = (MSB_TABLE[((c >>> 24) ^ bytes[i]!) & 0xff]! ^ (c << 8)) >>> 0;
      state = c;
      return self;
    },
    digest: () => state >>> 0,
  };
  return self;
}

export function crc32Mpeg2(bytes: Uint8Array): number {
  return createCrc32Mpeg2().update(bytes).digest();
}
