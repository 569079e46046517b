import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { appUnderTest, DIST } from './support/app';
import { seededBytes, vendorSite, type VendorSite } from './support/vendor';

/*
 * The embeddable install button on a vendor's own page (another origin than the app): one script tag,
 * a small loader; the dialog, worker and drivers load only on click; the install runs in demo there.
 */
const app = appUnderTest();
let vendor: VendorSite;
afterAll(async () => {
  await vendor?.stop();
});

describe('<webprog-install> on a vendor page', () => {
  it('is a loader of at most 2 KB gzipped', () => {
    const loader = readFileSync(join(DIST, 'webprog-install.js'));
    const gz = gzipSync(loader, { level: 9 }).length;
    console.log(`webprog-install.js: ${statSync(join(DIST, 'webprog-install.js')).size} bytes, ${gz} bytes gzipped`);
    expect(gz).toBeLessThanOrEqual(2048);
  });

  it('opens the install dialog on click and installs in demo; nothing of the app loads before the click', async () => {
    const { page, errors } = app.browser;
    const part = seededBytes(8192, 77);
    vendor = await vendorSite({
      '/fw/manifest.json': JSON.stringify({ name: 'Acme Plant Sensor', version: '3.2.0', builds: [{ chipFamily: 'ESP32', parts: [{ path: 'app.bin', offset: 0x10000 }] }] }),
      '/fw/app.bin': part,
      '/shop.html': `<!doctype html><html lang="en"><head><title>Acme shop</title><link rel="icon" href="data:,"><script src="${app.server.origin}/webprog-install.js" defer></script></head>
        <body><h1>Acme Plant Sensor</h1><webprog-install manifest="/fw/manifest.json" style="--webprog-install-background: rgb(170, 20, 60)">Update my sensor</webprog-install></body></html>`,
    });
    const fromApp: string[] = [];
    page.on('request', (r) => r.url().startsWith(app.server.origin) && fromApp.push(new URL(r.url()).pathname));
    await page.goto(`${vendor.origin}/shop.html`);
    const button = page.getByRole('button', { name: 'Update my sensor' });
    await button.waitFor();
    // Themable from the vendor's CSS.
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(170, 20, 60)');
    expect(fromApp).toEqual(['/webprog-install.js']);

    await button.click();
    const frame = page.frameLocator('iframe[title="Install the update"]');
    await frame.getByRole('heading', { name: 'Acme Plant Sensor', level: 1 }).waitFor({ timeout: 30_000 });
    expect(fromApp.length).toBeGreaterThan(1);
    await frame.getByRole('button', { name: 'Try a demo' }).click();
    await frame.getByRole('heading', { name: 'Demo finished' }).waitFor({ timeout: 60_000 });
    expect(vendor.requests).toContain('/fw/app.bin');
    expect(errors).toEqual([]);
  });
});
