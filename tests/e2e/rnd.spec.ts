import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { writeHexFile } from './support/firmware';

/*
 * The R&D loop (issue 11), as an engineer flashing the same board thirty times a day meets it: the
 * file opened through the browser's file picker is read again on every re-flash, a rebuild says so
 * with its new SHA-256, and "Skip unchanged" leaves what the board already holds alone.
 */

const app = appUnderTest();

/** The browser's file picker, answered by a handle whose file the test rewrites like a build would. */
async function fakeFilePicker(page: Page, name: string) {
  await page.addInitScript((fileName) => {
    const w = window as unknown as { __build: { text: string; at: number }; showOpenFilePicker: () => Promise<unknown[]> };
    w.__build = { text: '', at: 0 };
    w.showOpenFilePicker = async () => [{ kind: 'file', name: fileName, getFile: async () => new File([w.__build.text], fileName, { lastModified: w.__build.at }) }];
  }, name);
}

async function build(page: Page, path: string, secondsAgo: number) {
  await page.evaluate(
    ([text, at]) => ((window as unknown as { __build: { text: string; at: number } }).__build = { text, at }),
    [readFileSync(path, 'utf8'), Date.now() - secondsAgo * 1000] as const,
  );
}

async function verified(page: Page) {
  const heading = page.getByRole('heading', { name: 'Verified' });
  await heading.waitFor({ timeout: 60_000 });
  return page.getByRole('status').filter({ has: heading }).innerText();
}

describe('the R&D loop', () => {
  it('reads the picked file again on Ctrl+Enter and says it was rebuilt, with the new SHA-256, before writing it', async () => {
    const { page, errors } = app.browser;
    const first = writeHexFile('app.hex', 2048, 21);
    const second = writeHexFile('app.hex', 2048, 22);
    await fakeFilePicker(page, 'app.hex');
    await page.goto(app.server.origin + '/');
    await build(page, first.path, 300);
    await page.getByText('Choose file…').click();
    await page.getByText('app.hex', { exact: true }).first().waitFor();
    const flash = page.getByRole('button', { name: 'Flash', exact: true });
    await expect.poll(() => flash.isEnabled()).toBe(true);
    await flash.click();
    expect(await verified(page)).toContain(first.sha256);

    // The build writes a new app.hex; the engineer presses Ctrl+Enter without choosing it again.
    await build(page, second.path, 12);
    await page.keyboard.press('Control+Enter');
    await page.getByText(/^rebuilt 1\d s ago$/).waitFor();
    expect(await page.locator('.firmware code').first().getAttribute('title')).toBe(second.sha256);
    expect(await verified(page)).toContain(second.sha256);

    // Unchanged since: flashed as it is, no "rebuilt" claim renewed.
    await page.keyboard.press('Control+Enter');
    await page.getByRole('progressbar', { name: 'Flashing progress' }).waitFor();
    expect(await verified(page)).toContain(second.sha256);
    expect(errors).toEqual([]);
  });

  it('skips what the board already holds when "Skip unchanged" is on', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await page.getByRole('button', { name: 'Try it with a sample' }).click();
    await page.getByText('blink.hex', { exact: true }).first().waitFor();
    const flash = page.getByRole('button', { name: 'Flash', exact: true });
    await expect.poll(() => flash.isEnabled()).toBe(true);
    await flash.click();
    expect(await verified(page)).toMatch(/^[\s\S]*\b(26|128) bytes written/);

    await page.getByRole('checkbox', { name: /Skip unchanged/ }).check();
    await page.keyboard.press('Control+Enter');
    await page.getByRole('progressbar', { name: 'Flashing progress' }).waitFor();
    const text = await verified(page);
    expect(text).toContain('0 bytes written');
    expect(text).toMatch(/bytes already on the device were left alone/);
    expect(errors).toEqual([]);
  });
});
