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
  /**
   * Write the serial (and CRC) even where the image holds code or data: without it, injection is refused
   * unless every byte it replaces is erased (0xFF) or outside the image. A recipe field / --serial-overwrite.
   */
  overwrite?: boolean;
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

/** The value erased flash reads as; a serial may go only where the image leaves flash erased. */
const ERASED = 0xff;

/**
 * The image with this device's serial (and CRC, if the rule has one) written over it. Refused where the
 * image holds non-erased bytes at those addresses, unless the rule says `overwrite`: a serial number
 * written over the interrupt vectors passes verify and bricks the board.
 */
export function applySerial(image: FirmwareImage, rule: SerialRule, value: bigint): FirmwareImage {
  checkSerialSpace(image, rule);
  let out = patch(image, rule.memory, rule.address, serialEncoding(rule.format).encode(value));
  if (rule.crc) {
    const { algorithm, from, to, at, format } = rule.crc;
    const bytes = flatten(out, rule.memory, from, to);
    const sum = algorithm === 'crc32' ? crc32(bytes) : crc16Ccitt(bytes);
    out = patch(out, rule.memory, at, serialEncoding(format).encode(BigInt(sum >>> 0)));
  }
  return out;
}

/** Where the serial goes, for the audit record: 'flash@0x00007000' (and its length). */
export function serialLocation(rule: SerialRule): { memory: string; address: number; length: number; text: string } {
  const length = serialEncoding(rule.format).size;
  return { memory: rule.memory, address: rule.address, length, text: `${rule.memory}@${hex(rule.address, 8)}` };
}

/**
 * Refuses a rule whose serial or CRC would replace code or data of the image (any non-erased byte), unless
 * `overwrite` is set, and a CRC that lies inside the range it covers. Run it before a number is reserved.
 */
export function checkSerialSpace(image: FirmwareImage, rule: SerialRule): void {
  const places = [{ what: 'serial number', address: rule.address, size: serialEncoding(rule.format).size }];
  if (rule.crc) {
    const { from, to, at, format } = rule.crc;
    const size = serialEncoding(format).size;
    if (at < to && at + size > from) {
      throw new FlashError('bad-image', `The CRC at ${hex(at)} would lie inside the range ${hex(from)}–${hex(to - 1)} it covers.`);
    }
    places.push({ what: 'CRC', address: at, size });
  }
  if (rule.overwrite) return;
  for (const p of places) {
    const bytes = flatten(image, rule.memory, p.address, p.address + p.size, ERASED);
    const used = bytes.findIndex((b) => b !== ERASED);
    if (used < 0) continue;
    const at = p.address + used;
    throw new FlashError('image-out-of-range', `The ${p.what} would overwrite the firmware: ${rule.memory} ${hex(at)} holds ${hex(bytes[used]!, 2)}, not erased space.`, {
      hint: 'Reserve space for it in the firmware (an erased 0xFF area, e.g. a linker section) and point the serial address there; overwrite only if the firmware expects it (--serial-overwrite, or the recipe\'s overwrite switch).',
      details: { memory: rule.memory, address: at, value: bytes[used]!, what: p.what },
    });
  }
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
  return new FlashError('invalid-argument', `Unknown serial format "${format}".`, {
    hint: 'Use u16le, u16be, u32le, u32be, u64le, u64be, mac, ascii-dec:W, ascii-hex:W or bcd:W.',
  });
}
