import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { buildElf, buildEspImage } from '../../../tests/support/image-fixtures';
import { createImage, describeImage, detectFormat, readImage, writeDfuse, writeImage } from './index';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('readImage', () => {
  it('detects Intel HEX from content whatever the name', () => {
    const img = readImage(ascii('\r\n:03001000010203E7\n:00000001FF\n'), { name: 'firmware.bin' });
    expect(img.format).toBe('ihex');
    expect(img.segments[0]).toMatchObject({ address: 0x10, data: new Uint8Array([1, 2, 3]) });
  });

  it('reads anything unrecognised as a raw binary at the base address', () => {
    const img = readImage(new Uint8Array([0x00, 0x50, 0x00, 0x20]), { baseAddress: 0x08000000 });
    expect(img).toEqual({ format: 'bin', segments: [{ memory: 'flash', address: 0x08000000, data: new Uint8Array([0, 0x50, 0, 0x20]) }] });
    expect(readImage(new Uint8Array([7])).segments[0]!.address).toBe(0);
  });

  it('sends a damaged .hex to the HEX parser so the error says what is wrong', () => {
    expect(detectFormat(ascii('garbage'), 'app.HEX')).toBe('ihex');
    expect(() => readImage(ascii('garbage\n'), { name: 'app.hex' })).toThrow(/line 1: expected a record starting with ':'/);
    expect(() => readImage(ascii('garbage\n'), { name: 'app.hex' })).toThrow(FlashError);
  });
});

describe('format detection by content', () => {
  const img = createImage('t', [{ memory: 'flash', address: 0x10000000, data: Uint8Array.from({ length: 300 }, (_, i) => i) }]);
  const esp = buildEspImage({ chipId: 9, segments: [{ address: 0x3fc88000, data: new Uint8Array(8) }] });
  it.each([
    ['ihex', writeImage(img, 'hex')],
    ['srec', writeImage(img, 'srec')],
    ['uf2', writeImage(img, 'uf2')],
    ['dfuse', writeDfuse(img)],
    ['elf', buildElf({ loads: [{ paddr: 0x10000000, data: img.segments[0]!.data }] })],
  ])('%s, whatever the file is called', (format, bytes) => {
    const back = readImage(bytes, { name: 'firmware.bin' });
    expect(back.format).toBe(format);
    // UF2 pads to whole 256-byte pages; everything else is exact.
    expect(back.segments.length).toBe(1);
    expect(back.segments[0]!.address).toBe(0x10000000);
    expect(back.segments[0]!.data.subarray(0, 300)).toEqual(img.segments[0]!.data);
  });

  it('esp images and plain DFU files', () => {
    expect(readImage(esp, { baseAddress: 0x10000 }).format).toBe('esp');
    expect(readImage(esp, { name: 'x.bin', baseAddress: 0x10000 }).meta?.chip).toBe('ESP32-S3');
    const noSuffix = writeDfuse(img).slice(0, -16);
    expect(() => readImage(noSuffix, { name: 'x.dfu' })).toThrow(/expected the DFU suffix/);
  });

  it('an extension hint sends an unrecognisable file to that parser for a precise error', () => {
    expect(() => readImage(new Uint8Array(10), { name: 'x.uf2' })).toThrow(/UF2 offset 0x0: the file is 10 bytes/);
    expect(() => readImage(new Uint8Array(10), { name: 'x.elf' })).toThrow(/ELF offset 0x0: expected the ELF magic/);
    expect(() => readImage(new TextEncoder().encode('S1zz\n'), { name: 'x.s19' })).toThrow(/S-record line 1/);
  });
});

describe('writeImage', () => {
  const img = createImage('t', [
    { memory: 'flash', address: 0x100, data: new Uint8Array([1, 2]) },
    { memory: 'flash', address: 0x104, data: new Uint8Array([3]) },
  ]);

  it('writes a bin from the lowest to the highest address, holes filled', () => {
    expect(writeImage(img, 'bin')).toEqual(new Uint8Array([1, 2, 0xff, 0xff, 3]));
    expect(writeImage(img, 'bin', { fill: 0 })).toEqual(new Uint8Array([1, 2, 0, 0, 3]));
  });

  it('asks which memory when there are several and none is flash', () => {
    const two = createImage('t', [
      { memory: 'alt0', address: 0, data: new Uint8Array([1]) },
      { memory: 'alt1', address: 0, data: new Uint8Array([2]) },
    ]);
    expect(() => writeImage(two, 'bin')).toThrow(/several memories \(alt0, alt1\)/);
    expect(writeImage(two, 'bin', { memory: 'alt1' })).toEqual(new Uint8Array([2]));
    expect(() => writeImage(two, 'bin', { memory: 'eeprom' })).toThrow(/no 'eeprom' memory/);
  });

  it('writes hex that reads back to the same image', () => {
    expect(readImage(writeImage(img, 'hex')).segments).toEqual(img.segments);
  });
});

describe('describeImage', () => {
  it('summarises segments with CRC-32 and SHA-256 of the data', () => {
    const img = createImage('ihex', [{ memory: 'flash', address: 0x8000, data: ascii('123456789') }]);
    expect(describeImage(img)).toEqual({
      format: 'ihex',
      segments: [{ memory: 'flash', address: 0x8000, length: 9 }],
      totalBytes: 9,
      crc32: 'cbf43926',
      sha256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
    });
  });
});
