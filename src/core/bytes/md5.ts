import { blockHash, type StreamingHash } from './block-hash';

/**
 * MD5 (RFC 1321), streaming and pure. Not for security: esptool's SPI_FLASH_MD5 verify and UF2's MD5 flag
 * (0x4000) use it to compare flash contents.
 */

/** T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4; literal so no engine's sin() can change it. */
const T = new Uint32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
  0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
  0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
  0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
  0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
  0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
  0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
  0xeb86d391,
]);

/** Per-round left-rotation amounts, RFC 1321 section 3.4. */
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/** digest() gives 16 bytes. */
export type Md5 = StreamingHash<Md5>;

export function createMd5(): Md5 {
  const h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const x = new Uint32Array(16);

  const compress = (src: Uint8Array, at: number) => {
    for (let k = 0; k < 16; k++, at += 4) {
      x[k] = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24);
    }
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!;
    for (let i = 0; i < 64; i++) {
      const round = i >> 4;
      let f: number;
      let g: number;
      if (round === 0) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (round === 1) {
        f = (b & d) | (c & ~d);
        g = (5 * i + 1) & 15;
      } else if (round === 2) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = S[(round << 2) | (i & 3)]!;
      const sum = (a + f + T[i]! + x[g]!) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    h[0]! += a;
    h[1]! += b;
    h[2]! += c;
    h[3]! += d;
  };

  // Padding and length as little-endian (RFC 1321 sections 3.1-3.2).
  return blockHash<Md5>('md5', compress, true, () => {
    const out = new Uint8Array(16);
    for (let k = 0; k < 16; k++) out[k] = (h[k >> 2]! >>> (8 * (k & 3))) & 0xff;
    return out;
  });
}

export function md5(bytes: Uint8Array): Uint8Array {
  return createMd5().update(bytes).digest();
}
