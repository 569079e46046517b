import { describe, expect, it } from 'vitest';
import type { ImageSummary } from '../shared/api';
import { layoutMarks, mapRows, metaFacts, segmentRanges } from './inspector-layout';

const summary = (segments: ImageSummary['segments']): ImageSummary => ({
  name: 'x.hex',
  fileSize: 0,
  fileSha256: '',
  format: 'ihex',
  segments,
  totalBytes: segments.reduce((n, s) => n + s.length, 0),
  imageSha256: '',
  crc32: '',
});

const UNO = [
  { name: 'eeprom', base: 0, size: 1024, pageSize: 4 },
  { name: 'flash', base: 0, size: 32768, pageSize: 128 },
];

describe('memory map rows', () => {
  it("draws the part's memories to scale, flash first, empty ones too", () => {
    const rows = mapRows(UNO, [summary([{ memory: 'flash', address: 0, length: 4096 }])]);
    expect(rows).toEqual([
      { memory: 'flash', start: 0, end: 32768, part: { base: 0, size: 32768 }, outside: 0 },
      { memory: 'eeprom', start: 0, end: 1024, part: { base: 0, size: 1024 }, outside: 0 },
    ]);
  });

  it('widens the bar and counts the bytes that do not fit the part', () => {
    const img = summary([{ memory: 'flash', address: 32000, length: 1000 }]);
    const [flash] = mapRows(UNO, [img]);
    expect(flash).toMatchObject({ start: 0, end: 33000, outside: 232 });
  });

  it('uses the images\' extent without a part, and for memories the part lacks', () => {
    const a = summary([
      { memory: 'flash', address: 0x0800_0000, length: 0x100 },
      { memory: 'fuse', address: 0, length: 3 },
    ]);
    const b = summary([{ memory: 'flash', address: 0x0800_1000, length: 0x10 }]);
    expect(mapRows(null, [a, b])).toEqual([
      { memory: 'flash', start: 0x0800_0000, end: 0x0800_1010, part: null, outside: 0 },
      { memory: 'fuse', start: 0, end: 3, part: null, outside: 0 },
    ]);
    expect(mapRows(UNO, [a]).map((r) => r.memory)).toEqual(['flash', 'eeprom', 'fuse']);
    expect(mapRows(null, [null])).toEqual([]);
  });
});

describe('marks on a bar', () => {
  it('places ranges as percentages of the bar', () => {
    const marks = layoutMarks([{ start: 0, end: 250 }, { start: 500, end: 1000 }], 0, 1000);
    expect(marks.map((m) => [m.left, m.width, m.items.length])).toEqual([
      [0, 25, 1],
      [50, 50, 1],
    ]);
  });

  it('draws ranges too close to tell apart as one mark, keeping every item', () => {
    const ranges = Array.from({ length: 1000 }, (_, i) => ({ start: i * 10, end: i * 10 + 1 }));
    const marks = layoutMarks(ranges, 0, 1 << 20);
    expect(marks.length).toBe(1);
    expect(marks[0]!.items.length).toBe(1000);
    expect(marks[0]).toMatchObject({ start: 0, end: 9991 });
    expect(layoutMarks(ranges, 0, 10_000, 1 / 10_000).length).toBe(1000);
  });

  it('clips marks to the bar', () => {
    const [m] = layoutMarks([{ start: -100, end: 100 }], 0, 200);
    expect(m).toMatchObject({ left: 0, width: 50 });
  });

  it('lists one memory\'s segments with their index in the summary', () => {
    const s = summary([
      { memory: 'eeprom', address: 0, length: 4 },
      { memory: 'flash', address: 16, length: 16 },
    ]);
    expect(segmentRanges(s, 'flash')).toEqual([{ start: 16, end: 32, index: 1 }]);
  });
});

describe('format facts', () => {
  it('names what the readers put in meta, IDs in hex', () => {
    expect(metaFacts({ familyId: 0xe48bff56, family: 'RP2040' })).toEqual([
      { label: 'UF2 family ID', value: '0xE48BFF56' },
      { label: 'UF2 family', value: 'RP2040' },
    ]);
    expect(metaFacts({ idVendor: 0x483, targets: 2, 'flash.name': 'ST...', hashAppended: true, segment0: '0x3F400020 +64', odd: 1 })).toEqual([
      { label: 'USB vendor ID', value: '0x0483' },
      { label: 'DfuSe targets', value: '2' },
      { label: 'DfuSe target name (flash)', value: 'ST...' },
      { label: 'SHA-256 appended', value: 'yes' },
      { label: 'ESP segment 0 (load address +size)', value: '0x3F400020 +64' },
      { label: 'odd', value: '1' },
    ]);
    expect(metaFacts(undefined)).toEqual([]);
  });
});
