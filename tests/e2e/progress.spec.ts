import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sha256 } from '../../src/core/bytes/sha256';
import { buildEspImage } from '../support/image-fixtures';
import { appUnderTest } from './support/app';
import { chooseBoard } from './support/board';
import { randomBytes } from './support/firmware';

/*
 * Truthful progress (issue 11), as a user watching an ESP32 job sees it: only the steps this job has,
 * no "100 %" while the engine is still finishing, and the time left only counting down.
 */

const app = appUnderTest();

interface Sample {
  steps: string[];
  pct: string;
  what: string;
  eta: string;
}

/** Records what the progress panel shows, every animation frame, until the job's result is drawn. */
async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __samples: Sample[] };
    w.__samples = [];
    const tick = () => {
      const panel = document.querySelector('.progress');
      if (panel) {
        w.__samples.push({
          steps: Array.from(panel.querySelectorAll('ol[aria-label="Phases"] li'), (li) => li.textContent?.trim() ?? ''),
          pct: panel.querySelector('.pct')?.textContent?.trim() ?? '',
          what: panel.querySelector('.what')?.textContent?.trim() ?? '',
          eta: panel.querySelector('.eta')?.textContent?.trim() ?? '',
        });
      }
      if (!document.querySelector('.result')) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

describe('progress on the Flash screen', () => {
  it('draws only the steps an ESP32 job has, never 100 % while finishing, and a time left that only counts down', async () => {
    const { page, errors } = app.browser;
    const image = buildEspImage({ chipId: 0, segments: [{ address: 0x3f400020, data: Uint8Array.from([0x32, 0x54, 0xcd, 0xab, ...randomBytes(192 * 1024, 5)]) }], sha256 });
    const path = join(mkdtempSync(join(tmpdir(), 'webprog-progress-')), 'big-app.bin');
    writeFileSync(path, image);
    await page.goto(app.server.origin + '/');
    await chooseBoard(page, 'ESP32 any board');
    await page.locator('input[type=file]#firmware-file').setInputFiles(path);
    const flash = page.getByRole('button', { name: 'Flash', exact: true });
    await expect.poll(() => flash.isEnabled()).toBe(true);
    await watchProgress(page);
    await flash.click();
    await page.getByRole('heading', { name: 'Verified' }).waitFor({ timeout: 120_000 });
    const samples = await page.evaluate(() => (window as unknown as { __samples: Sample[] }).__samples);
    expect(samples.length).toBeGreaterThan(20);

    // ESP checks the write by an MD5 the chip computes, which moves almost nothing: the steps are the plan's
    // (no extra read-back step), and the bar gives the write nearly all of the way, not half of it.
    expect(new Set(samples.map((s) => s.steps.join(',')))).toEqual(new Set(['Connect,Identify,Write,Verify']));
    const writing = samples.filter((s) => s.what.startsWith('Writing')).map((s) => Number.parseInt(s.pct, 10));
    expect(Math.max(...writing)).toBeGreaterThan(90);

    // Never "100 %" while the panel is up (it is up until the result), whatever the phase says.
    expect(samples.filter((s) => s.pct === '100%')).toEqual([]);
    expect(samples.some((s) => /Finishing/.test(s.what) && s.pct === '100%')).toBe(false);

    // The time left, once known, never jumps up by more than a second.
    const seconds = samples.map((s) => /about (\d+(?:\.\d+)?) s left/.exec(s.eta)).filter((m) => m !== null).map((m) => Number(m![1]));
    for (let i = 1; i < seconds.length; i++) expect(seconds[i]!, `time left went from ${seconds[i - 1]} s to ${seconds[i]} s`).toBeLessThanOrEqual(seconds[i - 1]! + 1);
    expect(errors).toEqual([]);
  });
});
