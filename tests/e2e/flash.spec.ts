import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { boardField, boardsLoaded, chooseBoard } from './support/board';
import { writeHexFile } from './support/firmware';

const app = appUnderTest();

async function chooseFirmware(page: Page, path: string, name: string) {
  await page.locator('input[type=file]#firmware-file').setInputFiles(path);
  await page.getByText(name, { exact: true }).first().waitFor();
}

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function openHistoryRow(page: Page, fileName: string) {
  await nav(page, 'History').click();
  await page.getByRole('heading', { name: 'History' }).waitFor();
  const row = page.getByRole('row').filter({ hasText: fileName });
  await row.waitFor();
  return row;
}

describe('flashing a virtual Arduino Uno in Chromium', () => {
  it('flashes a HEX file, shows Verified, and keeps the job in History after a reload', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`blink-e2e-${Date.now()}.hex`, 4096);
    await page.goto(app.server.origin + '/');

    // A newcomer lands on a virtual Uno: no hardware, no choices needed.
    await expect.poll(() => page.getByRole('radio', { name: /Arduino Uno \(virtual\)/ }).isChecked()).toBe(true);
    await expect.poll(() => boardField(page).inputValue()).toBe('Arduino Uno — ATmega328P');

    const flash = page.getByRole('button', { name: 'Flash', exact: true });
    expect(await flash.isDisabled()).toBe(true); // no firmware yet
    await chooseFirmware(page, fw.path, fw.name);
    await page.getByText('Intel HEX', { exact: true }).waitFor();
    await expect.poll(() => flash.isEnabled()).toBe(true);

    await flash.click();
    await page.getByRole('progressbar', { name: 'Flashing progress' }).waitFor();
    const verified = page.getByRole('heading', { name: 'Verified' });
    await verified.waitFor({ timeout: 30_000 });

    const result = page.getByRole('status').filter({ has: verified });
    const text = await result.innerText();
    expect(text).toContain('ATmega328P');
    expect(text).toContain('1e950f');
    expect(text).toContain(fw.sha256);
    expect(text).toContain('4,096 bytes written and read back identical');

    await page.reload();
    const row = await openHistoryRow(page, fw.name);
    const rowText = await row.innerText();
    expect(rowText).toContain('Verified');
    expect(rowText).toContain('Arduino Uno (virtual)');
    expect(rowText).toContain('1e950f');

    // The file went into the library, and after the reload it is offered again for flashing.
    await nav(page, 'Library').click();
    await page.getByRole('row').filter({ hasText: fw.name }).waitFor();
    await nav(page, 'Flash').click();
    await page.getByText(fw.name, { exact: true }).first().waitFor();

    expect(errors).toEqual([]);
  });

  it('shows a clear error card and a failed History row when the cable is pulled mid-write', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`fault-e2e-${Date.now()}.hex`, 4096, 2);
    await page.goto(app.server.origin + '/?fault=disconnect');
    await page.getByText('Fault injection is on').waitFor();
    await chooseFirmware(page, fw.path, fw.name);
    await page.getByRole('button', { name: 'Flash', exact: true }).click();

    const card = page.getByRole('alert').filter({ hasText: 'Flashing failed' });
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByRole('heading').innerText()).toBe('Flashing failed while writing');
    const text = await card.innerText();
    expect(text).toContain('The device disconnected');
    expect(text).toMatch(/What to do:.*check the cable/i);
    // Technical details are there for the support call, folded away.
    const details = card.locator('details');
    expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await card.getByText('Technical details').click();
    expect(await details.innerText()).toContain('device-lost');

    const row = await openHistoryRow(page, fw.name);
    expect(await row.innerText()).toMatch(/Failed[\s\S]*disconnected/);
    expect(errors).toEqual([]);
  });

  it('records a job cut off by a reload as interrupted', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`cut-e2e-${Date.now()}.hex`, 24 * 1024, 3);
    await page.goto(app.server.origin + '/');
    await chooseFirmware(page, fw.path, fw.name);
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: 'Flashing progress' });
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 20_000 }).toBeGreaterThan(5);

    // The page asks before leaving mid-job; the user insists.
    let asked = false;
    page.once('dialog', (dialog) => {
      asked = dialog.type() === 'beforeunload';
      void dialog.accept();
    });
    await page.reload();
    expect(asked).toBe(true);
    const row = await openHistoryRow(page, fw.name);
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).toContain('Interrupted');
    expect(await row.innerText()).toContain('closed or reloaded during writing');
    expect(errors).toEqual([]);
  });

  it('can be driven from the keyboard, and re-flashes with one key', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`keys-e2e-${Date.now()}.hex`, 1024, 5);
    await page.goto(app.server.origin + '/');
    await boardsLoaded(page);

    /** Tabs forward until `selector` has focus; fails if it is not in the tab order. */
    const tabTo = async (selector: string) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
      }
      throw new Error(`${selector} is not reachable with Tab`);
    };
    await tabTo('#board');
    await tabTo('#firmware-file');
    await page.locator('#firmware-file').setInputFiles(fw.path); // the OS file dialog itself is not the page's
    await page.getByText('Intel HEX', { exact: true }).waitFor();
    await tabTo('button.flash');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });

    await page.keyboard.press('Control+Enter');
    await page.getByRole('progressbar', { name: 'Flashing progress' }).waitFor();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });
    await nav(page, 'History').click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: fw.name }).count()).toBe(2);
    expect(errors).toEqual([]);
  });

  it('offers a real USB device (WebUSB) for DFU boards, and says when the browser has no WebUSB', async () => {
    const { page, context, errors } = app.browser;
    const pickDfuBoard = () => chooseBoard(page, 'STM32F4 Discovery USB DFU');
    await page.goto(app.server.origin + '/');
    await pickDfuBoard();
    const usb = page.getByRole('radio', { name: /USB device/ });
    expect(await usb.isEnabled()).toBe(true);
    expect(await page.getByRole('radio', { name: /USB serial port/ }).count()).toBe(0);
    await page.getByRole('button', { name: 'Connect…' }).waitFor();
    await usb.check();
    // Nothing is connected yet: the Flash button says what is missing.
    expect(await page.locator('#flash-note').innerText()).toContain('Connect the USB device.');

    await context.addInitScript(() => delete (Navigator.prototype as { usb?: unknown }).usb);
    await page.reload();
    await pickDfuBoard();
    await page.getByText('This browser cannot reach USB devices').waitFor();
    expect(await page.getByRole('radio', { name: /USB device/ }).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('exports History as CSV and JSON downloads', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexFile(`export-e2e-${Date.now()}.hex`, 1024, 4);
    await page.goto(app.server.origin + '/');
    await chooseFirmware(page, fw.path, fw.name);
    await page.getByRole('button', { name: 'Flash', exact: true }).click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 30_000 });
    await openHistoryRow(page, fw.name);

    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(csv.suggestedFilename()).toMatch(/^webprog-history-.*\.csv$/);
    const csvText = await streamText(await csv.createReadStream());
    expect(csvText.split('\r\n')[0]).toMatch(/^started,finished,status,file,/);
    expect(csvText).toContain(`,passed,${fw.name},${fw.sha256},`);

    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const doc = JSON.parse(await streamText(await json.createReadStream()));
    expect(doc.jobs[0]).toMatchObject({ fileName: fw.name, status: 'passed', deviceId: '1e950f', verified: true });
    expect(errors).toEqual([]);
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
