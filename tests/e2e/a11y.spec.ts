import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { boardField, boardsLoaded, chooseBoard } from './support/board';
import { AxeReport } from './support/axe';
import { writeHexFile } from './support/firmware';
import { leaveOperatorMode, nav, prepareRecipe, setSlots, waitForRun } from './support/station';
import { vendorLinks } from './support/customer-links';

/*
 * Every view and its main states, checked by axe-core in Chromium, in the light and the dark colour
 * scheme: no violation of moderate impact or worse, and exactly one <h1> (the view's title) each.
 * The per-state counts are printed: they are the figure the issue asks for.
 */

const app = appUnderTest({ viewport: { width: 1280, height: 900 } });
let vendor: Awaited<ReturnType<typeof vendorLinks>> | undefined;
afterAll(async () => {
  await vendor?.stop();
});

async function both(report: AxeReport, page: Page, state: string) {
  await page.emulateMedia({ colorScheme: 'light' });
  await report.check(page, `${state} (light)`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await report.check(page, `${state} (dark)`);
  await page.emulateMedia({ colorScheme: 'light' });
}

async function view(page: Page, hash: string, heading: RegExp | string) {
  await page.goto(app.server.origin + '/' + hash);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

describe('accessibility of every view (axe-core)', () => {
  it('has one h1 and no moderate-or-worse axe violation in any view or state', async () => {
    const { page, errors } = app.browser;
    const report = new AxeReport();

    // Empty states: a first visit.
    await page.goto(app.server.origin + '/');
    await page.getByRole('radio', { name: /Arduino Uno \(virtual\)/ }).waitFor();
    await boardsLoaded(page);
    await both(report, page, 'Flash, empty');
    await boardField(page).click();
    await boardField(page).fill('STM32');
    await page.getByRole('listbox', { name: 'Boards' }).getByRole('option').first().waitFor();
    await both(report, page, 'Flash, board list open');
    await boardField(page).press('Escape');
    for (const [hash, heading, state] of [
      ['#/history', 'History', 'History, empty'],
      ['#/library', 'Firmware library', 'Library, empty'],
      ['#/inspector', 'Inspector', 'Inspector, empty'],
      ['#/settings', 'Settings', 'Settings'],
      ['#/station', 'Station', 'Station, no recipe'],
      ['#/recipes', 'Recipes', 'Recipes, empty'],
      ['#/dashboard', 'Dashboard', 'Dashboard, empty'],
      ['#/planner', /^Planner/, 'Planner'],
    ] as const) {
      await view(page, hash, heading);
      await both(report, page, state);
    }

    // The recipe editor open (the production screens' dialog).
    await view(page, '#/recipes', 'Recipes');
    await page.getByRole('button', { name: 'New recipe' }).click();
    await page.getByRole('heading', { name: 'New recipe' }).waitFor();
    await both(report, page, 'Recipes, editor open');

    // A recipe, its firmware in the library, and the station ready.
    await prepareRecipe(page, app.server.origin, { name: 'Axe run', size: 2048, start: 1 });
    await both(report, page, 'Station, recipe chosen');
    await setSlots(page, 2);
    await page.getByLabel('Link fault, slot 2').selectOption('disconnect'); // a failed tile too
    await page.getByRole('button', { name: 'Start all' }).click();
    await page.locator('article[data-status="running"]').first().waitFor();
    await report.check(page, 'Station, running (light)');
    await waitForRun(page);
    await both(report, page, 'Station, finished (one slot failed)');

    // Operator mode: the PIN asked, the locked screen, a failed tile with its details open, the way out.
    await page.getByRole('button', { name: 'Operator mode…' }).click();
    await page.getByRole('textbox', { name: 'PIN' }).waitFor();
    await both(report, page, 'Station, operator PIN asked');
    await page.getByRole('textbox', { name: 'PIN' }).fill('1357');
    await page.getByRole('button', { name: 'Lock and enter operator mode' }).click();
    await page.getByRole('button', { name: 'Leave operator mode…' }).waitFor();
    await page.getByRole('button', { name: 'Start all' }).click();
    await waitForRun(page);
    await page.getByRole('article', { name: 'Slot 2' }).getByText('Full text').click();
    await both(report, page, 'Station, operator mode with a failed slot');
    await leaveOperatorMode(page, '1357');

    await view(page, '#/recipes', 'Recipes');
    await page.getByRole('button', { name: 'New recipe' }).click();
    await page.getByLabel('Name', { exact: true }).fill('axe RUN');
    await page.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
    await both(report, page, 'Recipes, editor with a taken name');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('row').filter({ hasText: 'Axe run' }).getByRole('button', { name: 'Edit Axe run' }).click();
    await page.getByRole('textbox', { name: 'PIN' }).waitFor();
    await page.getByRole('textbox', { name: 'PIN' }).waitFor();
    await both(report, page, 'Recipes, list and PIN form (locked recipe)');

    await view(page, '#/library', 'Firmware library');
    await page.getByRole('row').first().waitFor();
    await both(report, page, 'Library, one file');
    await page.getByRole('button', { name: /^Delete / }).first().click();
    await page.getByRole('button', { name: 'Keep' }).waitFor();
    await both(report, page, 'Library, delete asked');

    await view(page, '#/dashboard', 'Dashboard');
    await page.locator('.kpi').first().waitFor();
    await both(report, page, 'Dashboard, with jobs');

    // The Flash screen: a file chosen, a job running, Verified.
    const fw = writeHexFile(`axe-${Date.now()}.hex`, 24 * 1024, 9);
    await page.goto(app.server.origin + '/');
    await page.locator('#firmware-file').setInputFiles(fw.path);
    await page.getByText('Intel HEX', { exact: true }).waitFor();
    await both(report, page, 'Flash, file loaded');
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    await page.getByRole('progressbar', { name: 'Flashing progress' }).waitFor();
    await report.check(page, 'Flash, running (light)');
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 60_000 });
    await both(report, page, 'Flash, verified');

    await nav(page, 'History').click();
    await page.getByRole('row').filter({ hasText: fw.name }).waitFor();
    await both(report, page, 'History, with jobs');

    // An error card, details opened.
    await page.goto(app.server.origin + '/?fault=disconnect');
    await page.getByText('Fault injection is on').waitFor();
    await page.locator('#firmware-file').setInputFiles(fw.path);
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    const card = page.getByRole('alert').filter({ hasText: 'Flashing failed' });
    await card.waitFor({ timeout: 30_000 });
    await card.getByText('Technical details').click();
    await both(report, page, 'Flash, error card');

    // The desk checks: a binary that reads as text asks for consent; an ESP app gets its address field.
    const dir = mkdtempSync(join(tmpdir(), 'webprog-axe-'));
    try {
      await page.goto(app.server.origin + '/');
      const texty = join(dir, 'config.bin');
      writeFileSync(texty, 'SSID=plant-floor-3;PASS=........;MODE=station;'.repeat(40));
      await page.locator('#firmware-file').setInputFiles(texty);
      await page.getByRole('checkbox', { name: /Flash it anyway/ }).waitFor();
      await both(report, page, 'Flash, text-like binary asks consent');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await chooseBoard(page, 'ESP32 any board');
    await page.getByRole('button', { name: 'Try it with a sample' }).click();
    const address = page.getByRole('textbox', { name: 'Address' });
    await expect.poll(() => address.inputValue()).toBe('0x10000');
    await address.fill('0x0');
    await expect.poll(() => page.locator('#flash-note').innerText()).toMatch(/bootloader/i);
    await both(report, page, 'Flash, ESP sample placed over the bootloader (refused)');

    // The customer screen of a vendor's link: ready, a demo finished, an update refused.
    vendor = await vendorLinks(app.server.origin);
    const links = vendor;
    await page.goto(links.good);
    await page.getByRole('button', { name: 'Try a demo' }).waitFor();
    await both(report, page, 'Customer, update ready');
    await page.getByRole('button', { name: 'Try a demo' }).click();
    await page.getByRole('heading', { name: 'Demo finished' }).waitFor({ timeout: 60_000 });
    await both(report, page, 'Customer, demo finished');
    await page.goto(links.broken);
    await page.getByRole('button', { name: 'Try a demo' }).click();
    await page.getByRole('alert').first().waitFor({ timeout: 60_000 });
    await both(report, page, 'Customer, update refused');

    // A phone: the folded navigation open, and History as a list.
    await page.setViewportSize({ width: 360, height: 740 });
    await view(page, '#/history', 'History');
    await page.getByRole('button', { name: 'Menu' }).click();
    await both(report, page, 'History at 360 px, menu open');

    console.log(`axe violations (moderate or worse) per view and state:\n${report.summary()}`);
    expect(report.failing()).toEqual({});
    expect(errors).toEqual([]);
  });
});
