import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { proxy, transfer } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { createImage, describeImage } from '../../src/core/image/index';
import { signedBytes } from '../../src/core/manifest/signature';
import type { JobSpec } from '../../src/shared/api';
import type { JobEvent } from '../../src/shared/events';
import type { DeviceSelector } from '../../src/shared/model';
import { openLink } from '../../src/transports/index';
import { buffer, connectApi, ok } from './helpers';

/*
 * ESP Web Tools manifests through the worker API: load (files or URL), install onto a virtual ESP32 in
 * one session (the build is picked after the chip answers), and the native-USB port that re-enumerates.
 */

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function setup(...args: Parameters<typeof connectApi>) {
  const c = connectApi(...args);
  closers.push(c.close);
  return c;
}

function bytes(length: number, seed: number): Uint8Array {
  let x = seed >>> 0;
  return Uint8Array.from({ length }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x >>> 24;
  });
}

/** Shaped like ESPHome's published manifests: an ESP32 build in three parts, a C3 build in one. */
const MANIFEST = {
  name: 'Demo Sensor',
  version: '2.4.1',
  whats_new: 'Faster Wi-Fi reconnects.\nFixes the battery reading.',
  builds: [
    {
      chipFamily: 'ESP32-C3',
      parts: [{ path: 'c3/merged.bin', offset: 0 }],
    },
    {
      chipFamily: 'ESP32',
      parts: [
        { path: 'esp32/bootloader.bin', offset: 0x1000 },
        { path: 'esp32/partitions.bin', offset: 0x8000 },
        { path: 'esp32/firmware.bin', offset: 0x10000 },
      ],
    },
  ],
};

const PARTS: Record<string, Uint8Array> = {
  'esp32/bootloader.bin': bytes(6000, 1),
  'esp32/partitions.bin': bytes(3072, 2),
  'esp32/firmware.bin': bytes(40_000, 3),
  'c3/merged.bin': bytes(5000, 4),
};

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function file(name: string, data: Uint8Array) {
  return { name, bytes: buffer(data) };
}

const VIRTUAL_ESP32: DeviceSelector = { kind: 'virtual', driverId: 'esp-rom', targetId: 'esp32' };

/** An install job: no targetId, so the driver accepts whichever chip answers and the manifest picks the build. */
function installSpec(manifestSha256: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    jobId: crypto.randomUUID(),
    driverId: 'esp-rom',
    device: VIRTUAL_ESP32,
    deviceLabel: 'ESP32 (virtual)',
    firmware: { fileSha256: manifestSha256 },
    options: { verify: true },
    ...extra,
  };
}

function expectedImage(paths: string[], offsets: number[]) {
  return describeImage(createImage('esp-web-tools', paths.map((p, i) => ({ memory: 'flash', address: offsets[i]!, data: PARTS[p]! }))));
}

describe('installing an ESP Web Tools manifest', () => {
  it('installs the build for the detected chip from picked files, in one session, and records it', async () => {
    const { api } = setup();
    const parts = Object.entries(PARTS).map(([path, data]) => file(path.split('/').pop()!, data));
    // Two parts are called merged.bin / bootloader.bin etc.: matched by file name when no path is given.
    const manifestBytes = buffer(json(MANIFEST));
    const summary = ok(
      await api.loadManifest(transfer({ kind: 'files', manifest: { name: 'manifest.json', bytes: manifestBytes }, parts }, [manifestBytes])),
    );
    expect(summary).toMatchObject({ name: 'Demo Sensor', version: '2.4.1', whatsNew: 'Faster Wi-Fi reconnects.\nFixes the battery reading.', source: 'manifest.json' });
    expect(summary.builds.map((b) => [b.chipFamily, b.missing])).toEqual([
      ['ESP32-C3', []],
      ['ESP32', []],
    ]);

    const events: JobEvent[] = [];
    const report = ok(await api.install(installSpec(summary.manifestSha256), proxy((e: JobEvent) => void events.push(e))));
    const want = expectedImage(['esp32/bootloader.bin', 'esp32/partitions.bin', 'esp32/firmware.bin'], [0x1000, 0x8000, 0x10000]);
    expect(report).toMatchObject({ verified: true, bytesVerified: report.bytesWritten, verifiedBy: "device-digest" });
    expect(report.device.name).toBe('ESP32');
    expect(report.build).toEqual({
      chipFamily: 'ESP32',
      parts: [
        { path: 'esp32/bootloader.bin', offset: 0x1000, size: 6000 },
        { path: 'esp32/partitions.bin', offset: 0x8000, size: 3072 },
        { path: 'esp32/firmware.bin', offset: 0x10000, size: 40_000 },
      ],
      imageSha256: want.sha256,
      imageBytes: 49_072,
    });
    // One session: the engine's phases once each, the build chosen between identify and validate.
    await new Promise((r) => setTimeout(r, 20));
    const phases = events.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
    expect(phases).toEqual(['connect', 'identify', 'validate', 'write', 'verify', 'finish']);
    const logs = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs.filter((m) => /answered/.test(m))).toHaveLength(1);
    expect(logs.some((m) => m.startsWith('Installing the ESP32 build'))).toBe(true);

    const [record] = ok(await api.listHistory());
    expect(record).toMatchObject({
      status: 'passed',
      fileName: 'Demo Sensor 2.4.1 (manifest), ESP32 build',
      fileSha256: summary.manifestSha256,
      imageSha256: want.sha256,
      imageBytes: 49_072,
      deviceName: 'ESP32',
      verified: true,
    });
    // A manifest is not a firmware file: the library stays as it was.
    expect(ok(await api.listFirmware())).toEqual([]);
  });

  it('fetches only the detected chip\'s parts, relative to the manifest URL', async () => {
    const fetched: string[] = [];
    const site: Record<string, Uint8Array> = {
      'https://vendor.example/fw/2.4.1/manifest.json': json(MANIFEST),
      ...Object.fromEntries(Object.entries(PARTS).map(([p, d]) => [`https://vendor.example/fw/2.4.1/${p}`, d])),
    };
    const { api } = setup({
      fetchFile: async (url) => {
        fetched.push(url);
        const body = site[url];
        if (!body) throw new Error(`404 ${url}`);
        return body.slice();
      },
    });
    const summary = ok(await api.loadManifest({ kind: 'url', url: 'https://vendor.example/fw/2.4.1/manifest.json' }));
    expect(summary.source).toBe('https://vendor.example/fw/2.4.1/manifest.json');
    expect(fetched).toEqual(['https://vendor.example/fw/2.4.1/manifest.json']);
    const report = ok(await api.install(installSpec(summary.manifestSha256), proxy(() => {})));
    expect(report.verified).toBe(true);
    expect(fetched.slice(1)).toEqual([
      'https://vendor.example/fw/2.4.1/esp32/bootloader.bin',
      'https://vendor.example/fw/2.4.1/esp32/partitions.bin',
      'https://vendor.example/fw/2.4.1/esp32/firmware.bin',
    ]);
    // A second install uses what was downloaded.
    ok(await api.install(installSpec(summary.manifestSha256), proxy(() => {})));
    expect(fetched).toHaveLength(4);
  });

  it('refuses a board whose chip has no build, naming the families, before writing anything', async () => {
    const { api } = setup();
    const onlyC3 = { ...MANIFEST, builds: [MANIFEST.builds[0]] };
    const summary = ok(
      await api.loadManifest({ kind: 'files', manifest: file('manifest.json', json(onlyC3)), parts: [file('merged.bin', PARTS['c3/merged.bin']!)] }),
    );
    const result = await api.install(installSpec(summary.manifestSha256), proxy(() => {}));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('wrong-target');
    expect(result.error.message).toContain('ESP32-C3');
    expect(result.error.hint).toContain('nothing was written');
    const [record] = ok(await api.listHistory());
    // The build is chosen by the job's prepare hook, after identify: the job stopped validating the image.
    expect(record).toMatchObject({ status: 'failed', phase: 'validate', deviceName: 'ESP32' });
    expect(result.error.phase).toBe('validate');
    expect(record!.bytesWritten).toBeUndefined();
  });

  it('names a part that was not picked, and a broken manifest', async () => {
    const { api } = setup();
    const summary = ok(
      await api.loadManifest({
        kind: 'files',
        manifest: file('manifest.json', json(MANIFEST)),
        parts: [file('bootloader.bin', PARTS['esp32/bootloader.bin']!), file('partitions.bin', PARTS['esp32/partitions.bin']!)],
      }),
    );
    expect(summary.builds.find((b) => b.chipFamily === 'ESP32')!.missing).toEqual(['esp32/firmware.bin']);
    const result = await api.install(installSpec(summary.manifestSha256), proxy(() => {}));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('bad-image');
      expect(result.error.message).toContain('esp32/firmware.bin');
    }
    const broken = await api.loadManifest({ kind: 'files', manifest: file('manifest.json', new TextEncoder().encode('{"name":')), parts: [] });
    expect(broken.ok).toBe(false);
    const noBuilds = await api.loadManifest({ kind: 'files', manifest: file('manifest.json', json({ name: 'x' })), parts: [] });
    expect(!noBuilds.ok && noBuilds.error.message).toContain('"builds"');
    const notLoaded = await api.install(installSpec('0'.repeat(64)), proxy(() => {}));
    expect(!notLoaded.ok && notLoaded.error.code).toBe('bad-image');
  });
});

describe('a chip whose own USB port re-enumerates on reset (ESP USB-Serial/JTAG)', () => {
  /** The page picked 303a:1001; the fake link makes it vanish during connect, as the reset re-enumerates it. */
  const native: DeviceSelector = { kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 0 };

  function reenumerating(found: boolean) {
    const opened: DeviceSelector[] = [];
    const deps: Parameters<typeof connectApi>[0] = {
      openLink: (selector, opts) => {
        opened.push(selector);
        // First the app's port, lost at the first bytes; then the one that came back, already in the ROM.
        const fault = opened.length === 1 ? { fault: { seed: 1, disconnectAfterBytes: 8 } } : {};
        return openLink({ kind: 'virtual', driverId: 'esp-rom', targetId: 'esp32', ...fault }, opts);
      },
      reacquireSerialPort: async (_lost, ids) => {
        expect(ids.usbVendorId).toBe(0x303a);
        expect(ids.usbProductIds).toContain(0x1001);
        return found ? { selector: { kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 1 }, expectedPortCount: 2 } : null;
      },
    };
    return { deps, opened };
  }

  it('finds the port again without a prompt and continues with no second reset', async () => {
    const r = reenumerating(true);
    const { api } = setup(r.deps);
    const summary = ok(
      await api.loadManifest({
        kind: 'files',
        manifest: file('manifest.json', json(MANIFEST)),
        parts: Object.entries(PARTS).map(([p, d]) => file(p, d)),
      }),
    );
    const events: JobEvent[] = [];
    const report = ok(await api.install(installSpec(summary.manifestSha256, { device: native, deviceLabel: 'ESP32 on USB' }), proxy((e: JobEvent) => void events.push(e))));
    expect(report.verified).toBe(true);
    expect(r.opened).toEqual([native, { kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 1 }]);
    await new Promise((res) => setTimeout(res, 20));
    const logs = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs).toContain('The board came back as a new USB device in download mode: continuing on it.');
    // reset=none on the second session: the ROM answered without a reset.
    expect(logs.some((m) => /answered without a reset/.test(m))).toBe(true);
  });

  it('asks for one clear step when the port does not come back by itself', async () => {
    const r = reenumerating(false);
    const { api } = setup(r.deps);
    const summary = ok(await api.loadManifest({ kind: 'files', manifest: file('manifest.json', json(MANIFEST)), parts: Object.entries(PARTS).map(([p, d]) => file(p, d)) }));
    const result = await api.install(installSpec(summary.manifestSha256, { device: native, deviceLabel: 'ESP32 on USB' }), proxy(() => {}));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('port-unavailable');
    expect(result.error.action).toEqual({ kind: 'pick-port-again', link: 'serial', vendorId: 0x303a, resumeOptions: { reset: 'none' } });
    expect(r.opened).toHaveLength(1);
  });

  it('does not wait for a port that is not the chip\'s own USB (a UART bridge): a lost cable stays a lost cable', async () => {
    const r = reenumerating(true);
    const { api } = setup(r.deps);
    const summary = ok(await api.loadManifest({ kind: 'files', manifest: file('manifest.json', json(MANIFEST)), parts: Object.entries(PARTS).map(([p, d]) => file(p, d)) }));
    const bridge: DeviceSelector = { kind: 'serial', usbVendorId: 0x10c4, usbProductId: 0xea60, index: 0 };
    const result = await api.install(installSpec(summary.manifestSha256, { device: bridge, deviceLabel: 'ESP32 on CP2102' }), proxy(() => {}));
    expect(!result.ok && result.error.code).toBe('device-lost');
    expect(r.opened).toHaveLength(1);
  });
});

describe('integrity and signatures, before anything is erased', () => {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const app = PARTS['esp32/firmware.bin']!;
  const hashed = { name: 'Demo Sensor', version: '2.5.0', builds: [{ chipFamily: 'ESP32', parts: [{ path: 'app.bin', offset: 0x10000, sha256: sha(app), size: app.length }] }] };
  const keys = generateKeyPairSync('ed25519');
  const publicKey = keys.publicKey.export({ format: 'jwk' }).x!;
  const signed = { ...hashed, signature: { alg: 'Ed25519', value: sign(null, signedBytes(hashed), keys.privateKey).toString('base64') } };

  function site(manifest: unknown, part: Uint8Array) {
    return {
      fetchFile: async (url: string) => {
        if (url.endsWith('manifest.json')) return json(manifest);
        if (url.endsWith('app.bin')) return part.slice();
        throw new Error(`404 ${url}`);
      },
    };
  }

  it('refuses a tampered part by its SHA-256: no erase, no write, nothing on the device', async () => {
    const tampered = app.slice();
    tampered[1234]! ^= 0x40;
    const { api } = setup(site(hashed, tampered));
    const summary = ok(await api.loadManifest({ kind: 'url', url: 'https://vendor.example/fw/manifest.json' }));
    const phases: string[] = [];
    const result = await api.install(installSpec(summary.manifestSha256), proxy((e: JobEvent) => void (e.type === 'phase' && phases.push(e.phase))));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ code: 'bad-image', message: 'The file "app.bin" of the ESP32 build is not the one the manifest describes (its SHA-256 differs).' });
    expect(phases).not.toContain('erase');
    expect(phases).not.toContain('write');
    const [record] = ok(await api.listHistory());
    // The parts are checked by the install's prepare hook, which runs as the job validates its image.
    expect(record).toMatchObject({ status: 'failed', phase: 'validate' });
    expect(record!.bytesWritten).toBeUndefined();
  });

  it('installs a manifest signed by the key the link pins, and refuses it under another key', async () => {
    const { api } = setup(site(signed, app));
    const summary = ok(await api.loadManifest({ kind: 'url', url: 'https://vendor.example/fw/manifest.json', key: publicKey }));
    expect(summary.signature).toBe('verified');
    const report = ok(await api.install(installSpec(summary.manifestSha256), proxy(() => {})));
    expect(report.verified).toBe(true);

    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    const refused = await api.loadManifest({ kind: 'url', url: 'https://vendor.example/fw/manifest.json', key: other });
    expect(refused).toMatchObject({ ok: false, error: { code: 'bad-signature' } });
    // Without a pinned key a signature proves nothing: said so, not "verified".
    expect(ok(await api.loadManifest({ kind: 'url', url: 'https://vendor.example/fw/manifest.json' })).signature).toBe('not-checked');
  });
});
