import { describe, expect, it } from 'vitest';
import { appUnderTest } from './support/app';
import { boardField, chooseBoard } from './support/board';
import { writeHexFile } from './support/firmware';

const app = appUnderTest();

/** Boards picked by name whose bootloaders are not the Uno's: the Mega's STK500 v2, the Leonardo's Caterina (AVR109). */
describe.each([
  { board: 'Arduino Mega 2560', chip: 'ATmega2560', id: '1e9801' },
  { board: 'Arduino Leonardo', chip: 'ATmega32U4', id: '1e9587' },
])('flashing a virtual $board in Chromium', ({ board, chip, id }) => {
  it('picks the board by name, flashes a HEX file through its bootloader and shows Verified', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`${chip}-e2e-${Date.now()}.hex`, 4096);
    await page.goto(app.server.origin + '/');
    await chooseBoard(page, board);
    await expect.poll(() => boardField(page).inputValue()).toBe(`${board} — ${chip}`);
    await page.getByRole('radio', { name: new RegExp(`${board} \\(virtual\\)`) }).check();

    await page.locator('input[type=file]#firmware-file').setInputFiles(fw.path);
    await page.getByText(fw.name, { exact: true }).first().waitFor();
    const flash = page.getByRole('button', { name: 'Flash', exact: true });
    await expect.poll(() => flash.isEnabled()).toBe(true);
    await flash.click();
    const verified = page.getByRole('heading', { name: 'Verified' });
    await verified.waitFor({ timeout: 60_000 });

    const text = await page.getByRole('status').filter({ has: verified }).innerText();
    expect(text).toContain(chip);
    expect(text).toContain(id);
    expect(text).toContain('4,096 bytes written and read back identical');
    expect(errors).toEqual([]);
  }, 120_000);
});
