import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { chipById } from './chips/index';
import { imageFromBuild, MANIFEST_FAMILIES, parseManifest, partUrl, pickBuild } from './manifest';

/** Shaped like ESPHome's and WLED's published manifests. */
const MANIFEST = {
  name: 'Demo Firmware',
  version: '2024.6.1',
  new_install_prompt_erase: true,
  builds: [
    {
      chipFamily: 'ESP32',
      improv: true,
      parts: [
        { path: 'esp32/bootloader.bin', offset: 4096 },
        { path: 'esp32/partitions.bin', offset: 32768 },
        { path: 'esp32/firmware.bin', offset: 65536 },
      ],
    },
    { chipFamily: 'ESP32-C3', parts: [{ path: '../c3/merged.bin', offset: '0x0' }] },
    { chipFamily: 'ESP8266', parts: [{ path: 'esp8266.bin', offset: 0 }] },
  ],
};

function thrown(f: () => unknown): FlashError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(FlashError);
    return err as FlashError;
  }
  throw new Error('expected a FlashError');
}

describe('ESP Web Tools manifests', () => {
  it('picks the build for the detected chip family and makes one image of its parts', () => {
    const m = parseManifest(MANIFEST);
    expect(m).toMatchObject({ name: 'Demo Firmware', version: '2024.6.1', newInstallPromptErase: true });
    expect(m.whatsNew).toBeUndefined();
    expect(parseManifest({ ...MANIFEST, whats_new: '  Faster boot.\n' }).whatsNew).toBe('Faster boot.');
    const build = pickBuild(m, chipById('esp32')!);
    expect(build.parts.map((p) => p.offset)).toEqual([0x1000, 0x8000, 0x10000]);
    const files = new Map([
      ['esp32/bootloader.bin', new Uint8Array(100).fill(1)],
      ['esp32/partitions.bin', new Uint8Array(3072).fill(2)],
      ['esp32/firmware.bin', new Uint8Array(5000).fill(3)],
    ]);
    const image = imageFromBuild(build, files);
    expect(image.segments.map((s) => [s.address, s.data.length])).toEqual([
      [0x1000, 100],
      [0x8000, 3072],
      [0x10000, 5000],
    ]);
    expect(image.meta).toMatchObject({ chipFamily: 'ESP32' });
    expect(pickBuild(m, chipById('esp32c3')!).parts[0]).toEqual({ path: '../c3/merged.bin', offset: 0 });
  });

  it('names the families it has when the board has another chip', () => {
    const err = thrown(() => pickBuild(parseManifest(MANIFEST), chipById('esp32s3')!));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toContain('ESP32, ESP32-C3, ESP8266');
    expect(err.message).toContain('ESP32-S3');
  });

  it('resolves part paths against the manifest URL', () => {
    const url = 'https://example.org/fw/v2/manifest.json?x=1';
    expect(partUrl(url, 'esp32/firmware.bin')).toBe('https://example.org/fw/v2/esp32/firmware.bin');
    expect(partUrl(url, '../c3/merged.bin')).toBe('https://example.org/fw/c3/merged.bin');
    expect(partUrl(url, '/abs/x.bin')).toBe('https://example.org/abs/x.bin');
    expect(partUrl(url, 'https://cdn.example.com/y.bin')).toBe('https://cdn.example.com/y.bin');
  });

  it('refuses malformed manifests and missing or conflicting parts, naming what is wrong', () => {
    expect(thrown(() => parseManifest({ name: 'x' })).message).toContain('"builds"');
    expect(thrown(() => parseManifest({ name: 'x', builds: [{ chipFamily: 'ESP32', parts: [{ path: 'a.bin', offset: 'ten' }] }] })).message).toContain('offset');
    expect(thrown(() => parseManifest([])).code).toBe('bad-image');
    const build = pickBuild(parseManifest(MANIFEST), chipById('esp32')!);
    expect(thrown(() => imageFromBuild(build, new Map())).message).toContain('esp32/bootloader.bin');
    const clash = { chipFamily: 'ESP32', parts: [{ path: 'a', offset: 0 }, { path: 'b', offset: 8 }] };
    expect(thrown(() => imageFromBuild(clash, new Map([['a', new Uint8Array(16)], ['b', new Uint8Array(16).fill(1)]]))).code).toBe('bad-image');
  });

  it('knows every family name ESP Web Tools uses for the chips we support', () => {
    expect(MANIFEST_FAMILIES).toEqual(expect.arrayContaining(['ESP32', 'ESP32-S2', 'ESP32-S3', 'ESP32-C2', 'ESP32-C3', 'ESP32-C5', 'ESP32-C6', 'ESP32-H2', 'ESP32-P4', 'ESP8266']));
  });
});
