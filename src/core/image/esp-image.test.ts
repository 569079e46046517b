import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { buildEspImage } from '../../../tests/support/image-fixtures';
import { parseEspImage } from './esp-image';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const segs = [
  { address: 0x3f400020, data: Uint8Array.from({ length: 37 }, (_, i) => i) },
  { address: 0x40080000, data: Uint8Array.from({ length: 64 }, (_, i) => 255 - i) },
];

describe('parseEspImage', () => {
  it('recognises an ESP32-C3 app image with an appended SHA-256 and summarises its segments', () => {
    const file = buildEspImage({ chipId: 5, entry: 0x40380000, segments: segs, sha256: sha });
    const img = parseEspImage(file, 0x10000)!;
    expect(img.format).toBe('esp');
    expect(img.segments).toEqual([{ memory: 'flash', address: 0x10000, data: file }]);
    expect(img.entry).toBe(0x40380000);
    expect(img.meta).toMatchObject({
      chip: 'ESP32-C3',
      flashMode: 'DIO',
      segmentCount: 2,
      segment0: '0x3F400020 +37',
      segment1: '0x40080000 +64',
      hashAppended: true,
      imageLength: file.length,
    });
  });

  it('recognises an ESP8266 image (no extended header) and notes trailing data', () => {
    const file = buildEspImage({ chipId: null, entry: 0x40100000, segments: segs });
    const merged = new Uint8Array(file.length + 100);
    merged.set(file);
    expect(parseEspImage(merged)!.meta).toMatchObject({ chip: 'ESP8266', trailingBytes: 100 });
  });

  it('returns null for a binary that merely starts with 0xE9', () => {
    expect(parseEspImage(new Uint8Array([0xe9, 0x00, 0x01, 0x02, ...new Uint8Array(40)]))).toBeNull();
    expect(parseEspImage(new Uint8Array([0xe9, 3]))).toBeNull();
  });

  it('rejects a bad checksum or hash with the offset', () => {
    const file = buildEspImage({ chipId: 0, segments: segs, sha256: sha });
    const badData = file.slice();
    badData[40]! ^= 1;
    expect(() => parseEspImage(badData)).toThrow(/ESP image offset 0x\w+: checksum is 0x\w\w, expected 0x\w\w/);
    const badHash = file.slice();
    badHash[file.length - 1]! ^= 1;
    expect(() => parseEspImage(badHash)).toThrow(FlashError);
    expect(() => parseEspImage(badHash)).toThrow(/appended SHA-256/);
  });

  it('rejects an ESP32-family header whose segment table runs off the end', () => {
    const file = buildEspImage({ chipId: 9, segments: segs });
    const badCount = file.slice();
    badCount[1] = 3;
    expect(() => parseEspImage(badCount)).toThrow(/ESP image offset 0x\w+: segment 2's header is past the end of the file/);
  });
});
