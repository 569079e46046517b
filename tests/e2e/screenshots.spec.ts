import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, launch, ROOT, serve } from './support/app';
import { boardsLoaded } from './support/board';
import { writeHexFile } from './support/firmware';

/*
 * The README's pictures, taken from the real app in Chromium: the first screen a newcomer sees,
 * and a finished job. They land in docs/ only with UPDATE_SCREENSHOTS=1 (a test run must not change
 * tracked files); otherwise in a temporary folder, so the flow is still exercised.
 */
const DOCS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'webprog-shots-'));

let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  ensureBuilt();
  server = await serve();
  mkdirSync(DOCS, { recursive: true });
});
afterAll(async () => {
  await server?.stop();
});

describe('screenshots for the README', () => {
  it('main screen and a verified job', async () => {
    const browser = await launch({ viewport: { width: 1280, height: 820 } });
    try {
      const { page, errors } = browser;
      await page.goto(server.origin + '/');
      await page.getByRole('radio', { name: /Arduino Uno \(virtual\)/ }).waitFor();
      await boardsLoaded(page);
      await page.screenshot({ path: join(DOCS, 'screenshot-main.png') });

      const fw = writeHexFile('blink.hex', 3324, 5);
      await page.locator('#firmware-file').setInputFiles(fw.path);
      await page.getByText('Intel HEX', { exact: true }).waitFor();
      await page.getByRole('button', { name: 'Flash', exact: true }).click();
      await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });
      await page.mouse.move(0, 0);
      await page.screenshot({ path: join(DOCS, 'screenshot-verified.png') });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
