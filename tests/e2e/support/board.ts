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
