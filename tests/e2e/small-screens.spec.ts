import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { boardsLoaded } from './support/board';
import { writeHexFile } from './support/firmware';
import { vendorLinks } from './support/customer-links';
import { prepareRecipe, setSlots } from './support/station';

/*
 * A phone held upright (360 px wide): no view scrolls sideways, the navigation folds behind a menu
 * button, the Library, History and Recipes tables turn into lists, the station's tiles wrap.
 */

const app = appUnderTest({ viewport: { width: 360, height: 740 } });

/**
 * How far the page scrolls sideways (0 when it fits); when it does not, the elements that stick out
 * are named in the failure.
 */
async function sideways(page: Page): Promise<number | { overflow: number; culprits: string[] }> {
  return page.evaluate(() => {
    const el = document.scrollingElement!;
    const overflow = el.scrollWidth - el.clientWidth;
    if (overflow === 0) return 0;
    const culprits = Array.from(document.querySelectorAll('body *'))
      .filter((e) => e.getBoundingClientRect().right > el.clientWidth + 0.5)
      .slice(0, 8)
      .map((e) => `${e.tagName.toLowerCase()}.${Array.from(e.classList).join('.')} (${Math.round(e.getBoundingClientRect().right)} px)`);
    return { overflow, culprits };
  });
}

/** How far the screen's table scrolls sideways inside its own box (0 when it reads as a list). */
function tableOverflow(page: Page): Promise<number> {
  return page.locator('.table-wrap').first().evaluate((el) => el.scrollWidth - el.clientWidth);
}

async function openByMenu(page: Page, name: string) {
  const menu = page.getByRole('button', { name: 'Menu' });
  if ((await menu.getAttribute('aria-expanded')) !== 'true') await menu.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
}

describe('small screens (360 px)', () => {
  it('fits every view in the width, folds the navigation, and lists instead of wide tables', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await boardsLoaded(page);

    // The navigation is one menu button until opened.
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    const history = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History', exact: true });
    expect(await history.isVisible()).toBe(false);
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    expect(await history.isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    expect(await sideways(page)).toBe(0);

    // One job on the Flash screen: a file chosen, flashed, verified.
    const fw = writeHexFile(`phone-${Date.now()}.hex`, 2048, 3);
    await page.locator('#firmware-file').setInputFiles(fw.path);
    await page.getByText('Intel HEX', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });
    expect(await sideways(page)).toBe(0);

    // History: "1 job", and the row reads as a list item.
    await openByMenu(page, 'History');
    await page.getByRole('heading', { name: 'History', level: 1 }).waitFor();
    expect(await menu.getAttribute('aria-expanded')).toBe('false'); // following a link closes the menu
    await page.getByText(fw.name).first().waitFor();
    expect(await page.locator('.summary').innerText()).toMatch(/^1 job · 1 verified · 0 failed/);
    expect(await sideways(page)).toBe(0);
    expect(await tableOverflow(page)).toBe(0);

    await openByMenu(page, 'Library');
    await page.getByText(fw.name).first().waitFor();
    expect(await sideways(page)).toBe(0);
    expect(await tableOverflow(page)).toBe(0);

    // The production screens, with a recipe and four slots.
    await prepareRecipe(page, app.server.origin, { name: 'Phone run', size: 1024, start: 1 });
    await setSlots(page, 4);
    expect(await sideways(page)).toBe(0);
    const boxes = await page.getByRole('article', { name: /^Slot \d+$/ }).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect));
    for (const b of boxes) expect(b.right).toBeLessThanOrEqual(360);
    expect(new Set(boxes.map((b) => Math.round(b.top))).size).toBeGreaterThan(1); // the tiles wrap onto rows

    await page.goto(app.server.origin + '/#/recipes');
    await page.getByText('Phone run').first().waitFor();
    expect(await sideways(page)).toBe(0);
    expect(await tableOverflow(page)).toBe(0);

    for (const hash of ['#/dashboard', '#/planner', '#/inspector', '#/settings', '#/']) {
      await page.goto(app.server.origin + '/' + hash);
      await page.locator('h1').first().waitFor();
      await page.waitForTimeout(300); // lazily loaded parts settle
      expect({ hash, sideways: await sideways(page) }).toEqual({ hash, sideways: 0 });
    }

    // A customer following a vendor's link on a phone.
    const vendor = await vendorLinks(app.server.origin);
    try {
      await page.goto(vendor.good);
      await page.getByRole('button', { name: 'Try a demo' }).waitFor();
      expect(await sideways(page)).toBe(0);
    } finally {
      await vendor.stop();
    }
    expect(errors).toEqual([]);
  });
});
