import { badImage, ByteWriter, cannotWrite, CH, HEX_DIGIT, NIBBLE, showChar } from './ascii';
import { flatSegments } from './flat-address';
import { createImage, DEFAULT_MEMORY, hex, type FirmwareImage, type Segment } from './memory-image';

/** Record types, Intel "Hexadecimal Object File Format Specification" Rev A (1988), p. 3-7. */
export const IHEX_RECORD = {
  DATA: 0x00,
  END_OF_FILE: 0x01,
  EXTENDED_SEGMENT_ADDRESS: 0x02,
  START_SEGMENT_ADDRESS: 0x03,
  EXTENDED_LINEAR_ADDRESS: 0x04,
  START_LINEAR_ADDRESS: 0x05,
} as const;

const FORMAT = 'Intel HEX';
const MAX_ADDRESS = 0x1_0000_0000;

/** One contiguous run of data records, decoded into the shared scratch buffer. */
interface Run {
  address: number;
  start: number;
  end: number;
  line: number;
}

/**
 * Parses an Intel HEX file straight from its bytes (no string decoding: 8 MiB images are 23 MB of text).
 *
 * Strict where leniency would hide damage:
 * - every record's checksum is checked;
 * - a line that is not blank must be a record;
 * - a missing end-of-file record (type 01) is an error, since it means the file was cut short;
 * - after the end-of-file record only whitespace, NUL or DOS ^Z padding may follow.
 */
export function parseIntelHex(bytes: Uint8Array): FirmwareImage {
  const n = bytes.length;
  // Sized by a quick pre-pass, so an 8 MiB image costs 8 MiB and, being one run, is returned without a copy.
  let scratch = new Uint8Array(countDataBytes(bytes));
  let used = 0;
  const runs: Run[] = [];

  let base = 0;
  let segmentMode = false; // type 02 wraps offsets inside a 64 KiB segment; type 04 does not
  let entry: number | undefined;
  let line = 1;
  let lineStart = 0;
  let pos = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // a UTF-8 BOM from an editor
  let ended = false;

  const fail = (message: string, details: Record<string, string | number> = {}) =>
    badImage(FORMAT, `line ${line}`, message, { line, column: pos - lineStart + 1, ...details });

  /** Decodes the hex byte at `p` and fails, pointing at the bad character, if it is not one. */
  const byteAt = (p: number): number => {
    const hi = NIBBLE[bytes[p]!]!;
    const lo = NIBBLE[bytes[p + 1]!]!;
    if ((hi | lo) < 0) {
      pos = hi < 0 ? p : p + 1;
      throw fail(`expected a hex digit at column ${pos - lineStart + 1}, found ${showChar(bytes[pos])}.`);
    }
    return (hi << 4) | lo;
  };

  const addData = (address: number, p: number, count: number): number => {
    let run = runs[runs.length - 1];
    if (run === undefined || run.address + (run.end - run.start) !== address) {
      run = { address, start: used, end: used, line };
      runs.push(run);
    }
    if (used + count > scratch.length) {
      // Only a file the pre-pass miscounted (a malformed one) gets here; it will most likely fail soon.
      const grown = new Uint8Array(Math.max(scratch.length * 2, used + count));
      grown.set(scratch.subarray(0, used));
      scratch = grown;
    }
    const out = scratch; // a local, so the hot loop does not reload a captured variable
    let at = used;
    let sum = 0;
    for (let i = 0; i < count; i++, p += 2) {
      const hi = NIBBLE[bytes[p]!]!;
      const lo = NIBBLE[bytes[p + 1]!]!;
      if ((hi | lo) < 0) byteAt(p);
      const v = (hi << 4) | lo;
      out[at++] = v;
      sum += v;
    }
    used = at;
    run.end = used;
    return sum;
  };

  while (pos < n) {
    const c = bytes[pos]!;
    if (c === CH.LF || c === CH.CR) {
      pos += c === CH.CR && bytes[pos + 1] === CH.LF ? 2 : 1;
      line++;
      lineStart = pos;
      continue;
    }
    if (c === CH.SPACE || c === CH.TAB) {
      pos++;
      continue;
    }
    if (ended) {
      if (c === 0 || c === CH.SUB) {
        pos++;
        continue;
      }
      throw fail(`found ${showChar(c)} after the end-of-file record; expected nothing more.`);
    }
    if (c !== CH.COLON) throw fail(`expected a record starting with ':', found ${showChar(c)}.`);
    pos++;

    if (pos + 10 > n) throw fail('the record is cut short (expected at least 10 hex digits after the colon).');
    const count = byteAt(pos);
    const offset = (byteAt(pos + 2) << 8) | byteAt(pos + 4);
    const type = byteAt(pos + 6);
    const dataAt = pos + 8;
    const checksumAt = dataAt + 2 * count;
    if (checksumAt + 2 > n) throw fail(`the record is cut short: its length byte says ${count} data bytes.`);
    let sum = count + (offset >> 8) + (offset & 0xff) + type;

    if (type === IHEX_RECORD.DATA) {
      if (segmentMode && offset + count > 0x10000) {
        // 8086 semantics: the offset wraps inside the 64 KiB segment (Intel spec p. 4, USBA + (DRLO + DRI) mod 64K).
        const head = 0x10000 - offset;
        sum += addData(base + offset, dataAt, head);
        sum += addData(base, dataAt + 2 * head, count - head);
      } else {
        if (base + offset + count > MAX_ADDRESS) {
          // Cannot happen with 02 bases (at most 0x10FFEF); with 04 the spec's mod 4G wrap is surely a mistake.
          throw fail(`data at ${hex(base + offset, 8)} runs past the 4 GiB address space.`);
        }
        sum += addData(base + offset, dataAt, count);
      }
    } else {
      const field: number[] = [];
      for (let i = 0; i < count; i++) field.push(byteAt(dataAt + 2 * i));
      for (const v of field) sum += v;
      const need = (len: number, what: string) => {
        if (count !== len) throw fail(`a type ${hex(type, 2)} (${what}) record carries ${len} data bytes, this one says ${count}.`);
      };
      const word = (i: number) => (field[i]! << 8) | field[i + 1]!;
      switch (type) {
        case IHEX_RECORD.END_OF_FILE:
          need(0, 'end of file');
          ended = true;
          break;
        case IHEX_RECORD.EXTENDED_SEGMENT_ADDRESS:
          need(2, 'extended segment address');
          base = word(0) << 4;
          segmentMode = true;
          break;
        case IHEX_RECORD.START_SEGMENT_ADDRESS:
          need(4, 'start segment address');
          entry = (word(0) << 4) + word(2); // CS:IP as a physical address
          break;
        case IHEX_RECORD.EXTENDED_LINEAR_ADDRESS:
          need(2, 'extended linear address');
          base = word(0) * 0x10000;
          segmentMode = false;
          break;
        case IHEX_RECORD.START_LINEAR_ADDRESS:
          need(4, 'start linear address');
          entry = (word(0) * 0x10000 + word(2)) >>> 0;
          break;
        default:
          throw fail(`unknown record type ${hex(type, 2)}; expected 00 to 05.`, { type });
      }
    }

    const checksum = byteAt(checksumAt);
    if (((sum + checksum) & 0xff) !== 0) {
      const expected = -sum & 0xff;
      throw fail(`checksum is ${hex(checksum, 2)}, expected ${hex(expected, 2)}.`, { expected, actual: checksum });
    }
    pos = checksumAt + 2;
    while (pos < n && (bytes[pos] === CH.SPACE || bytes[pos] === CH.TAB)) pos++;
    if (pos < n && bytes[pos] !== CH.LF && bytes[pos] !== CH.CR) {
      throw fail(`expected the end of the line after ${count} data bytes and the checksum, found ${showChar(bytes[pos])}.`);
    }
  }
  if (!ended) {
    throw badImage(FORMAT, `line ${line}`, 'no end-of-file record (:00000001FF): the file is cut short.', { line });
  }

  const whole = runs.length === 1 && runs[0]!.start === 0 && runs[0]!.end === scratch.length;
  const segments: Segment[] = runs.map((r) => ({
    memory: DEFAULT_MEMORY,
    address: r.address,
    // Copies, so that no segment's buffer is shared with another (callers may transfer them).
    data: whole ? scratch : scratch.slice(r.start, r.end),
    origin: `line ${r.line}`,
  }));
  return createImage('ihex', segments, entry);
}

/**
 * Total data bytes of the type 00 records, hopping from record to record by their length bytes.
 * An estimate only: the parser checks everything and grows its buffer if a malformed file fooled this.
 */
function countDataBytes(bytes: Uint8Array): number {
  let total = 0;
  for (let p = 0; p + 9 <= bytes.length; ) {
    if (bytes[p] !== CH.COLON) {
      p++;
      continue;
    }
    const count = (NIBBLE[bytes[p + 1]!]! << 4) | NIBBLE[bytes[p + 2]!]!;
    const type = (NIBBLE[bytes[p + 7]!]! << 4) | NIBBLE[bytes[p + 8]!]!;
    if (count < 0 || type < 0) {
      p++;
      continue;
    }
    if (type === IHEX_RECORD.DATA) total += count;
    p += 11 + 2 * count;
  }
  return total;
}

export interface IntelHexOptions {
  /** Data bytes per record, 1..255; 16 like objcopy and srec_cat unless told. */
  recordLength?: number;
  /** Write only this memory, at its own addresses; default: all, AVR memories at their avr-gcc offsets. */
  memory?: string;
}

/** Writes Intel HEX with type 04 records as needed; records never cross a 64 KiB boundary. */
export function writeIntelHex(image: FirmwareImage, opts: IntelHexOptions = {}): Uint8Array {
  const recordLength = opts.recordLength ?? 16;
  if (!Number.isInteger(recordLength) || recordLength < 1 || recordLength > 255) {
    throw new RangeError(`recordLength must be 1..255, got ${recordLength}`);
  }
  const segments = flatSegments(image, opts.memory);
  const total = segments.reduce((t, s) => t + s.data.length, 0);
  const out = new ByteWriter(Math.ceil(total / recordLength) * (12 + 2 * recordLength) + 64);

  const record = (type: number, offset: number, data: Uint8Array, from: number, count: number) => {
    const buf = out.reserve(12 + 2 * count);
    let p = out.length;
    let sum = count + (offset >> 8) + (offset & 0xff) + type;
    buf[p++] = CH.COLON;
    p = put8(buf, p, count);
    p = put8(buf, p, offset >> 8);
    p = put8(buf, p, offset & 0xff);
    p = put8(buf, p, type);
    for (let i = from; i < from + count; i++) {
      const v = data[i]!;
      sum += v;
      p = put8(buf, p, v);
    }
    p = put8(buf, p, -sum & 0xff);
    buf[p++] = CH.LF;
    out.advance(p - out.length);
  };

  let upper = 0; // the ULBA in force; 0 until a type 04 says otherwise
  for (const seg of segments) {
    const end = seg.address + seg.data.length;
    if (end > MAX_ADDRESS) throw cannotWrite(FORMAT, `cannot address ${hex(end - 1, 8)} (above 4 GiB).`);
    let address = seg.address;
    while (address < end) {
      const hi = Math.floor(address / 0x10000);
      if (hi !== upper) {
        record(IHEX_RECORD.EXTENDED_LINEAR_ADDRESS, 0, new Uint8Array([hi >> 8, hi & 0xff]), 0, 2);
        upper = hi;
      }
      const count = Math.min(recordLength, end - address, 0x10000 - (address & 0xffff));
      record(IHEX_RECORD.DATA, address & 0xffff, seg.data, address - seg.address, count);
      address += count;
    }
  }
  if (image.entry !== undefined) {
    const e = image.entry >>> 0;
    record(IHEX_RECORD.START_LINEAR_ADDRESS, 0, new Uint8Array([e >>> 24, (e >> 16) & 0xff, (e >> 8) & 0xff, e & 0xff]), 0, 4);
  }
  record(IHEX_RECORD.END_OF_FILE, 0, new Uint8Array(0), 0, 0);
  return out.done();
}

function put8(buf: Uint8Array, p: number, v: number): number {
  buf[p] = HEX_DIGIT[(v >> 4) & 0xf]!;
  buf[p + 1] = HEX_DIGIT[v & 0xf]!;
  return p + 2;
}
