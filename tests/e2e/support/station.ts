import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { writeHexFile } from './firmware';

/* Steps the production specs share: a recipe through the real editor, the slot count, a finished run. */

export function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/** Adds the firmware to the library and makes a recipe for it with a u32 serial from `start`. */
export async function prepareRecipe(page: Page, origin: string, opts: { name: string; size: number; start: number }) {
  const fw = writeHexFile(`station-${opts.name.replace(/\W+/g, '-')}-${Date.now()}.hex`, opts.size, 11);
  await page.goto(origin + '/#/library');
  await page.locator('#library-add').setInputFiles(fw.path);
  await page.getByRole('row').filter({ hasText: fw.name }).waitFor();

  await page.goto(origin + '/#/recipes');
  await page.getByRole('heading', { name: 'Recipes', exact: true }).waitFor();
  await page.getByRole('button', { name: 'New recipe' }).click();
  await page.getByLabel('Name', { exact: true }).fill(opts.name);
  await page.getByLabel('Board or part').selectOption('stk500v1:m328p:Arduino Uno');
  await page.getByLabel('Firmware (from the library)').selectOption(fw.sha256);
  await page.getByLabel('Write a serial number into each device').check();
  await page.getByLabel('Serial address').fill('0x7000');
  await page.getByLabel('Serial format').selectOption('u32le');
  await page.getByLabel('Serial start').fill(String(opts.start));
  await page.getByRole('button', { name: 'Save recipe' }).click();
  const row = page.getByRole('row').filter({ hasText: opts.name });
  await row.waitFor();
  await expect.poll(() => row.innerText()).toContain(`next ${opts.start}`);
  await row.getByRole('button', { name: 'Use at station' }).click();
  await page.getByRole('heading', { name: 'Station', exact: true }).waitFor();
  return fw;
}

export async function setSlots(page: Page, n: number) {
  const setup = page.locator('details.setup');
  if (!(await setup.evaluate((d) => (d as HTMLDetailsElement).open))) await setup.locator('summary').click();
  const input = page.getByLabel('Slots', { exact: true });
  await input.fill(String(n));
  await input.press('Enter');
  await input.blur();
  await expect.poll(() => page.getByRole('article', { name: /^Slot \d+$/ }).count()).toBe(n);
}

/** Waits until no slot runs any more; returns each tile's status and serial, in slot order. */
export async function waitForRun(page: Page, timeout = 60_000) {
  const tiles = page.getByRole('article', { name: /^Slot \d+$/ });
  await expect.poll(() => tiles.evaluateAll((els) => els.filter((e) => e.getAttribute('data-status') === 'running').length), { timeout: 5000 }).toBeGreaterThan(0);
  await expect.poll(() => tiles.evaluateAll((els) => els.filter((e) => e.getAttribute('data-status') === 'running').length), { timeout, interval: 250 }).toBe(0);
  return tiles.evaluateAll((els) =>
    els.map((e) => ({
      status: e.getAttribute('data-status'),
      word: e.querySelector('.word')?.textContent ?? '',
      serial: e.querySelector('.serial dd')?.textContent?.trim() ?? '',
    })),
  );
}

/** Enters operator mode from the station screen, locking the recipe with `pin` when it is not locked yet. */
export async function enterOperatorMode(page: Page, pin: string) {
  await page.getByRole('button', { name: 'Operator mode…' }).click();
  const field = page.getByRole('textbox', { name: 'PIN' });
  if (await field.isVisible()) {
    await field.fill(pin);
    await page.getByRole('button', { name: 'Lock and enter operator mode' }).click();
  }
  await page.getByRole('button', { name: 'Leave operator mode…' }).waitFor();
}

/** Leaves operator mode with `pin`; resolves once the main navigation is back. */
export async function leaveOperatorMode(page: Page, pin: string) {
  await page.getByRole('button', { name: 'Leave operator mode…' }).click();
  await page.getByRole('textbox', { name: 'PIN' }).fill(pin);
  await page.getByRole('button', { name: 'Leave operator mode', exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}
