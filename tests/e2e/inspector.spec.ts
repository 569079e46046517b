import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appUnderTest } from './support/app';
import { randomBytes, writeHexSegments } from './support/firmware';

const app = appUnderTest();

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/**
 * Two builds of one program: the second changes 4 bytes at 0x100, grows by 512 bytes at 0x1000, and
 * no longer has the 64-byte table the first kept at 0x3000.
 */
function twoBuilds() {
  const program = randomBytes(4096, 11);
  const table = randomBytes(64, 12);
  const v1 = writeHexSegments(`v1-${Date.now()}.hex`, [
    { address: 0, data: program },
    { address: 0x3000, data: table },
  ]);
  const next = new Uint8Array(4096 + 512);
  next.set(program);
  next.set(randomBytes(512, 13), 4096);
  for (let i = 0x100; i < 0x104; i++) next[i] = next[i]! ^ 0xff;
  const v2 = writeHexSegments(`v2-${Date.now()}.hex`, [{ address: 0, data: next }]);
  return { v1, v2, v2Data: next };
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

describe('image inspector in Chromium', () => {
  it('maps, checksums, diffs and pages two HEX builds', async () => {
    const { page, errors } = app.browser;
    const { v1, v2, v2Data } = twoBuilds();
    await page.goto(app.server.origin + '/');
    await nav(page, 'Inspector').click();
    await page.getByRole('heading', { name: 'Inspector', level: 1 }).waitFor();

    // The image, then an earlier build to compare with.
    await page.locator('input[type=file]#inspector-file-primary').setInputFiles(v2.path);
    await page.getByText(v2.name, { exact: true }).first().waitFor();
    await page.locator('input[type=file]#inspector-file-reference').setInputFiles(v1.path);
    await page.getByText(v1.name, { exact: true }).first().waitFor();

    // Memory map: drawn over the board chosen on the Flash screen (a virtual Uno), to scale.
    const map = page.getByRole('region', { name: 'Memory map', exact: true });
    const flash = map.getByRole('figure', { name: /^flash/ });
    await expect.poll(() => flash.innerText()).toContain('ATmega328P: 32 KiB at 0x0000–0x7FFF');
    const segment = flash.getByRole('button', { name: /^Image segment 1: 0x0000–0x11FF, 4\.5 KiB \(4,608 bytes\), CRC-32 [0-9a-f]{8}$/ });
    await segment.waitFor();
    // Its addresses and size show on hover, and on keyboard focus too.
    const tip = segment.locator('.tip');
    expect(await tip.isVisible()).toBe(false);
    await segment.hover();
    await expect.poll(() => tip.isVisible()).toBe(true);
    expect(await tip.innerText()).toContain('0x0000–0x11FF');
    await page.mouse.move(0, 0);
    await segment.focus();
    await page.keyboard.press('ArrowRight'); // only one mark in this lane: focus stays
    await expect.poll(() => tip.isVisible()).toBe(true);
    // Each lane says what it is in words, and the differences are on the map as well.
    expect(await flash.getByRole('button', { name: /^Compared with segment 2: 0x3000–0x303F, 64 B/ }).count()).toBe(1);
    expect(await flash.getByRole('button', { name: /^Removed: 0x3000–0x303F/ }).count()).toBe(1);
    expect(await flash.getByRole('button', { name: /^Changed: 0x0100–0x0103, 4 B$/ }).count()).toBe(1);

    // Checksums of the data, checked against Node's zlib and crypto.
    const sums = page.getByRole('region', { name: 'Checksums and facts', exact: true });
    const imageFacts = sums.getByRole('region', { name: new RegExp(`^Image: ${v2.name}`) });
    await imageFacts.waitFor();
    const factsText = await imageFacts.innerText();
    expect(factsText).toContain(hex8(crc32(v2Data)));
    expect(factsText).toContain(createHash('sha256').update(v2Data).digest('hex'));
    expect(factsText).toContain(v2.sha256);
    expect(factsText).toContain('Intel HEX');

    // The diff summary, counted in the worker.
    const diff = page.getByRole('region', { name: 'Differences', exact: true });
    const summary = diff.getByRole('status');
    await expect.poll(() => summary.innerText()).toContain('3 differences');
    const text = await summary.innerText();
    expect(text).toMatch(/Changed\s*4 bytes in 1 range/);
    expect(text).toMatch(/Added\s*512 bytes in 1 range/);
    expect(text).toMatch(/Removed\s*64 bytes in 1 range/);
    expect(text).toMatch(/Same\s*4,092 bytes/);
    expect(await diff.getByRole('row').count()).toBe(4); // header + 3 ranges

    // The hex view: one page of 16 rows, paged on demand.
    const bytes = page.getByRole('region', { name: 'Bytes', exact: true });
    const where = bytes.getByRole('status');
    await expect.poll(() => where.innerText()).toContain('Showing flash 0x0000–0x00FF');
    const table = bytes.getByRole('table');
    expect(await table.getByRole('row').count()).toBe(17);
    const firstRow = table.getByRole('row', { name: /^00000000/ });
    const firstBytes = [...v2Data.subarray(0, 16)].map((b) => b.toString(16).toUpperCase().padStart(2, '0'));
    expect((await firstRow.innerText()).replace(/\s+/g, ' ')).toContain(firstBytes.join(' '));
    await bytes.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => where.innerText()).toContain('Showing flash 0x0100–0x01FF');
    await table.getByRole('row', { name: /^00000100/ }).waitFor();
    // The page holds one page of cells, however large the image.
    expect(await table.locator('td').count()).toBeLessThan(400);

    // Jumping from difference to difference.
    const next = bytes.getByRole('button', { name: 'Next difference' });
    await next.click();
    await expect.poll(() => where.innerText()).toContain('difference at 0x0100 (changed, 4 bytes)');
    expect(await table.locator('td.byte.changed').count()).toBe(4);
    expect(await table.getByRole('row', { name: /^00000100/ }).innerText()).toContain('4 changed');
    await next.click();
    await expect.poll(() => where.innerText()).toContain('Showing flash 0x1000–0x10FF · difference at 0x1000 (added, 512 bytes)');
    await next.click();
    await expect.poll(() => where.innerText()).toContain('Showing flash 0x3000–0x30FF · difference at 0x3000 (removed, 64 bytes)');
    expect(await table.locator('td.byte.removed').count()).toBe(64);
    await next.click();
    await expect.poll(() => where.innerText()).toContain('no next difference');

    // Keyboard paging on the focused hex view: PageUp skips back over the gap to the last page with data.
    await bytes.getByRole('region', { name: /^Hex view/ }).focus();
    await page.keyboard.press('PageUp');
    await expect.poll(() => where.innerText()).toContain('Showing flash 0x1100–0x11FF');
    await page.keyboard.press('p');
    await expect.poll(() => where.innerText()).toContain('difference at 0x1000 (added');

    // A jump from the ranges table.
    await diff.getByRole('button', { name: 'Show the difference at 0x3000 in the hex view' }).click();
    await expect.poll(() => where.innerText()).toContain('Showing flash 0x3000–0x30FF');

    // Leaving the screen and coming back keeps both images.
    await nav(page, 'Library').click();
    await nav(page, 'Inspector').click();
    await expect.poll(() => page.getByRole('region', { name: 'Differences', exact: true }).getByRole('status').innerText()).toContain('3 differences');
    expect(errors).toEqual([]);
  });

  it('inspects a library entry over another part, flags data outside it, and stops comparing', async () => {
    const { page, errors } = app.browser;
    const fw = writeHexSegments(`big-${Date.now()}.hex`, [{ address: 0x7f00, data: randomBytes(512, 21) }]);
    await page.goto(app.server.origin + '/#/library');
    await page.getByRole('heading', { name: 'Library' }).waitFor();
    await page.locator('input[type=file]#library-add').setInputFiles(fw.path);
    await page.getByRole('row').filter({ hasText: fw.name }).waitFor();

    await nav(page, 'Inspector').click();
    const pick = page.getByLabel('Image: from the library');
    await page.locator('#inspector-library-primary option', { hasText: fw.name }).waitFor({ state: 'attached' });
    const value = await page.locator('#inspector-library-primary option', { hasText: fw.name }).getAttribute('value');
    await pick.selectOption(value!);
    await page.getByText(fw.name, { exact: true }).first().waitFor();

    // 256 of its bytes do not fit an ATmega328P's 32 KiB: said in words, not only drawn in red.
    const map = page.getByRole('region', { name: 'Memory map', exact: true });
    await expect.poll(() => map.innerText()).toContain('256 bytes lie outside ATmega328P\'s flash');
    expect(await map.getByRole('button', { name: /outside ATmega328P's flash$/ }).count()).toBe(1);

    // Over no part, the bar spans the image itself, and nothing is outside.
    await map.getByLabel('Drawn over').selectOption('');
    await expect.poll(() => map.innerText()).toContain("No part chosen; drawn over the images' extent, 0x7F00–0x80FF");
    expect(await map.innerText()).not.toContain('lie outside');

    // The same file as reference: no differences; then stop comparing.
    await page.locator('#inspector-library-reference').selectOption(value!);
    const status = page.getByRole('region', { name: 'Differences', exact: true }).getByRole('status');
    await expect.poll(() => status.innerText()).toContain('No differences');
    await page.getByRole('button', { name: 'Stop comparing' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Differences', exact: true }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
