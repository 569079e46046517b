import { crc16Ccitt } from '../bytes/crc16';
import { crc32 } from '../bytes/crc32';
import { createImage, flatten, hex, type FirmwareImage } from '../image/memory-image';
import { FlashError } from '../../shared/errors';

/**
 * How a per-device number is written into the image. Numbers are bigint so 64-bit serials and
 * 48-bit MACs stay exact.
 *
 * Formats: u16le u16be u32le u32be u64le u64be (binary), mac (6 bytes, big-endian),
 * ascii-dec:W and ascii-hex:W (W characters, zero-padded, upper-case hex), bcd:W (W digits, two per
 * byte, most significant first).
 */
export interface SerialRule {
  memory: string;
  address: number;
  format: string;
  /** Optional checksum over [from, to) of the programmed memory, written at `at` (after the serial). */
  crc?: { algorithm: 'crc32' | 'crc16-ccitt'; from: number; to: number; at: number; format: 'u16le' | 'u16be' | 'u32le' | 'u32be' };
}

interface Encoding {
  size: number;
  encode(value: bigint): Uint8Array;
}

const BINARY: Record<string, { size: number; littleEndian: boolean }> = {
  u16le: { size: 2, littleEndian: true },
  u16be: { size: 2, littleEndian: false },
  u32le: { size: 4, littleEndian: true },
  u32be: { size: 4, littleEndian: false },
  u64le: { size: 8, littleEndian: true },
  u64be: { size: 8, littleEndian: false },
  mac: { size: 6, littleEndian: false },
};

/** Parses a format name into its encoder; a bad name is a usage error naming the accepted ones. */
export function serialEncoding(format: string): Encoding {
  const binary = BINARY[format];
  if (binary) {
    const limit = 1n << BigInt(binary.size * 8);
    return {
      size: binary.size,
      encode(value) {
        if (value < 0n || value >= limit) throw tooBig(value, format);
        const out = new Uint8Array(binary.size);
        for (let i = 0; i < binary.size; i++) {
          const byte = Number((value >> BigInt(8 * i)) & 0xffn);
          out[binary.littleEndian ? i : binary.size - 1 - i] = byte;
        }
        return out;
      },
    };
  }
  const text = /^(ascii-dec|ascii-hex|bcd):(\d+)$/.exec(format);
  if (text) {
    const width = Number(text[2]);
    const kind = text[1]!;
    if (width < 1 || width > 40) throw badFormat(format);
    const radix = kind === 'ascii-hex' ? 16 : 10;
    const digits = (value: bigint) => {
      const s = value.toString(radix).toUpperCase();
      if (value < 0n || s.length > width) throw tooBig(value, format);
      return s.padStart(width, '0');
    };
    if (kind === 'bcd') {
      return {
        size: Math.ceil(width / 2),
        encode(value) {
          const d = digits(value).padStart(Math.ceil(width / 2) * 2, '0');
          return Uint8Array.from({ length: d.length / 2 }, (_, i) => (Number(d[2 * i]) << 4) | Number(d[2 * i + 1]));
        },
      };
    }
    return { size: width, encode: (value) => Uint8Array.from(digits(value), (c) => c.charCodeAt(0)) };
  }
  throw badFormat(format);
}

/** The image with this device's serial (and CRC, if the rule has one) written over it. */
export function applySerial(image: FirmwareImage, rule: SerialRule, value: bigint): FirmwareImage {
  let out = patch(image, rule.memory, rule.address, serialEncoding(rule.format).encode(value));
  if (rule.crc) {
    const { algorithm, from, to, at, format } = rule.crc;
    if (at < to && at + serialEncoding(format).size > from) {
      throw new FlashError('bad-image', `The CRC at ${hex(at)} would lie inside the range ${hex(from)}–${hex(to - 1)} it covers.`);
    }
    const bytes = flatten(out, rule.memory, from, to);
    const sum = algorithm === 'crc32' ? crc32(bytes) : crc16Ccitt(bytes);
    out = patch(out, rule.memory, at, serialEncoding(format).encode(BigInt(sum >>> 0)));
  }
  return out;
}

/** Overwrites bytes at an address, whether or not the image already has data there. */
export function patch(image: FirmwareImage, memory: string, address: number, bytes: Uint8Array): FirmwareImage {
  const end = address + bytes.length;
  const segments = image.segments.map((s) => {
    if (s.memory !== memory || s.address >= end || s.address + s.data.length <= address) return s;
    const data = s.data.slice();
    const from = Math.max(address, s.address);
    const to = Math.min(end, s.address + s.data.length);
    data.set(bytes.subarray(from - address, to - address), from - s.address);
    return { ...s, data };
  });
  return createImage(image.format, [...segments, { memory, address, data: bytes }], image.entry);
}

/** Reads a serial list (one value per line or CSV first column): decimal, 0x-hex or a MAC with : or -. */
export function parseSerialList(text: string): bigint[] {
  const values: bigint[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const cell = line.split(/[,;\t]/)[0]!.trim().replace(/^"|"$/g, '');
    if (cell === '' || cell.startsWith('#') || (i === 0 && /[a-z]{3,}/i.test(cell) && !/^[0-9a-f:.-]+$/i.test(cell))) return;
    const mac = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(cell);
    const value = mac ? BigInt('0x' + cell.replace(/[:-]/g, '')) : /^(0x[0-9a-f]+|\d+)$/i.test(cell) ? BigInt(cell) : null;
    if (value === null) throw new FlashError('bad-image', `Serial list line ${i + 1}: "${cell}" is not a number or MAC address.`);
    values.push(value);
  });
  return values;
}

function tooBig(value: bigint, format: string): FlashError {
  return new FlashError('image-out-of-range', `Serial ${value} does not fit the format ${format}.`, {
    hint: 'Choose a wider format or start the counter lower.',
  });
}

function badFormat(format: string): FlashError {
  return new FlashError('unsupported', `Unknown serial format "${format}".`, {
    hint: 'Use u16le, u16be, u32le, u32be, u64le, u64be, mac, ascii-dec:W, ascii-hex:W or bcd:W.',
  });
}
