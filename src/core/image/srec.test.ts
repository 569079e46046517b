import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { createImage } from './memory-image';
import { parseSrec, writeSrec } from './srec';

const ascii = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** One record with the count and ones'-complement checksum computed here, independently of the writer. */
function rec(type: number, address: number, data: number[] = []): string {
  const width = [2, 2, 3, 4, 0, 2, 3, 4, 3, 2][type]!;
  const addr = Array.from({ length: width }, (_, i) => Math.floor(address / 256 ** (width - 1 - i)) & 0xff);
  const body = [width + data.length + 1, ...addr, ...data];
  const sum = body.reduce((a, b) => a + b, 0);
  return `S${type}` + [...body, ~sum & 0xff].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}

function rejects(src: string): FlashError {
  try {
    parseSrec(ascii(src));
  } catch (e) {
    expect(e).toBeInstanceOf(FlashError);
    return e as FlashError;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseSrec', () => {
  it('reads S1/S2/S3 data, the S0 header, the S5 count and the S9 entry', () => {
    const src = [
      rec(0, 0, [...ascii('blinky')]),
      rec(1, 0x0100, [1, 2]),
      rec(2, 0x010000, [3]),
      rec(3, 0x08000000, [4, 5]),
      rec(5, 3),
      rec(9, 0x0100),
      '',
    ].join('\r\n');
    const img = parseSrec(ascii(src));
    expect(img.segments).toEqual([
      { memory: 'flash', address: 0x100, data: new Uint8Array([1, 2]) },
      { memory: 'flash', address: 0x10000, data: new Uint8Array([3]) },
      { memory: 'flash', address: 0x08000000, data: new Uint8Array([4, 5]) },
    ]);
    expect(img.entry).toBe(0x100);
    expect(img.meta).toEqual({ header: 'blinky' });
  });

  it('reads a file as srec_cat writes it', () => {
    // Output of `srec_cat -generate 0 4 -constant 0xAB -o -` (srecord 1.64): without a start address it
    // writes no termination record, only the S5 count.
    const src = 'S0220000687474703A2F2F737265636F72642E736F75726365666F7267652E6E65742F1D\nS1070000ABABABAB4C\nS5030001FB\n';
    const img = parseSrec(ascii(src));
    expect(img.segments).toEqual([{ memory: 'flash', address: 0, data: new Uint8Array([0xab, 0xab, 0xab, 0xab]) }]);
    expect(img.entry).toBeUndefined();
  });

  it('accepts S6 counts and S7/S8 terminations', () => {
    expect(parseSrec(ascii([rec(2, 0x123456, [9]), rec(6, 1), rec(8, 0x123456)].join('\n'))).entry).toBe(0x123456);
    expect(parseSrec(ascii([rec(3, 0x10000000, [9]), rec(7, 0x10000001)].join('\n'))).entry).toBe(0x10000001);
  });

  it.each([
    ['a bad checksum', rec(1, 0, [1]).slice(0, -2) + '00\n' + rec(9, 0), /line 1: checksum is 0x00, expected 0xFA/],
    ['neither termination nor count at the end', rec(1, 0, [1]) + '\n', /no termination record .* and no record count/],
    ['data after the last count', [rec(1, 0, [1]), rec(5, 1), rec(1, 1, [2])].join('\n'), /no termination record/],
    ['an S4 record', rec(1, 0, [1]).replace('S1', 'S4') + '\n' + rec(9, 0), /S4 records are reserved/],
    ['a wrong S5 count', [rec(1, 0, [1]), rec(5, 2), rec(9, 0)].join('\n'), /line 2: the S5 record counts 2 data records, but 1 came before it/],
    ['a count too small for the address', 'S1020000FD\n' + rec(9, 0), /needs at least 3/],
    ['a cut-short record', 'S10500', /cut short/],
    ['a non-hex digit', 'S1040000Z1FA\n' + rec(9, 0), /line 1: expected a hex digit at column 9, found 'Z'/],
    ['a record after the end', rec(9, 0) + '\n' + rec(1, 0, [1]), /line 2: found 'S' after the termination record/],
    ['an unknown line', 'hello\n' + rec(9, 0), /line 1: expected a record starting with 'S'/],
    ['conflicting records', [rec(1, 0, [1]), rec(1, 0, [2]), rec(9, 0)].join('\n'), /0x01 \(line 1\) and 0x02 \(line 2\)/],
  ])('rejects %s', (_name, src, message) => {
    expect(rejects(src).message).toMatch(message);
  });
});

describe('writeSrec', () => {
  it('writes S0, S1, S5 and S9 for a 16-bit image', () => {
    const img = { ...createImage('t', [{ memory: 'flash', address: 0x100, data: new Uint8Array([1, 2, 3]) }]), entry: 0x100 };
    expect(text(writeSrec(img, { header: 'HDR' })).trim().split('\n')).toEqual([
      rec(0, 0, [...ascii('HDR')]),
      rec(1, 0x100, [1, 2, 3]),
      rec(5, 1),
      rec(9, 0x100),
    ]);
  });

  it('picks S2/S8 and S3/S7 by the highest address', () => {
    const at = (address: number) => createImage('t', [{ memory: 'flash', address, data: new Uint8Array([7]) }]);
    expect(text(writeSrec(at(0xffff)))).toMatch(/^S1.*\nS5.*\nS9/m);
    expect(text(writeSrec(at(0x10000)))).toContain(rec(2, 0x10000, [7]));
    expect(text(writeSrec(at(0x10000)))).toContain(rec(8, 0));
    expect(text(writeSrec(at(0x08000000)))).toContain(rec(7, 0));
  });

  it('round-trips at several record lengths', () => {
    const img = createImage('t', [
      { memory: 'flash', address: 0x0800_0000, data: Uint8Array.from({ length: 1000 }, (_, i) => i * 13) },
      { memory: 'flash', address: 0x0800_2000, data: new Uint8Array([1, 2, 3]) },
    ]);
    for (const recordLength of [1, 16, 32, 250]) {
      expect(parseSrec(writeSrec(img, { recordLength })).segments).toEqual(img.segments);
    }
  });
});
