import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/*
 * axe-core (Deque's accessibility engine) injected into the page under test. Only violations of
 * moderate impact or worse count: "minor" findings are advice, not barriers.
 */

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const COUNTED = new Set(['moderate', 'serious', 'critical']);

export interface AxeFinding {
  rule: string;
  impact: string;
  help: string;
  /** CSS selectors of the offending elements (first few). */
  where: string[];
}

/** Runs axe over the whole document as it is now; returns the moderate-or-worse findings. */
export async function axeFindings(page: Page): Promise<AxeFinding[]> {
  // Evaluated through the DevTools protocol: the app's Content Security Policy (script-src 'self') rightly
  // refuses an inline script tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const all = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? 'minor',
      help: v.help,
      where: v.nodes.slice(0, 4).map((n) => n.target.map(String).join(' ')),
    }));
  });
  return all.filter((f) => COUNTED.has(f.impact));
}

/** Findings per view and state, collected over a walk through the app, printed as the report's figure. */
export class AxeReport {
  readonly byState = new Map<string, AxeFinding[]>();

  async check(page: Page, state: string): Promise<void> {
    const h1 = await page.locator('h1').count();
    const findings = await axeFindings(page);
    if (h1 !== 1) findings.push({ rule: 'one-h1', impact: 'moderate', help: `The view has ${h1} <h1> elements, not one`, where: [] });
    this.byState.set(state, findings);
  }

  summary(): string {
    return [...this.byState]
      .map(([state, f]) => `  ${state}: ${f.length}${f.length ? ` (${f.map((x) => `${x.rule}/${x.impact} @ ${x.where.join(', ')}`).join('; ')})` : ''}`)
      .join('\n');
  }

  /** States with at least one finding, for the assertion (empty when the app is clean). */
  failing(): Record<string, string[]> {
    return Object.fromEntries([...this.byState].filter(([, f]) => f.length > 0).map(([s, f]) => [s, f.map((x) => `${x.rule}: ${x.help} @ ${x.where.join(', ')}`)]));
  }
}
