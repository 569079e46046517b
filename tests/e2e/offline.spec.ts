import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildInto, DIST, ensureBuilt, launch, serve, type Browser } from './support/app';
import { chooseDriver, driversOffered } from './support/board';
import { randomBytes, writeHexSegments } from './support/firmware';

/**
 * Field technicians often work without a network. The app is deployed on a host that sends
 * `Vary: Origin` (as vite preview and many static hosts do); a technician visits build A, the vendor
 * deploys build B, the technician opens the app online once, then goes offline: the reload must bring
 * up build B whole, every driver and its virtual device included (lazily loaded chunks).
 */
const BUILD_B = join(DIST, '..', 'dist-b');
const BUILD_B_VERSION = '0.0.0-offline-b';

let site: string;
let server: Awaited<ReturnType<typeof serve>>;
let browser: Browser;

function deploy(build: string): void {
  rmSync(site, { recursive: true, force: true });
  cpSync(build, site, { recursive: true });
}

/** The entry script index.html names: it differs between two builds. */
function entryOf(build: string): string {
  return /<script type="module"[^>]*src="\.\/([^"]+)"/.exec(readFileSync(join(build, 'index.html'), 'utf8'))![1]!;
}

beforeAll(async () => {
  ensureBuilt();
  buildInto(BUILD_B, { WEBPROG_VERSION: BUILD_B_VERSION });
  site = mkdtempSync(join(tmpdir(), 'webprog-site-'));
  deploy(DIST);
  server = await serve(site, { vary: 'Origin' });
});
afterAll(async () => {
  await server?.stop();
  rmSync(site, { recursive: true, force: true });
});
beforeEach(async () => {
  browser = await launch();
});
afterEach(async () => {
  await browser?.close();
});

/** Where a driver's devices keep a program, when not at 0 (AVR, SPI flash): STM32 flash, an ESP app. */
const ADDRESS: Record<string, number> = { 'stm32-usart': 0x0800_0000, 'usb-dfu': 0x0800_0000, 'esp-rom': 0x1_0000 };
const job = (driver: string) => ({ driver, address: ADDRESS[driver] ?? 0, size: 2048 });

async function flashOnVirtual(page: Page, job: { driver: string; address: number; size: number }): Promise<void> {
  await chooseDriver(page, job.driver);
  await page.getByRole('radio', { name: /\(virtual\)/ }).check();
  const fw = writeHexSegments(`offline-${job.driver}.hex`, [{ address: job.address, data: randomBytes(job.size, job.address + job.size) }]);
  await page.locator('input[type=file]#firmware-file').setInputFiles(fw.path);
  await page.getByText('Intel HEX', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Flash', exact: true }).click();
  await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 60_000 });
  rmSync(join(fw.path, '..'), { recursive: true, force: true });
}

describe('offline use across a deployment', () => {
  it('takes build B online once, then reloads offline and flashes every driver’s virtual device', async () => {
    const { page, context, errors } = browser;
    await page.goto(server.origin + '/');
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    // Build A is precached and controls the page.
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 20_000 }).toBe(true);

    // The vendor deploys build B; the technician opens the app once with the network up.
    deploy(BUILD_B);
    await page.reload();
    const update = page.getByRole('status').filter({ hasText: 'Update available' });
    await update.waitFor({ timeout: 30_000 });

    // Then the network is gone: taking the update must still bring up all of build B.
    await context.setOffline(true);
    await update.getByRole('button', { name: 'Reload' }).click();
    await expect.poll(() => page.evaluate(() => (document.querySelector('script[type=module]') as HTMLScriptElement | null)?.src ?? ''), { timeout: 20_000 }).toContain(entryOf(BUILD_B));
    expect(entryOf(BUILD_B)).not.toBe(entryOf(DIST));

    const drivers = await driversOffered(page);
    expect(drivers).toEqual(expect.arrayContaining(['stk500v1', 'serprog', 'stm32-usart', 'esp-rom', 'usb-dfu']));
    for (const driver of drivers) await flashOnVirtual(page, job(driver));
    expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::/.test(e))).toEqual([]);
  });

  it('reloads offline on the build it has when no update was taken', async () => {
    const { page, context, errors } = browser;
    deploy(DIST);
    await page.goto(server.origin + '/');
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await context.setOffline(true);
    await page.reload();
    await flashOnVirtual(page, job('stk500v1'));
    expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::/.test(e))).toEqual([]);
  });
});
