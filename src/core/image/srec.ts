import { badImage, ByteWriter, cannotWrite, CH, NIBBLE, showChar } from './ascii';
import { flatSegments } from './flat-address';
import { createImage, DEFAULT_MEMORY, hex, type FirmwareImage, type Segment } from './memory-image';

/**
 * Address bytes per record type, from the Motorola S-record format (M68000 Family Programmer's Reference
 * Manual, appendix C; srec(5)). null: the type carries no address (S4 is reserved).
 */
export const SREC_ADDRESS_BYTES = [2, 2, 3, 4, null, 2, 3, 4, 3, 2] as const;

const FORMAT = 'S-record';

/**
 * Parses Motorola S-records straight from bytes.
 *
 * Strict where leniency would hide damage: every checksum is checked, an S5/S6 count must match the data
 * records before it, and the file must end with a termination record (S7/S8/S9) or, as srec_cat writes
 * files without a start address, with a matching count; otherwise a cut-short file would look complete.
 */
export function parseSrec(bytes: Uint8Array): FirmwareImage {
  const n = bytes.length;
  const segments: Segment[] = [];
  let line = 1;
  let lineStart = 0;
  let pos = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // a UTF-8 BOM from an editor
  let dataRecords = 0;
  let entry: number | undefined;
  let header: string | undefined;
  let ended = false;
  let countedLast = false; // the last record so far is an S5/S6 count that matched
  let run: { address: number; chunks: Uint8Array[]; length: number; line: number } | null = null;

  const fail = (message: string, details: Record<string, string | number> = {}) =>
    badImage(FORMAT, `line ${line}`, message, { line, column: pos - lineStart + 1, ...details });
  const byteAt = (p: number): number => {
    const hi = NIBBLE[bytes[p]!]!;
    const lo = NIBBLE[bytes[p + 1]!]!;
    if ((hi | lo) < 0) {
      pos = hi < 0 ? p : p + 1;
      throw fail(`expected a hex digit at column ${pos - lineStart + 1}, found ${showChar(bytes[pos])}.`);
    }
    return (hi << 4) | lo;
  };
  const closeRun = () => {
    if (run === null) return;
    const data = new Uint8Array(run.length);
    let at = 0;
    for (const c of run.chunks) {
      data.set(c, at);
      at += c.length;
    }
    segments.push({ memory: DEFAULT_MEMORY, address: run.address, data, origin: `line ${run.line}` });
    run = null;
  };

  while (pos < n) {
    const c = bytes[pos]!;
    if (c === CH.LF || c === CH.CR) {
      pos += c === CH.CR && bytes[pos + 1] === CH.LF ? 2 : 1;
      line++;
      lineStart = pos;
      continue;
    }
    if (c === CH.SPACE || c === CH.TAB || (ended && (c === 0 || c === CH.SUB))) {
      pos++;
      continue;
    }
    if (ended) throw fail(`found ${showChar(c)} after the termination record; expected nothing more.`);
    if (c !== CH.S && c !== CH.s) throw fail(`expected a record starting with 'S', found ${showChar(c)}.`);

    const type = (bytes[pos + 1] ?? 0) - 0x30;
    const addressBytes = type >= 0 && type <= 9 ? SREC_ADDRESS_BYTES[type] : undefined;
    if (addressBytes === undefined) {
      pos++;
      throw fail(`expected a record type digit after 'S', found ${showChar(bytes[pos])}.`);
    }
    if (addressBytes === null) throw fail('S4 records are reserved; expected S0-S3 or S5-S9.');
    pos += 2;
    if (pos + 2 > n) throw fail('the record is cut short after its type.');
    const count = byteAt(pos);
    if (count < addressBytes + 1) {
      throw fail(`the byte count is ${count}, but an S${type} record needs at least ${addressBytes + 1} (address and checksum).`);
    }
    const end = pos + 2 + 2 * count;
    if (end > n) throw fail(`the record is cut short: its byte count says ${count} bytes.`);
    let sum = count;
    let address = 0;
    for (let i = 0; i < addressBytes; i++) {
      const b = byteAt(pos + 2 + 2 * i);
      sum += b;
      address = address * 256 + b;
    }
    const dataAt = pos + 2 + 2 * addressBytes;
    const dataLength = count - addressBytes - 1;
    const data = new Uint8Array(dataLength);
    for (let i = 0, p = dataAt; i < dataLength; i++, p += 2) {
      const hi = NIBBLE[bytes[p]!]!;
      const lo = NIBBLE[bytes[p + 1]!]!;
      if ((hi | lo) < 0) byteAt(p);
      const v = (hi << 4) | lo;
      data[i] = v;
      sum += v;
    }
    const checksum = byteAt(end - 2);
    const expected = ~sum & 0xff; // ones' complement of the byte sum
    if (checksum !== expected) throw fail(`checksum is ${hex(checksum, 2)}, expected ${hex(expected, 2)}.`, { expected, actual: checksum });

    countedLast = type === 5 || type === 6;
    switch (type) {
      case 0:
        header = String.fromCharCode(...data.filter((b) => b >= 0x20 && b < 0x7f));
        break;
      case 1:
      case 2:
      case 3:
        dataRecords++;
        if (dataLength === 0) break;
        if (run === null || run.address + run.length !== address) {
          closeRun();
          run = { address, chunks: [], length: 0, line };
        }
        run.chunks.push(data);
        run.length += dataLength;
        break;
      case 5:
      case 6:
        if (address !== dataRecords) {
          throw fail(`the S${type} record counts ${address} data records, but ${dataRecords} came before it.`, {
            expected: dataRecords,
            actual: address,
          });
        }
        break;
      default: // 7, 8, 9: termination, the address field is the start address
        entry = address;
        ended = true;
    }
    pos = end;
    while (pos < n && (bytes[pos] === CH.SPACE || bytes[pos] === CH.TAB)) pos++;
    if (pos < n && bytes[pos] !== CH.LF && bytes[pos] !== CH.CR) {
      throw fail(`expected the end of the line after ${count} counted bytes, found ${showChar(bytes[pos])}.`);
    }
  }
  if (!ended && !countedLast) {
    throw badImage(FORMAT, `line ${line}`, 'no termination record (S7, S8 or S9) and no record count (S5/S6) at the end: the file is cut short.', {
      line,
    });
  }
  closeRun();
  const image = createImage('srec', segments, entry);
  if (header) image.meta = { header };
  return image;
}

export interface SrecOptions {
  /** Data bytes per record, 1..250; 32 unless told. */
  recordLength?: number;
  /** Write only this memory at its own addresses; default: all, AVR memories at their avr-gcc offsets. */
  memory?: string;
  /** Text for the S0 header record. */
  header?: string;
}

/**
 * Writes S-records using the narrowest address width that fits the image (S1/S9, S2/S8 or S3/S7),
 * with an S5/S6 record count when it fits in 24 bits.
 */
export function writeSrec(image: FirmwareImage, opts: SrecOptions = {}): Uint8Array {
  const recordLength = opts.recordLength ?? 32;
  if (!Number.isInteger(recordLength) || recordLength < 1 || recordLength > 250) {
    throw new RangeError(`recordLength must be 1..250, got ${recordLength}`);
  }
  const segments = flatSegments(image, opts.memory);
  const top = Math.max(image.entry ?? 0, ...segments.map((s) => s.address + s.data.length - 1));
  if (top > 0xffffffff) throw cannotWrite(FORMAT, `cannot address ${hex(top, 8)} (above 4 GiB).`);
  const width = top <= 0xffff ? 2 : top <= 0xffffff ? 3 : 4;
  const dataType = width - 1; // S1, S2, S3
  const endType = 11 - width; // S9, S8, S7

  const out = new ByteWriter(segments.reduce((t, s) => t + s.data.length, 0) * 2.5 + 256);
  const record = (type: number, address: number, addressBytes: number, data: Uint8Array) => {
    const count = addressBytes + data.length + 1;
    let sum = count;
    out.byte(CH.S);
    out.byte(0x30 + type);
    out.hex8(count);
    for (let i = addressBytes - 1; i >= 0; i--) {
      const b = Math.floor(address / 256 ** i) & 0xff;
      sum += b;
      out.hex8(b);
    }
    for (const b of data) {
      sum += b;
      out.hex8(b);
    }
    out.hex8(~sum & 0xff);
    out.byte(CH.LF);
  };

  record(0, 0, 2, Uint8Array.from(opts.header ?? '', (ch) => ch.charCodeAt(0) & 0x7f));
  let records = 0;
  for (const seg of segments) {
    for (let at = 0; at < seg.data.length; at += recordLength) {
      record(dataType, seg.address + at, width, seg.data.subarray(at, at + recordLength));
      records++;
    }
  }
  if (records <= 0xffff) record(5, records, 2, new Uint8Array(0));
  else if (records <= 0xffffff) record(6, records, 3, new Uint8Array(0));
  record(endType, image.entry ?? 0, width, new Uint8Array(0));
  return out.done();
}
