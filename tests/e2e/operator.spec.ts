import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { leaveOperatorMode, prepareRecipe, setSlots, waitForRun } from './support/station';

/*
 * Operator mode on a 1366×768 station monitor, as the operator meets it: a locked screen with scan,
 * start and stop, eight tiles in view, the shift's figures, every failure's hint readable, and no way
 * out but the engineer's PIN. And the engineer cannot give two recipes the same name.
 */

const app = appUnderTest({ viewport: { width: 1366, height: 768 } });

/** Accessible names of every enabled button on the page, as assistive technology gets them. */
async function pressable(page: Page): Promise<string[]> {
  const tree = await page.locator('body').ariaSnapshot();
  return [...tree.matchAll(/- button "([^"]*)"(.*)$/gm)].filter((m) => !m[2]!.includes('[disabled]')).map((m) => m[1]!);
}

describe('operator mode in Chromium', () => {
  it('locks the station to scan, start and stop, fits eight slots, and ends only with the recipe PIN', async () => {
    const { page, errors } = app.browser;
    await prepareRecipe(page, app.server.origin, { name: 'Line A', size: 2048, start: 9000 });
    await setSlots(page, 8);
    await page.getByLabel('Link fault, slot 3').selectOption('disconnect');

    // The recipe is not locked yet: entering operator mode asks the engineer for the PIN that ends it.
    await page.getByRole('button', { name: 'Operator mode…' }).click();
    await page.getByText('Choose a PIN to lock "Line A"').waitFor();
    await page.getByRole('textbox', { name: 'PIN' }).fill('4711');
    await page.getByRole('button', { name: 'Lock and enter operator mode' }).click();
    await page.getByRole('button', { name: 'Leave operator mode…' }).waitFor();

    // Nothing leads away: no navigation, no recipe choice, no set-up; only scan, start and stop.
    expect(await page.getByRole('navigation').count()).toBe(0);
    expect(await page.locator('a[href]:not([href="#main"])').count()).toBe(0);
    expect(await page.getByLabel('Recipe', { exact: true }).count()).toBe(0);
    expect(await page.locator('input:visible, select:visible, textarea:visible').evaluateAll((els) => els.map((e) => e.id))).toEqual(['station-scan']);
    for (const name of await pressable(page)) expect(name).toMatch(/^(Start all|Stop all|Start slot \d|Leave operator mode…)$/);
    await page.evaluate(() => (location.hash = '#/settings'));
    await page.waitForTimeout(200);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Station');
    expect(await page.evaluate(() => location.hash)).toBe('#/station');

    // A run from the keyboard: seven pass, slot 3 loses its cable.
    await page.getByLabel('Scan', { exact: true }).focus();
    await page.keyboard.press('Control+Enter');
    const run = await waitForRun(page);
    expect(run.map((t) => t.status)).toEqual(['passed', 'passed', 'failed', 'passed', 'passed', 'passed', 'passed', 'passed']);
    for (const name of await pressable(page)) expect(name).toMatch(/^(Start all|Restart slot \d|Full text of slot 3's failure|Leave operator mode…)$/);

    // All eight tiles are in view without scrolling.
    expect(await page.evaluate(() => document.scrollingElement!.scrollTop)).toBe(0);
    const bottoms = await page.getByRole('article', { name: /^Slot \d+$/ }).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().bottom));
    expect(bottoms).toHaveLength(8);
    for (const b of bottoms) expect(b).toBeLessThanOrEqual(768);

    // The failed tile shows what to do, uncut; the whole text is one click away.
    const slot3 = page.getByRole('article', { name: 'Slot 3' });
    const hint = slot3.locator('.hint');
    expect(await hint.isVisible()).toBe(true);
    expect(await hint.evaluate((e) => e.scrollHeight <= e.clientHeight + 1 && e.getBoundingClientRect().bottom <= 768)).toBe(true);
    expect((await hint.innerText()).length).toBeGreaterThan(10);
    await slot3.getByText('Full text').click();
    expect(await slot3.locator('details').innerText()).toContain('device-lost');

    // Units per hour, yield and the last serial, on the station screen.
    const figures = page.getByRole('definition');
    await expect.poll(() => page.locator('.figures').innerText(), { timeout: 5000 }).toContain('87.5 %'); // 7 of 8 first time
    const passedSerials = run.filter((t) => t.status === 'passed').map((t) => t.serial);
    expect(passedSerials).toContain((await figures.nth(2).innerText()).trim());
    expect(Number(await figures.nth(0).innerText())).toBeGreaterThan(0);

    // A reload stays locked; a wrong PIN keeps it locked; the right one ends it.
    await page.reload();
    await page.getByRole('button', { name: 'Leave operator mode…' }).waitFor();
    expect(await page.getByRole('navigation').count()).toBe(0);
    await page.getByRole('button', { name: 'Leave operator mode…' }).click();
    await page.getByRole('textbox', { name: 'PIN' }).fill('0000');
    await page.getByRole('button', { name: 'Leave operator mode', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'That PIN does not end operator mode' }).waitFor();
    expect(await page.getByRole('navigation').count()).toBe(0);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await leaveOperatorMode(page, '4711');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(errors).toEqual([]);
  });

  it('refuses a second recipe with the same name, in the editor, with a calm sentence', async () => {
    const { page, errors } = app.browser;
    await prepareRecipe(page, app.server.origin, { name: 'Line A', size: 1024, start: 1 });
    await page.goto(app.server.origin + '/#/recipes');
    await page.getByRole('button', { name: 'New recipe' }).click();
    await page.getByLabel('Name', { exact: true }).fill('  line a ');
    await page.getByText('A recipe named "Line A" already exists').waitFor();
    expect(await page.getByRole('button', { name: 'Save recipe' }).isDisabled()).toBe(true);
    await page.getByLabel('Name', { exact: true }).fill('Line B');
    expect(await page.getByText('already exists').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
