import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { parseIntelHex, writeIntelHex } from './intel-hex';
import { createImage, type FirmwareImage } from './memory-image';

const ascii = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** One record, checksum computed here independently of the writer. */
function rec(type: number, offset: number, data: number[] = []): string {
  const body = [data.length, offset >> 8, offset & 0xff, type, ...data];
  const sum = body.reduce((a, b) => a + b, 0);
  return ':' + [...body, -sum & 0xff].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}
const EOF = ':00000001FF';

function rejects(src: string): FlashError {
  try {
    parseIntelHex(ascii(src));
  } catch (e) {
    expect(e).toBeInstanceOf(FlashError);
    expect((e as FlashError).code).toBe('bad-image');
    return e as FlashError;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseIntelHex', () => {
  it('reads data records with LF, CRLF, lower case and blank lines', () => {
    for (const eol of ['\n', '\r\n']) {
      const src = [rec(0, 0x100, [1, 2, 3]), '', rec(0, 0x103, [4]).toLowerCase(), EOF, ''].join(eol);
      const img = parseIntelHex(ascii(src));
      expect(img.format).toBe('ihex');
      expect(img.segments).toEqual([{ memory: 'flash', address: 0x100, data: new Uint8Array([1, 2, 3, 4]) }]);
    }
  });

  it('reads a known avr-objcopy style file', () => {
    const src = ':100000000C9434000C943E000C943E000C943E0082\n:00000001FF\n';
    const img = parseIntelHex(ascii(src));
    expect(img.segments[0]!.data).toEqual(
      new Uint8Array([0x0c, 0x94, 0x34, 0x00, 0x0c, 0x94, 0x3e, 0x00, 0x0c, 0x94, 0x3e, 0x00, 0x0c, 0x94, 0x3e, 0x00]),
    );
  });

  it('applies extended linear addresses (type 04) and start linear address (type 05)', () => {
    const src = [rec(4, 0, [0x08, 0x00]), rec(0, 0xfffe, [0xaa, 0xbb, 0xcc]), rec(5, 0, [0x08, 0x00, 0x01, 0x23]), EOF].join('\n');
    const img = parseIntelHex(ascii(src));
    // Linear mode does not wrap at 64 KiB: the third byte lands at 0x08010000.
    expect(img.segments).toEqual([{ memory: 'flash', address: 0x0800fffe, data: new Uint8Array([0xaa, 0xbb, 0xcc]) }]);
    expect(img.entry).toBe(0x08000123);
  });

  it('applies extended segment addresses (type 02), wrapping inside the segment, and type 03 entry', () => {
    const src = [rec(2, 0, [0x10, 0x00]), rec(0, 0xffff, [1, 2]), rec(3, 0, [0x12, 0x34, 0x00, 0x10]), EOF].join('\n');
    const img = parseIntelHex(ascii(src));
    expect(img.segments).toEqual([
      { memory: 'flash', address: 0x10000, data: new Uint8Array([2]) },
      { memory: 'flash', address: 0x1ffff, data: new Uint8Array([1]) },
    ]);
    expect(img.entry).toBe(0x12340 + 0x10);
  });

  it('accepts any record length, including 255 and empty data records', () => {
    const big = Array.from({ length: 255 }, (_, i) => i);
    const img = parseIntelHex(ascii([rec(0, 0, []), rec(0, 0, big), EOF].join('\n')));
    expect(img.segments[0]!.data).toEqual(new Uint8Array(big));
  });

  it('merges out-of-order and equal overlapping records', () => {
    const src = [rec(0, 0x10, [3, 4]), rec(0, 0x0e, [1, 2]), rec(0, 0x0f, [2, 3]), EOF].join('\n');
    expect(parseIntelHex(ascii(src)).segments).toEqual([{ memory: 'flash', address: 0x0e, data: new Uint8Array([1, 2, 3, 4]) }]);
  });

  it('names both lines when records disagree about a byte', () => {
    const err = rejects([rec(0, 0x10, [1, 2]), rec(0, 0x20, [9]), rec(0, 0x11, [7]), EOF].join('\n'));
    expect(err.message).toContain('0x0011');
    expect(err.message).toContain('line 1');
    expect(err.message).toContain('line 3');
  });

  it('ignores a UTF-8 BOM, trailing blanks and DOS ^Z padding after the end record', () => {
    const img = parseIntelHex(ascii('\ufeff' + rec(0, 0, [5]) + '  \n' + EOF + '\r\n\x1a'));
    expect(img.segments[0]!.data).toEqual(new Uint8Array([5]));
  });

  it('rejects a bad checksum with the line and the expected value', () => {
    const good = rec(0, 0, [1, 2, 3]);
    const bad = good.slice(0, -2) + (good.endsWith('00') ? '01' : '00');
    const err = rejects([rec(0, 0x40, [0]), bad, EOF].join('\n'));
    expect(err.message).toMatch(/line 2: checksum is 0x0[01], expected 0xF7/);
    expect(err.details).toMatchObject({ line: 2, expected: 0xf7 });
  });

  it('rejects a non-hex character naming line and column', () => {
    const err = rejects([rec(0, 0, [1]), ':01000000G1FE', EOF].join('\n'));
    expect(err.message).toContain('line 2');
    expect(err.message).toContain("column 10, found 'G'");
  });

  it.each([
    ['no end record', rec(0, 0, [1]) + '\n', /no end-of-file record/],
    ['a cut-short record', ':0400000001', /cut short/],
    ['a record longer than its length byte', rec(0, 0, [1]) + '00\n' + EOF, /expected the end of the line/],
    ['text that is not a record', 'hello\n' + EOF, /line 1: expected a record starting with ':'/],
    ['an unknown record type', rec(6, 0, []) + '\n' + EOF, /unknown record type 0x06/],
    ['a type 04 with 4 data bytes', rec(4, 0, [0, 0, 0, 0]) + '\n' + EOF, /carries 2 data bytes, this one says 4/],
    ['a record after the end record', EOF + '\n' + rec(0, 0, [1]), /line 2: found ':' after the end-of-file record/],
  ])('rejects %s', (_name, src, message) => {
    expect(rejects(src).message).toMatch(message);
  });
});

describe('writeIntelHex', () => {
  it('writes the expected text for a small image', () => {
    const img = createImage('test', [{ memory: 'flash', address: 0x100, data: new Uint8Array([1, 2, 3]) }]);
    expect(text(writeIntelHex(img))).toBe(`${rec(0, 0x100, [1, 2, 3])}\n${EOF}\n`);
  });

  it('emits type 04 records, splits at 64 KiB and writes the entry as type 05', () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => i);
    const img: FirmwareImage = { ...createImage('t', [{ memory: 'flash', address: 0x0800fff0, data }]), entry: 0x08000101 };
    const lines = text(writeIntelHex(img, { recordLength: 32 })).trim().split('\n');
    expect(lines).toEqual([
      rec(4, 0, [0x08, 0x00]),
      rec(0, 0xfff0, [...data.subarray(0, 16)]),
      rec(4, 0, [0x08, 0x01]),
      rec(0, 0, [...data.subarray(16, 40)]),
      rec(5, 0, [0x08, 0x00, 0x01, 0x01]),
      EOF,
    ]);
  });

  it('round-trips at every record length, AVR memories at their avr-gcc offsets', () => {
    const img = createImage('t', [
      { memory: 'flash', address: 0, data: Uint8Array.from({ length: 700 }, (_, i) => i * 7) },
      { memory: 'flash', address: 0x1fff0, data: Uint8Array.from({ length: 300 }, (_, i) => i ^ 0x5a) },
      { memory: 'eeprom', address: 0x10, data: new Uint8Array([1, 2, 3]) },
    ]);
    for (const recordLength of [1, 16, 32, 255]) {
      const back = parseIntelHex(writeIntelHex(img, { recordLength }));
      expect(back.segments.map((s) => [s.address, s.data])).toEqual([
        [0, img.segments[1]!.data],
        [0x1fff0, img.segments[2]!.data],
        [0x810010, img.segments[0]!.data],
      ]);
    }
    const eepromOnly = parseIntelHex(writeIntelHex(img, { memory: 'eeprom' }));
    expect(eepromOnly.segments).toEqual([{ memory: 'flash', address: 0x10, data: new Uint8Array([1, 2, 3]) }]);
  });
});
