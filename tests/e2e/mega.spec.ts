import { describe, expect, it } from 'vitest';
import { appUnderTest } from './support/app';
import { boardField, chooseBoard } from './support/board';
import { writeHexFile } from './support/firmware';

const app = appUnderTest();

describe('flashing a virtual Arduino Mega 2560 in Chromium', () => {
  it('picks the Mega by name, flashes a HEX file through the STK500 v2 bootloader and shows Verified', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`mega-e2e-${Date.now()}.hex`, 4096);
    await page.goto(app.server.origin + '/');
    await chooseBoard(page, 'Arduino Mega 2560');
    await expect.poll(() => boardField(page).inputValue()).toBe('Arduino Mega 2560 — ATmega2560');
    const virtual = page.getByRole('radio', { name: /Arduino Mega 2560 \(virtual\)/ });
    await virtual.check();

    await page.locator('input[type=file]#firmware-file').setInputFiles(fw.path);
    await page.getByText(fw.name, { exact: true }).first().waitFor();
    const flash = page.getByRole('button', { name: 'Flash', exact: true });
    await expect.poll(() => flash.isEnabled()).toBe(true);
    await flash.click();
    const verified = page.getByRole('heading', { name: 'Verified' });
    await verified.waitFor({ timeout: 60_000 });

    const text = await page.getByRole('status').filter({ has: verified }).innerText();
    expect(text).toContain('ATmega2560');
    expect(text).toContain('1e9801');
    expect(text).toContain('4,096 bytes written and read back identical');
    expect(errors).toEqual([]);
  }, 120_000);
});
