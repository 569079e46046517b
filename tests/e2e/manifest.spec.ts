import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ensureBuilt, launch, serve, type Browser } from './support/app';
import { seededBytes, vendorSite, type VendorSite } from './support/vendor';
import { boardField } from './support/board';

/*
 * Journey 3, a customer applying a vendor's update: the vendor's link opens the page on its ESP Web
 * Tools manifest (served from another origin with CORS, as a vendor's site would), the page shows the
 * product, version and what changed, and one Install button puts the ESP32 build on the board.
 * Also: the same manifest picked as files together with its parts.
 */

let app: Awaited<ReturnType<typeof serve>>;
let vendor: VendorSite;
let browser: Browser;

const bytes = seededBytes;

const PARTS: Record<string, Buffer> = {
  'esp32/bootloader.bin': bytes(7000, 11),
  'esp32/partitions.bin': bytes(3072, 12),
  'esp32/app.bin': bytes(24_000, 13),
  'esp32c3/merged.bin': bytes(9000, 14),
};

const MANIFEST = {
  name: 'Acme Plant Sensor',
  version: '3.1.0',
  whats_new: 'Reads soil moisture twice as often.',
  builds: [
    { chipFamily: 'ESP32-C3', parts: [{ path: 'esp32c3/merged.bin', offset: 0 }] },
    {
      chipFamily: 'ESP32',
      parts: [
        { path: 'esp32/bootloader.bin', offset: 4096 },
        { path: 'esp32/partitions.bin', offset: 0x8000 },
        { path: 'esp32/app.bin', offset: 0x10000 },
      ],
    },
  ],
};

/** The ESP32 build as one image, bytes in address order: what the Done card's SHA-256 must be. */
function esp32ImageSha256(): string {
  return createHash('sha256')
    .update(PARTS['esp32/bootloader.bin']!)
    .update(PARTS['esp32/partitions.bin']!)
    .update(PARTS['esp32/app.bin']!)
    .digest('hex');
}

beforeAll(async () => {
  ensureBuilt();
  app = await serve();
  vendor = await vendorSite({
    '/fw/manifest.json': JSON.stringify(MANIFEST),
    ...Object.fromEntries(Object.entries(PARTS).map(([p, b]) => [`/fw/${p}`, b])),
  });
});
afterAll(async () => {
  await app?.stop();
  await vendor?.stop();
});
beforeEach(async () => {
  browser = await launch();
});
afterEach(async () => {
  await browser?.close();
});

async function useVirtualEsp32(page: Page) {
  await expect.poll(() => boardField(page).inputValue()).toBe('ESP32 (any board)');
  await page.getByRole('radio', { name: /ESP32 \(virtual\)/ }).check();
}

async function installAndFinish(page: Page) {
  const install = page.getByRole('button', { name: 'Install', exact: true });
  await expect.poll(() => install.isEnabled(), { timeout: 10_000 }).toBe(true);
  await install.click();
  // A virtual device: the engineers' card says "Demo finished", never "Done — you can unplug".
  const done = page.getByRole('heading', { name: 'Demo finished' });
  await done.waitFor({ timeout: 60_000 });
  return page.getByRole('status').filter({ has: done });
}

describe('installing a vendor update from an ESP Web Tools manifest', () => {
  it('opens the customer screen on the vendor link; "Try a demo" installs the ESP32 build on a virtual device and never says it is on yours', async () => {
    const { page, errors } = browser;
    const link = `${vendor.origin}/fw/manifest.json`;
    await page.goto(`${app.origin}/?manifest=${encodeURIComponent(link)}`);

    // What the customer sees before anything happens: product, version, what changed, one button.
    await page.getByRole('heading', { name: 'Acme Plant Sensor', level: 1 }).waitFor();
    expect(await page.locator('main').innerText()).toContain('Version 3.1.0');
    expect(await page.getByRole('region', { name: "What's new" }).innerText()).toContain('Reads soil moisture twice as often.');
    expect(await page.getByRole('button', { name: 'Install', exact: true }).isVisible()).toBe(true);
    // No engineering controls: no navigation, no board list, no virtual device offered by itself.
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Flash', exact: true }).count()).toBe(0);
    expect(await page.getByRole('radio').count()).toBe(0);
    expect(await page.getByRole('img', { name: /USB JTAG\/serial debug unit/ }).count()).toBe(1);

    await page.getByRole('button', { name: 'Try a demo' }).click();
    const demo = page.getByRole('status').filter({ has: page.getByRole('heading', { name: 'Demo finished' }) });
    await demo.waitFor({ timeout: 60_000 });
    expect(await demo.innerText()).toContain('Acme Plant Sensor 3.1.0 was installed on a virtual ESP32 and checked. Nothing was installed on your device.');
    expect(await page.getByText('Done — you can unplug').count()).toBe(0);
    // Only the detected chip's parts were downloaded.
    expect(vendor.requests).toEqual(['/fw/manifest.json', '/fw/esp32/bootloader.bin', '/fw/esp32/partitions.bin', '/fw/esp32/app.bin']);

    // "Advanced" opens the engineers' screen; History has the job, under the product and the build.
    await page.getByText('Advanced').click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: 'Acme Plant Sensor 3.1.0' });
    await row.waitFor();
    expect(await row.innerText()).toContain('Verified');
    expect(errors).toEqual([]);
  });

  it('installs from a manifest picked together with its part files', async () => {
    const { page, errors } = browser;
    const dir = mkdtempSync(join(tmpdir(), 'webprog-manifest-'));
    mkdirSync(join(dir, 'esp32'));
    mkdirSync(join(dir, 'esp32c3'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(MANIFEST));
    for (const [p, b] of Object.entries(PARTS)) writeFileSync(join(dir, p), b);

    await page.goto(app.origin + '/');
    await page.getByRole('button', { name: 'Install from manifest' }).click();
    await page
      .locator('input[type=file]#manifest-files')
      .setInputFiles([join(dir, 'manifest.json'), ...Object.keys(PARTS).filter((p) => p.startsWith('esp32/')).map((p) => join(dir, p))]);
    await page.getByRole('heading', { name: 'Acme Plant Sensor' }).waitFor();
    // The manifest's builds are ESP builds: the board switches to the ESP driver once it is read.
    await useVirtualEsp32(page);
    // The C3 part was not picked: said plainly, and the ESP32 board can still be updated.
    expect(await page.getByRole('article').innerText()).toContain('The ESP32-C3 build needs esp32c3/merged.bin');

    const card = await installAndFinish(page);
    expect(await card.innerText()).toContain(esp32ImageSha256());

    // Back to plain files: the accessible names of the flash flow are unchanged.
    await page.getByRole('button', { name: 'Use a firmware file instead' }).click();
    await page.getByRole('button', { name: 'Flash', exact: true }).waitFor();
    expect(await page.locator('input[type=file]#firmware-file').count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
