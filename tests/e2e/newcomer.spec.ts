import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { chooseBoard } from './support/board';

/*
 * A newcomer's first minutes (issue 11): one sentence says what this is, a sample firmware for the
 * virtual board is one click away, and after flashing it the serial monitor shows the board talking.
 */

const app = appUnderTest();

async function trySampleAndFlash(page: Page, fileName: string) {
  await page.getByRole('button', { name: 'Try it with a sample' }).click();
  await page.getByText(fileName, { exact: true }).first().waitFor();
  const flash = page.getByRole('button', { name: 'Flash', exact: true });
  await expect.poll(() => flash.isEnabled()).toBe(true);
  await flash.click();
  await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 60_000 });
}

async function monitorText(page: Page, text: RegExp) {
  const monitor = page.getByRole('region', { name: 'Serial monitor' });
  // xterm.js draws only while the terminal is on screen, as a user scrolled down to it sees it.
  await monitor.scrollIntoViewIfNeeded();
  await expect.poll(() => monitor.locator('.xterm-rows').innerText(), { timeout: 15_000 }).toMatch(text);
}

describe('a newcomer on the Flash screen', () => {
  it('reads what this is, flashes the Uno sample, and watches the board talk in the monitor', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await page.getByText(/writes firmware to a board or a flash chip straight from this browser/).waitFor();
    await trySampleAndFlash(page, 'blink.hex');
    expect(await page.getByText('Sample: Blinks the LED on pin 13').count()).toBe(1);
    await monitorText(page, /hello from the virtual ATmega328P: 26 bytes of program, line \d+/);
    expect(errors).toEqual([]);
  });

  it('has a sample for the virtual ESP32 too, and its application talks after flashing', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await chooseBoard(page, 'ESP32 any board');
    await trySampleAndFlash(page, 'hello-esp32.bin');
    await monitorText(page, /hello from the virtual ESP32, line \d+/);
    expect(errors).toEqual([]);
  });
});
