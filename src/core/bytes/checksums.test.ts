import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCrc16Ccitt, crc16Ccitt, crc16Xmodem } from './crc16';
import { createCrc32, crc32, crc32Mpeg2 } from './crc32';
import { fromHex, hex32, toHex } from './hex';
import { createMd5, md5 } from './md5';
import { createSha256, sha256 } from './sha256';
import { sum16, sum8, xor8 } from './sums';

const ascii = (s: string) => new TextEncoder().encode(s);
const CHECK = ascii('123456789'); // the CRC catalogue's check input

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Feeds `data` in uneven chunks, so block boundaries fall everywhere. */
function chunked<T extends { update(b: Uint8Array): T }>(h: T, data: Uint8Array, sizes = [1, 63, 64, 65, 7, 128, 3]): T {
  for (let at = 0, k = 0; at < data.length; k++) {
    const n = sizes[k % sizes.length]!;
    h.update(data.subarray(at, at + n));
    at += n;
  }
  return h;
}

describe('CRC', () => {
  it('matches the catalogue check values', () => {
    expect(crc32(CHECK)).toBe(0xcbf43926);
    expect(crc32Mpeg2(CHECK)).toBe(0x0376e6e7);
    expect(crc16Ccitt(CHECK)).toBe(0x29b1);
    expect(crc16Xmodem(CHECK)).toBe(0x31c3);
    expect(crc32(new Uint8Array())).toBe(0);
  });

  it('CRC-32 matches zlib over random data, in one go and streamed', () => {
    const zcrc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    for (const n of [1, 3, 64, 1000, 65537]) {
      const data = noise(n, n);
      const want = zcrc ? zcrc(data) : crc32(data);
      expect(crc32(data)).toBe(want);
      expect(chunked(createCrc32(), data).digest()).toBe(want);
    }
  });

  it('CRC-16 streams to the same value', () => {
    const data = noise(1000);
    expect(chunked(createCrc16Ccitt(), data).digest()).toBe(crc16Ccitt(data));
  });
});

describe('SHA-256 and MD5 against node:crypto', () => {
  const node = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest('hex');

  it('matches FIPS 180-4 and RFC 1321 examples', () => {
    expect(toHex(sha256(ascii('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(new Uint8Array()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(md5(new Uint8Array()))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(toHex(md5(ascii('abc')))).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('matches at every length around the padding boundaries', () => {
    for (let n = 0; n <= 200; n++) {
      const data = noise(n, n + 1);
      expect(toHex(sha256(data)), `sha256 length ${n}`).toBe(node('sha256', data));
      expect(toHex(md5(data)), `md5 length ${n}`).toBe(node('md5', data));
    }
  });

  it('matches on a megabyte fed in odd chunks', () => {
    const data = noise(1 << 20);
    expect(toHex(chunked(createSha256(), data).digest())).toBe(node('sha256', data));
    expect(toHex(chunked(createMd5(), data).digest())).toBe(node('md5', data));
  });

  it('refuses to continue after digest', () => {
    const h = createSha256().update(CHECK);
    h.digest();
    expect(() => h.update(CHECK)).toThrow();
  });
});

describe('sums and hex helpers', () => {
  it('sum8, sum16, xor8', () => {
    const data = new Uint8Array([0xff, 0xff, 0x03]);
    expect(sum8(data)).toBe(0x01);
    expect(sum16(data)).toBe(0x0201);
    expect(xor8(data)).toBe(0x03);
    expect(xor8(data, 0xef)).toBe(0xec);
  });

  it('hex round trip', () => {
    expect(fromHex('00 ff 1A')).toEqual(new Uint8Array([0, 255, 26]));
    expect(toHex(new Uint8Array([0, 255, 26]))).toBe('00ff1a');
    expect(hex32(0xcbf43926)).toBe('cbf43926');
    expect(() => fromHex('abc')).toThrow();
  });
});
