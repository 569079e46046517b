/**
 * Cross-checks of the image formats against the reference tools: srecord's srec_cat (Debian package
 * srecord) and GNU binutils (objcopy, avr-objcopy with avr-gcc). Random images go through our writers
 * into the tools and back, and files the tools write come through our readers, compared byte by byte.
 * The tools are required: a missing one fails the suite with the package to install.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc16Xmodem, crc16Ccitt } from '../../src/core/bytes/crc16';
import { crc32 } from '../../src/core/bytes/crc32';
import { parseElf } from '../../src/core/image/elf';
import { readImage, writeImage } from '../../src/core/image/index';
import { parseIntelHex, writeIntelHex } from '../../src/core/image/intel-hex';
import { createImage, flatten, span, type FirmwareImage, type Segment } from '../../src/core/image/memory-image';
import { parseSrec, writeSrec } from '../../src/core/image/srec';

const TOOLS: [string, string][] = [
  ['srec_cat', 'srecord'],
  ['objcopy', 'binutils'],
  ['gcc', 'gcc'],
  ['avr-gcc', 'gcc-avr'],
  ['avr-objcopy', 'binutils-avr'],
];

let dir = '';
const path = (name: string) => join(dir, name);
const run = (tool: string, args: string[]) => execFileSync(tool, args, { cwd: dir, maxBuffer: 1 << 28 });
const save = (name: string, bytes: Uint8Array) => writeFileSync(path(name), bytes);
const load = (name: string) => new Uint8Array(readFileSync(path(name)));

beforeAll(() => {
  const missing = TOOLS.filter(([tool]) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`]);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`Peer tools missing: ${missing.map(([t, pkg]) => `${t} (apt-get install ${pkg})`).join(', ')}.`);
  }
  dir = mkdtempSync(join(tmpdir(), 'webprog-peers-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** xorshift32, seeded so a failure reproduces. */
function makeRng(seed: number) {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, bytes: (n: number) => Uint8Array.from({ length: n }, () => int(0, 255)) };
}

/** Up to 8 separate segments below `limit`, some across 64 KiB boundaries. */
function randomImage(rng: ReturnType<typeof makeRng>, limit: number): FirmwareImage {
  const segments: Segment[] = [];
  let at = rng.int(0, 3) === 0 ? 0 : rng.int(0, limit / 4);
  for (let i = rng.int(1, 8); i > 0; i--) {
    const length = rng.int(1, 3000);
    if (at + length > limit) break;
    segments.push({ memory: 'flash', address: at, data: rng.bytes(length) });
    at += length + rng.int(1, rng.next() < 0.5 ? 500 : limit / 16);
  }
  return createImage('random', segments);
}

const shape = (img: FirmwareImage) => img.segments.map((s) => [s.memory, s.address, Buffer.from(s.data).toString('hex')]);

describe('srec_cat reads what we write', () => {
  it('Intel HEX at random record lengths converts to the same S-records image', () => {
    const rng = makeRng(11);
    for (let i = 0; i < 20; i++) {
      const img = randomImage(rng, 0x1_0000_0000);
      if (i % 2 === 0) img.entry = rng.int(0, 0xffffffff);
      save('ours.hex', writeIntelHex(img, { recordLength: rng.int(1, 255) }));
      run('srec_cat', ['ours.hex', '-intel', '-o', 'theirs.srec', '-motorola']);
      const back = parseSrec(load('theirs.srec'));
      expect(shape(back), `image ${i}`).toEqual(shape(img));
      expect(back.entry).toBe(img.entry);
    }
  });

  it('S-records at random record lengths convert to the same Intel HEX image', () => {
    const rng = makeRng(12);
    for (let i = 0; i < 20; i++) {
      const img = randomImage(rng, [0x10000, 0x1000000, 0x1_0000_0000][i % 3]!);
      img.entry = rng.int(0, 0xffff);
      save('ours.srec', writeSrec(img, { recordLength: rng.int(1, 250), header: `image ${i}` }));
      run('srec_cat', ['ours.srec', '-motorola', '-o', 'theirs.hex', '-intel']);
      const back = parseIntelHex(load('theirs.hex'));
      expect(shape(back), `image ${i}`).toEqual(shape(img));
      expect(back.entry).toBe(img.entry);
    }
  });
});

describe('we read what srec_cat writes', () => {
  const variants: { name: string; args: string[]; limit: number }[] = [
    { name: 'i8hex (16-bit)', args: ['-intel', '-address-length=2'], limit: 0x10000 },
    { name: 'i16hex (type 02 segments)', args: ['-intel', '-address-length=3'], limit: 0x100000 },
    { name: 'i32hex (type 04 linear)', args: ['-intel', '-address-length=4'], limit: 0x1_0000_0000 },
    { name: 'S19', args: ['-motorola', '-address-length=2'], limit: 0x10000 },
    { name: 'S28', args: ['-motorola', '-address-length=3'], limit: 0x1000000 },
    { name: 'S37', args: ['-motorola', '-address-length=4'], limit: 0x1_0000_0000 },
  ];
  for (const v of variants) {
    it(`${v.name} at random block sizes`, () => {
      const rng = makeRng(v.name.length * 101);
      for (let i = 0; i < 12; i++) {
        const img = randomImage(rng, v.limit);
        save('ours.hex', writeIntelHex(img));
        const obs = String(rng.int(1, 250));
        run('srec_cat', ['ours.hex', '-intel', '-o', 'theirs.txt', ...v.args, `-obs=${obs}`]);
        expect(shape(readImage(load('theirs.txt'))), `${v.name} image ${i}, -obs=${obs}`).toEqual(shape(img));
      }
    });
  }

  it('a start address as type 03 (segmented) and type 05 (linear)', () => {
    const img = createImage('t', [{ memory: 'flash', address: 0x100, data: new Uint8Array([1, 2, 3]) }]);
    save('ours.hex', writeIntelHex(img));
    run('srec_cat', ['ours.hex', '-intel', '-execution-start-address=0x12345', '-o', 'seg.hex', '-intel', '-address-length=3']);
    run('srec_cat', ['ours.hex', '-intel', '-execution-start-address=0x08000123', '-o', 'lin.hex', '-intel']);
    expect(Buffer.from(load('seg.hex')).toString()).toMatch(/^:04000003/m);
    // srec_cat stores 0x12345 as 0001:2345; the Intel spec reads a type 03 record as CS:IP, i.e.
    // 0x0001 * 16 + 0x2345 = 0x2355. We follow the spec, as binutils does:
    run('objcopy', ['-I', 'ihex', '-O', 'srec', 'seg.hex', 'seg.srec']);
    expect(parseSrec(load('seg.srec')).entry).toBe(0x2355);
    expect(parseIntelHex(load('seg.hex')).entry).toBe(0x2355);
    expect(parseIntelHex(load('lin.hex')).entry).toBe(0x08000123);
  });
});

describe('checksums agree with srec_cat', () => {
  it('CRC-32, CRC-16/XMODEM and CRC-16/CCITT-FALSE over random data', () => {
    const rng = makeRng(5);
    for (const n of [1, 9, 255, 4096, 100_000]) {
      const data = rng.bytes(n);
      save('data.bin', data);
      const tail = (filter: string[], width: number) =>
        load(((): string => {
          run('srec_cat', ['data.bin', '-binary', ...filter, '-crop', String(n), String(n + width), '-offset', String(-n), '-o', 'sum.bin', '-binary']);
          return 'sum.bin';
        })());
      expect(Buffer.from(tail(['-crc32-l-e', String(n)], 4)).readUInt32LE(0), `crc32 of ${n}`).toBe(crc32(data));
      expect(Buffer.from(tail(['-crc16-b-e', String(n), '-xmodem'], 2)).readUInt16BE(0), `xmodem of ${n}`).toBe(crc16Xmodem(data));
      // srecord calls the common non-augmented CCITT variant "broken".
      expect(Buffer.from(tail(['-crc16-b-e', String(n), '-broken'], 2)).readUInt16BE(0), `ccitt of ${n}`).toBe(crc16Ccitt(data));
    }
  });
});

describe('binutils agree', () => {
  it('objcopy turns our HEX and S-records into the same binary we write (gaps zero-filled)', () => {
    const rng = makeRng(21);
    for (let i = 0; i < 10; i++) {
      const img = randomImage(rng, 0x200000);
      save('ours.hex', writeImage(img, 'hex'));
      save('ours.srec', writeImage(img, 'srec'));
      run('objcopy', ['-I', 'ihex', '-O', 'binary', 'ours.hex', 'from-hex.bin']);
      run('objcopy', ['-I', 'srec', '-O', 'binary', 'ours.srec', 'from-srec.bin']);
      const ours = Buffer.from(writeImage(img, 'bin', { fill: 0 }));
      expect(ours.equals(load('from-hex.bin')), `image ${i} via hex`).toBe(true);
      expect(ours.equals(load('from-srec.bin')), `image ${i} via srec`).toBe(true);
    }
  });

  it('an avr-gcc ELF: flash, EEPROM, fuses, lock and signature match avr-objcopy section by section', () => {
    writeFileSync(
      path('blink.c'),
      [
        '#include <avr/io.h>',
        '#include <avr/eeprom.h>',
        '#include <avr/fuse.h>',
        '#include <avr/lock.h>',
        '#include <avr/signature.h>',
        'uint8_t EEMEM table[6] = {1, 2, 3, 4, 5, 6};',
        'FUSES = { .low = 0xFF, .high = 0xDE, .extended = 0xFD };',
        'LOCKBITS = 0xCF;',
        'volatile uint8_t counter = 5;',
        'const char banner[] = "webprog";',
        'int main(void) { DDRB = 0x20; for (;;) { PORTB ^= 0x20; counter += banner[counter & 7]; } }',
      ].join('\n'),
    );
    run('avr-gcc', ['-mmcu=atmega328p', '-Os', '-o', 'blink.elf', 'blink.c']);
    const img = parseElf(load('blink.elf'));
    expect(img.meta?.machine).toBe('AVR');

    const memoryVia = (args: string[]) => {
      run('avr-objcopy', ['-O', 'ihex', ...args, 'blink.elf', 'part.hex']);
      return shape(parseIntelHex(load('part.hex')));
    };
    const only = (memory: string) => shape({ ...img, segments: img.segments.filter((s) => s.memory === memory) }).map(([, a, d]) => ['flash', a, d]);
    expect(only('flash')).toEqual(memoryVia(['-j', '.text', '-j', '.data']));
    for (const [memory, section] of [
      ['eeprom', '.eeprom'],
      ['fuse', '.fuse'],
      ['lock', '.lock'],
      ['signature', '.signature'],
    ] as const) {
      expect(only(memory), memory).toEqual(memoryVia(['-j', section, `--change-section-lma`, `${section}=0`]));
    }
    // The whole file as one flat HEX (AVR memories at their avr-gcc offsets) matches avr-objcopy's.
    expect(shape(parseIntelHex(writeImage(img, 'hex')))).toEqual(memoryVia([]));
    expect(span(img, 'fuse')).toEqual([0, 3]);
    expect(flatten(img, 'fuse', 0, 3)).toEqual(new Uint8Array([0xff, 0xde, 0xfd]));
  });

  it('a host gcc ELF64: every byte objcopy emits is what we load at that address', () => {
    writeFileSync(path('host.c'), 'const char msg[] = "peer"; int main(void) { return msg[0]; }\n');
    run('gcc', ['-O1', '-o', 'host', 'host.c']);
    const img = parseElf(load('host'));
    expect(img.meta).toMatchObject({ class: 'ELF64', endian: 'little' });
    run('objcopy', ['-O', 'ihex', 'host', 'host.hex']);
    const theirs = parseIntelHex(load('host.hex'));
    expect(theirs.segments.length).toBeGreaterThan(0);
    for (const s of theirs.segments) {
      // objcopy works from sections, we from PT_LOAD segments, which also carry headers and padding:
      // theirs must be contained in ours, byte for byte.
      const ours = img.segments.find((o) => o.address <= s.address && s.address + s.data.length <= o.address + o.data.length);
      expect(ours, `objcopy's ${s.data.length} bytes at ${s.address} are in one of our segments`).toBeDefined();
      const slice = ours!.data.subarray(s.address - ours!.address, s.address - ours!.address + s.data.length);
      expect(Buffer.from(slice).equals(Buffer.from(s.data)), `bytes at ${s.address}`).toBe(true);
    }
  });
});
