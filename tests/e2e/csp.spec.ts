import { describe, expect, it } from 'vitest';
import { appUnderTest } from './support/app';
import { watchCsp } from './support/csp';
import { writeHexFile } from './support/firmware';
import { seededBytes, vendorSite } from './support/vendor';

/**
 * The page runs under a strict Content-Security-Policy (index.html): only its own scripts, no inline
 * script, no eval. The main journeys must run without a single `securitypolicyviolation`.
 */
const app = appUnderTest();

describe('Content-Security-Policy', () => {
  it('declares a strict policy: own scripts only, no inline script or eval, page connections to its own origin', async () => {
    const { page, context } = app.browser;
    const csp = await watchCsp(context);
    await page.goto(app.server.origin + '/');
    const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(policy).toMatch(/script-src 'self'(;|$)/);
    expect(policy).toMatch(/connect-src 'self'(;|$)/);
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);
    // And the browser enforces it: an injected inline script does not run, and is reported.
    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true';
      document.head.append(script);
      await new Promise((r) => setTimeout(r, 100));
      return (window as { __injected?: boolean }).__injected === true;
    });
    expect(ran).toBe(false);
    expect((await csp.violations()).map((v) => v.directive)).toEqual(['script-src-elem']);
  });

  it('flashes, opens every screen and installs a vendor manifest with no violation', async () => {
    const { page, context, errors } = app.browser;
    const csp = await watchCsp(context);
    await page.goto(app.server.origin + '/');

    const fw = writeHexFile(`csp-${Date.now()}.hex`, 2048);
    await page.locator('input[type=file]#firmware-file').setInputFiles(fw.path);
    await page.getByText('Intel HEX', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });

    for (const name of ['Station', 'Library', 'Inspector', 'History', 'Settings']) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading').first().waitFor();
    }

    const vendor = await vendorSite({
      '/fw/manifest.json': JSON.stringify({ name: 'Acme Plant Sensor', version: '3.1.0', builds: [{ chipFamily: 'ESP32', parts: [{ path: 'app.bin', offset: 0x10000 }] }] }),
      '/fw/app.bin': seededBytes(8192, 5),
    });
    try {
      await page.goto(`${app.server.origin}/?manifest=${encodeURIComponent(`${vendor.origin}/fw/manifest.json`)}`);
      await page.getByRole('heading', { name: 'Acme Plant Sensor' }).waitFor();
      expect(vendor.requests).toContain('/fw/manifest.json');
    } finally {
      await vendor.stop();
    }
    expect(await csp.violations()).toEqual([]);
    expect(errors).toEqual([]);
  });
});
