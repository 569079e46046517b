import type { Page } from 'playwright-core';

/** The Flash screen's board field (a combobox over a grouped, searchable list). */
export function boardField(page: Page) {
  return page.getByRole('combobox', { name: 'Board', exact: true });
}

/** Waits until the board list has loaded (the field is enabled and names a board). */
export async function boardsLoaded(page: Page): Promise<void> {
  await boardField(page).waitFor();
  await page.waitForFunction(() => {
    const field = document.querySelector<HTMLInputElement>('#board');
    return field !== null && !field.disabled && field.value !== '';
  });
}

/** Types `text` into the board field and picks the first match with Enter, as a keyboard user would. */
export async function chooseBoard(page: Page, text: string): Promise<void> {
  await boardsLoaded(page);
  const field = boardField(page);
  await field.click();
  await field.fill(text);
  await page.getByRole('listbox', { name: 'Boards' }).getByRole('option').first().waitFor();
  await field.press('Enter');
}

/** Every driver the board list offers, opening folded families (SPI flash) to see their parts. */
export async function driversOffered(page: Page): Promise<string[]> {
  await boardsLoaded(page);
  const field = boardField(page);
  const list = page.getByRole('listbox', { name: 'Boards' });
  const drivers = new Set<string>();
  await field.click();
  for (const family of await list.locator('[role=option]:not([data-driver])').allInnerTexts()) {
    await list.getByRole('option', { name: family.split('\n')[0]!.trim() }).click();
    for (const d of await list.locator('[data-driver]').evaluateAll((os) => os.map((o) => o.getAttribute('data-driver')!))) drivers.add(d);
    await field.press('Escape');
  }
  for (const d of await list.locator('[data-driver]').evaluateAll((os) => os.map((o) => o.getAttribute('data-driver')!))) drivers.add(d);
  await field.press('Escape');
  return [...drivers];
}

/** Chooses the first board of a driver, as a mouse user would (opening a folded family if need be). */
export async function chooseDriver(page: Page, driverId: string): Promise<void> {
  await boardsLoaded(page);
  const field = boardField(page);
  const list = page.getByRole('listbox', { name: 'Boards' });
  await field.click();
  if ((await list.locator(`[data-driver="${driverId}"]`).count()) === 0) {
    for (const family of await list.locator('[role=option]:not([data-driver])').allInnerTexts()) {
      await list.getByRole('option', { name: family.split('\n')[0]!.trim() }).click();
      if ((await list.locator(`[data-driver="${driverId}"]`).count()) > 0) break;
      await field.press('Escape');
    }
  }
  await list.locator(`[data-driver="${driverId}"]`).first().click();
}
