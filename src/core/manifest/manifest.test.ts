import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { checkBuildParts } from './integrity';
import { imageFromBuild, manifestDrivers, parseManifest, partUrl, pickBuild } from './model';
import { canonicalJson, checkManifestSignature, fromBase64, lastVerifier, parsePublicKey, signedBytes, toBase64Url, verifyEd25519 } from './signature';

/** Shaped like ESPHome's and WLED's published ESP Web Tools manifests. */
const ESP_MANIFEST = {
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

const esp = (name: string, id = name.toLowerCase().replace('-', '')) => ({ id: `${id}/ef4016`, name });

/** A program-like part: no text, no blank runs. */
function firmware(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) out[i] = (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24;
  return out;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function thrown(f: () => unknown): FlashError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(FlashError);
    return err as FlashError;
  }
  throw new Error('expected a FlashError');
}
async function rejected(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

describe('ESP Web Tools manifests, unchanged', () => {
  it('picks the build for the detected chip family and makes one image of its parts', () => {
    const m = parseManifest(ESP_MANIFEST);
    expect(m).toMatchObject({ name: 'Demo Firmware', version: '2024.6.1', newInstallPromptErase: true, signed: false });
    expect(manifestDrivers(m)).toEqual(['esp-rom']);
    expect(parseManifest({ ...ESP_MANIFEST, whats_new: '  Faster boot.\n' }).releaseNotes).toBe('Faster boot.');
    const build = pickBuild(m, 'esp-rom', esp('ESP32'));
    expect(build.parts.map((p) => p.offset)).toEqual([0x1000, 0x8000, 0x10000]);
    const files = new Map([
      ['esp32/bootloader.bin', firmware(100)],
      ['esp32/partitions.bin', firmware(3072, 2)],
      ['esp32/firmware.bin', firmware(5000, 3)],
    ]);
    const image = imageFromBuild(build, files);
    expect(image.segments.map((s) => [s.address, s.data.length])).toEqual([
      [0x1000, 100],
      [0x8000, 3072],
      [0x10000, 5000],
    ]);
    expect(image.meta).toMatchObject({ chipFamily: 'ESP32' });
    expect(pickBuild(m, 'esp-rom', esp('ESP32-C3')).parts[0]).toEqual({ path: '../c3/merged.bin', offset: 0 });
  });

  it('names the families it has when the board has another chip', () => {
    const err = thrown(() => pickBuild(parseManifest(ESP_MANIFEST), 'esp-rom', esp('ESP32-S3')));
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
    expect(thrown(() => parseManifest({ name: 'x', builds: [{ parts: [{ path: 'a.bin', offset: 0 }] }] })).message).toContain('"driver"');
    expect(thrown(() => parseManifest([])).code).toBe('bad-image');
    const build = pickBuild(parseManifest(ESP_MANIFEST), 'esp-rom', esp('ESP32'));
    expect(thrown(() => imageFromBuild(build, new Map())).message).toContain('esp32/bootloader.bin');
    const clash = parseManifest({ name: 'x', builds: [{ chipFamily: 'ESP32', parts: [{ path: 'a', offset: 0 }, { path: 'b', offset: 8 }] }] }).builds[0]!;
    expect(thrown(() => imageFromBuild(clash, new Map([['a', new Uint8Array(16)], ['b', new Uint8Array(16).fill(1)]]))).code).toBe('bad-image');
  });
});

describe('builds for every driver', () => {
  const MULTI = {
    name: 'Acme Controller',
    version: '1.4.0',
    release_notes: '## Fixes\n- Faster **boot**',
    builds: [
      { driver: 'stk500v1', device: { id: '1e950f' }, parts: [{ path: 'uno.bin', offset: 0 }] },
      { driver: 'stk500v1', device: { name: 'ATmega2560' }, parts: [{ path: 'mega.bin', offset: 0 }] },
      { driver: 'stm32-usart', device: { id: '0410' }, erase: 'all', min_version: '1.0.0', parts: [{ path: 'f103.bin', offset: '0x08000000' }] },
      { driver: 'usb-dfu', device: { id: '0483:df11' }, parts: [{ path: 'f4.bin', offset: 0x08000000 }] },
      { driver: 'serprog', parts: [{ path: 'spi.bin', offset: 0 }] },
    ],
  };

  it('picks by driver and by the ID or name the device answered, specific builds first', () => {
    const m = parseManifest(MULTI);
    expect(m.releaseNotes).toBe('## Fixes\n- Faster **boot**');
    expect(manifestDrivers(m)).toEqual(['stk500v1', 'stm32-usart', 'usb-dfu', 'serprog']);
    expect(pickBuild(m, 'stk500v1', { id: '1e950f', name: 'ATmega328P' }).parts[0]!.path).toBe('uno.bin');
    expect(pickBuild(m, 'stk500v1', { id: '1e9801', name: 'ATmega2560' }).parts[0]!.path).toBe('mega.bin');
    const stm = pickBuild(m, 'stm32-usart', { id: '0410', name: 'STM32F1 medium-density (64 KiB flash)' });
    expect(pickBuild(parseManifest({ name: 'y', builds: [{ driver: 'stm32-usart', device: { name: 'STM32F1 medium-density' }, parts: [{ path: 'f.bin', offset: 0 }] }] }), 'stm32-usart', { id: '0410', name: 'STM32F1 medium-density (64 KiB flash)' }).parts[0]!.path).toBe('f.bin');
    expect(stm).toMatchObject({ erase: 'all', minVersion: '1.0.0', parts: [{ offset: 0x0800_0000 }] });
    expect(pickBuild(m, 'usb-dfu', { id: '0483:DF11', name: 'STM32F405' }).parts[0]!.path).toBe('f4.bin');
    expect(pickBuild(m, 'serprog', { id: 'ef4015', name: 'W25Q16' }).parts[0]!.path).toBe('spi.bin');
    const err = thrown(() => pickBuild(m, 'stk500v1', { id: '1e9307', name: 'ATmega8' }));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toContain('ATmega8');
    expect(err.message).toContain('1e950f, ATmega2560');
  });
});

describe('part integrity, before anything is erased', () => {
  const part = firmware(4096, 9);
  const build = (extra: object) => parseManifest({ name: 'x', builds: [{ driver: 'stk500v1', parts: [{ path: 'app.bin', offset: 0, ...extra }] }] }).builds[0]!;
  const check = (b: ReturnType<typeof build>, bytes: Uint8Array, signed = false) => () => checkBuildParts(b, new Map([['app.bin', bytes]]), { signed });

  it('accepts the part the manifest describes', () => {
    expect(check(build({ sha256: sha(part), size: part.length }), part)).not.toThrow();
  });

  it('refuses a wrong SHA-256 or size, naming the part', () => {
    const tampered = part.slice();
    tampered[100]! ^= 1;
    const err = thrown(check(build({ sha256: sha(part) }), tampered));
    expect(err.message).toBe('The file "app.bin" of the stk500v1 build is not the one the manifest describes (its SHA-256 differs).');
    expect(err.details).toMatchObject({ expected: sha(part), actual: sha(tampered) });
    expect(thrown(check(build({ size: 4000 }), part)).message).toContain('4096 bytes, but the manifest says 4000');
  });

  it('refuses a static host’s HTML fallback, a text file and an empty body as firmware', () => {
    const html = new TextEncoder().encode('<!doctype html>\n<html><head><title>Acme</title></head><body><div id="app"></div></body></html>\n');
    expect(thrown(check(build({}), html)).message).toContain('looks like a web page');
    expect(thrown(check(build({}), new TextEncoder().encode('Not Found\n'.repeat(20)))).code).toBe('bad-image');
    expect(thrown(check(build({}), new Uint8Array(0))).message).toContain('empty');
    expect(thrown(check(build({}), new TextEncoder().encode(':100000000C9434000C9446000C9446000C94460022\r\n:00000001FF\r\n'))).message).toContain('Intel HEX');
  });

  it('requires every part’s SHA-256 in a signed manifest', () => {
    expect(thrown(check(build({}), part, true)).code).toBe('bad-signature');
  });
});

describe('Ed25519 manifest signatures', () => {
  const keys = generateKeyPairSync('ed25519');
  const publicKey = fromBase64(keys.publicKey.export({ format: 'jwk' }).x!)!;
  const signed = <T extends Record<string, unknown>>(manifest: T) => ({
    ...manifest,
    signature: { alg: 'Ed25519', value: toBase64Url(sign(null, signedBytes(manifest), keys.privateKey)) },
  });
  const manifest = { name: 'Acme', version: '2.0.0', builds: [{ driver: 'stk500v1', parts: [{ path: 'a.bin', offset: 0, sha256: 'ab'.repeat(32) }] }] };

  it('writes canonical JSON: sorted keys, no whitespace, whatever order the file has', () => {
    expect(canonicalJson({ b: [1, 'x', { d: null, c: true }], a: 'é' })).toBe('{"a":"é","b":[1,"x",{"c":true,"d":null}]}');
    expect(signedBytes({ signature: { value: 'x' }, z: 1, a: 2 })).toEqual(new TextEncoder().encode('{"a":2,"z":1}'));
  });

  it('accepts the vendor’s signature, in any key order, and says which implementation checked it', async () => {
    const raw = signed(manifest);
    await expect(checkManifestSignature(JSON.parse(JSON.stringify({ builds: raw.builds, signature: raw.signature, version: raw.version, name: raw.name })), publicKey)).resolves.toBeUndefined();
    expect(lastVerifier).toBe('webcrypto'); // Node has WebCrypto Ed25519
    expect(parseManifest(raw).signed).toBe(true);
    expect(parsePublicKey(toBase64Url(publicKey))).toEqual(publicKey);
  });

  it('refuses a changed field, another key, or no signature, in one calm sentence', async () => {
    const raw = signed(manifest);
    const changed = { ...raw, builds: [{ ...raw.builds[0]!, parts: [{ path: 'a.bin', offset: 0, sha256: 'cd'.repeat(32) }] }] };
    const err = await rejected(checkManifestSignature(changed, publicKey));
    expect(err.code).toBe('bad-signature');
    expect(err.message).toBe('The vendor signature on this manifest does not match: it was changed after signing, or signed by someone else.');
    const other = fromBase64(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!)!;
    expect((await rejected(checkManifestSignature(raw, other))).code).toBe('bad-signature');
    expect((await rejected(checkManifestSignature(manifest, publicKey))).message).toContain('not signed');
    expect(thrown(() => parsePublicKey('not-a-key')).message).toContain('not a valid Ed25519 public key');
  });

  it('verifies with @noble/ed25519 where WebCrypto has no Ed25519, accepting exactly the same', async () => {
    const msg = signedBytes(manifest);
    const sig = new Uint8Array(sign(null, msg, keys.privateKey));
    const subtle = globalThis.crypto.subtle;
    const importKey = subtle.importKey;
    // A WebCrypto without Ed25519, as in older browsers: importKey refuses the algorithm.
    subtle.importKey = ((...args: Parameters<typeof importKey>) =>
      (args[2] as { name?: string })?.name === 'Ed25519'
        ? Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
        : (importKey as (...a: unknown[]) => Promise<CryptoKey>).apply(subtle, args)) as typeof importKey;
    try {
      expect(await verifyEd25519(publicKey, sig, msg)).toBe(true);
      expect(lastVerifier).toBe('noble');
      const bad = sig.slice();
      bad[0]! ^= 1;
      expect(await verifyEd25519(publicKey, bad, msg)).toBe(false);
    } finally {
      subtle.importKey = importKey;
    }
  });
});
