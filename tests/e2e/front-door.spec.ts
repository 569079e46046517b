import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/bytes/sha256';
import { buildEspImage, buildUf2Block } from '../support/image-fixtures';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { boardField, boardsLoaded, chooseBoard } from './support/board';
import { writeHexFile } from './support/firmware';

/*
 * Trust at the front door (issue 11), as a newcomer meets it on the Flash screen: what cannot work is
 * refused on the desk, with the reason beside the disabled Flash button, and the board list is short,
 * grouped and searchable from the keyboard.
 */

const app = appUnderTest();

function flashButton(page: Page) {
  return page.getByRole('button', { name: 'Flash', exact: true });
}

async function chooseFile(page: Page, path: string, name: string) {
  await page.locator('input[type=file]#firmware-file').setInputFiles(path);
  await page.getByText(name, { exact: true }).first().waitFor();
}

function tempFile(name: string, bytes: Uint8Array | string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'webprog-door-')), name);
  writeFileSync(path, bytes);
  return path;
}

/** History is empty: nothing was started. */
async function expectNoHistory(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History', exact: true }).click();
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await page.getByText('No jobs yet.').waitFor();
}

describe('the Flash screen refuses on the desk what cannot work', () => {
  it('keeps Flash disabled, with the reason beside it, while a 39 KiB HEX does not fit an Uno', async () => {
    const { page, errors } = app.browser;
    const big = writeHexFile('too-big.hex', 39 * 1024, 7);
    await page.goto(app.server.origin + '/');
    await chooseFile(page, big.path, big.name);
    await page.getByText('Intel HEX', { exact: true }).waitFor();

    await expect.poll(() => page.locator('#flash-note').innerText()).toMatch(/needs flash 0x0000–0x9BFF, but the ATmega328P has flash 0x0000–0x7FFF/);
    expect(await flashButton(page).isDisabled()).toBe(true);
    // Ctrl+Enter does not get round the button.
    await page.keyboard.press('Control+Enter');
    await page.waitForTimeout(300);
    expect(await page.getByRole('progressbar', { name: 'Flashing progress' }).count()).toBe(0);
    await expectNoHistory(page);

    // A board it fits enables the button again.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Flash', exact: true }).click();
    await chooseBoard(page, 'ATmega1284P');
    await expect.poll(() => flashButton(page).isEnabled()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps Flash disabled for an empty file', async () => {
    const { page, errors } = app.browser;
    const empty = tempFile('empty.bin', new Uint8Array(0));
    await page.goto(app.server.origin + '/');
    await page.locator('input[type=file]#firmware-file').setInputFiles(empty);
    await expect.poll(() => page.locator('.firmware').innerText()).toMatch(/empty\.bin/);
    await expect.poll(() => page.locator('#flash-note').innerText()).toMatch(/empty|no data/i);
    expect(await flashButton(page).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe('the board picker', () => {
  it('is short, grouped by family, searchable, and works from the keyboard', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await boardsLoaded(page);
    const field = boardField(page);
    const list = page.getByRole('listbox', { name: 'Boards' });

    // Opened, it lists families; the hundreds of SPI-flash parts wait behind one row.
    await field.focus();
    await list.waitFor();
    const groups = await list.getByRole('group').evaluateAll((gs) => gs.map((g) => g.getAttribute('aria-labelledby') && document.getElementById(g.getAttribute('aria-labelledby')!)?.textContent));
    expect(groups).toEqual(['Arduino and AVR', 'ESP32 and ESP8266', 'STM32', 'SPI flash chip', 'Other']);
    expect(await list.getByRole('option').count()).toBeLessThan(130);
    expect(await list.getByRole('option', { name: /SPI flash chip.*parts/ }).count()).toBe(1);

    // Typing narrows it; arrows and Enter choose.
    await field.fill('blue pill');
    await expect.poll(() => list.getByRole('option').count()).toBe(1);
    await field.press('ArrowDown');
    await field.press('Enter');
    await expect.poll(() => field.inputValue()).toBe('Blue Pill — STM32F103C8');
    await expect.poll(() => page.getByRole('radio', { name: /Blue Pill \(virtual\)/ }).isChecked()).toBe(true);

    // A part number finds the SPI-flash chip; the family row opens the whole family, Escape backs out.
    await field.fill('w25q64jv-iq');
    await list.getByRole('option', { name: /W25Q64JV-IQ/ }).waitFor();
    await field.press('Escape');
    await field.press('ArrowDown');
    const familyRow = list.getByRole('option', { name: /SPI flash chip/ });
    await familyRow.waitFor();
    for (let i = 0; i < 200 && (await field.getAttribute('aria-activedescendant')) !== (await familyRow.getAttribute('id')); i++) await field.press('ArrowDown');
    await field.press('Enter');
    await expect.poll(() => list.getByRole('option').count()).toBeGreaterThan(300);
    await field.press('Escape');
    await expect.poll(() => list.getByRole('option', { name: /SPI flash chip/ }).count()).toBe(1);
    await field.press('Escape');
    expect(await list.count()).toBe(0);
    expect(await field.inputValue()).toBe('Blue Pill — STM32F103C8');
    expect(errors).toEqual([]);
  });
});

describe('content and placement checks on the Flash screen', () => {
  it('refuses a web page and a text file in one calm sentence, and keeps them out of the Library', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    const html = tempFile('index.html', '<!doctype html><html><head><title>Download</title></head><body><p>Your firmware</p></body></html>\n');
    await page.locator('input[type=file]#firmware-file').setInputFiles(html);
    await expect.poll(() => page.locator('#flash-note').innerText()).toContain('This looks like a web page, not firmware.');
    expect(await flashButton(page).isDisabled()).toBe(true);
    const notes = tempFile('notes.txt', 'Flash the board with the new build tomorrow.\nCheck the fuses first.\n'.repeat(20));
    await page.locator('input[type=file]#firmware-file').setInputFiles(notes);
    await expect.poll(() => page.locator('#flash-note').innerText()).toContain('This is a text file, not firmware.');
    expect(await flashButton(page).isDisabled()).toBe(true);
    await page.keyboard.press('Control+Enter');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library', exact: true }).click();
    await page.getByText('The library is empty.').waitFor();
    await expectNoHistory(page);
    expect(errors).toEqual([]);
  });

  it('asks before flashing a binary that reads as text, then flashes it when told to', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    const texty = tempFile('config.bin', 'SSID=plant-floor-3;PASS=........;MODE=station;'.repeat(40));
    await page.locator('input[type=file]#firmware-file').setInputFiles(texty);
    await expect.poll(() => page.locator('#flash-note').innerText()).toContain('reads as text');
    expect(await flashButton(page).isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: /Flash it anyway/ }).check();
    await expect.poll(() => flashButton(page).isEnabled()).toBe(true);
    await flashButton(page).click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
  });

  it('refuses a UF2 and an ESP image for an Uno before anything opens', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    const uf2 = tempFile('app.uf2', buildUf2Block({ address: 0x2000, data: new Uint8Array(256).fill(0x11), blockNo: 0, numBlocks: 1, flags: 0x2000, familyOrSize: 0xe48bff56 }));
    await page.locator('input[type=file]#firmware-file').setInputFiles(uf2);
    await page.getByText('app.uf2', { exact: true }).first().waitFor();
    await expect.poll(() => flashButton(page).isDisabled()).toBe(true);
    await expect.poll(() => page.locator('#flash-note').innerText()).not.toMatch(/Checking/);
    const esp = tempFile('app.bin', buildEspImage({ chipId: 0, segments: [{ address: 0x3f400020, data: new Uint8Array(512).fill(0x22) }], sha256 }));
    await page.locator('input[type=file]#firmware-file').setInputFiles(esp);
    await page.getByText('app.bin', { exact: true }).first().waitFor();
    await expect.poll(() => page.locator('#flash-note').innerText()).toMatch(/ESP32/);
    expect(await flashButton(page).isDisabled()).toBe(true);
    await expectNoHistory(page);
    expect(errors).toEqual([]);
  });

  it('writes a raw STM32 .bin at the flash start without the user typing anything', async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await chooseBoard(page, 'blue pill');
    await page.getByRole('button', { name: 'Try it with a sample' }).click();
    await page.getByText('idle-cortex-m.bin', { exact: true }).first().waitFor();
    const address = page.getByRole('textbox', { name: 'Address' });
    await expect.poll(() => address.inputValue()).toBe('0x08000000');
    expect(await page.locator('#firmware-address-why').innerText()).toMatch(/^Raw binary: .*flash start, 0x0?8000000/);
    await expect.poll(() => flashButton(page).isEnabled()).toBe(true);
    await flashButton(page).click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
  });

  it("pre-fills an ESP application's address, explains it, and refuses it at 0x0 before connecting", async () => {
    const { page, errors } = app.browser;
    await page.goto(app.server.origin + '/');
    await chooseBoard(page, 'ESP32 any board');
    await page.getByRole('button', { name: 'Try it with a sample' }).click();
    await page.getByText('hello-esp32.bin', { exact: true }).first().waitFor();
    const address = page.getByRole('textbox', { name: 'Address' });
    await expect.poll(() => address.inputValue()).toBe('0x10000');
    expect(await page.locator('#firmware-address-why').innerText()).toMatch(/^ESP application: .*0x10000/);
    await address.fill('0x0');
    await expect.poll(() => page.locator('#flash-note').innerText()).toMatch(/bootloader/i);
    expect(await flashButton(page).isDisabled()).toBe(true);
    await page.keyboard.press('Control+Enter');
    await expectNoHistory(page);
    expect(errors).toEqual([]);
  });
});
