import { describe, expect, it } from 'vitest';
import { appUnderTest } from './support/app';
import { writeHexFile } from './support/firmware';

/**
 * Field technicians often work without a network: after one visit the app, every driver and its
 * virtual devices must load and flash with the network gone (public/sw.js caches the whole build).
 */
const app = appUnderTest();

describe('offline use', () => {
  it('reloads and flashes a virtual Uno with the network gone', async () => {
    const { page, context, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    // Installed means the whole build is in the cache, before any driver was ever loaded.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await expect.poll(() => page.evaluate(() => caches.open('webprog-v1').then(async (c) => (await c.keys()).length)), { timeout: 20_000 }).toBeGreaterThan(20);

    await context.setOffline(true);
    await page.reload();
    await page.getByRole('radio', { name: /Arduino Uno \(virtual\)/ }).waitFor();

    const fw = writeHexFile(`offline-${Date.now()}.hex`, 2048);
    await page.locator('input[type=file]#firmware-file').setInputFiles(fw.path);
    await page.getByText('Intel HEX', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });
    expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::/.test(e))).toEqual([]);
  });
});
