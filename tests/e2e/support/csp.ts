import type { BrowserContext } from 'playwright-core';

/** One `securitypolicyviolation` event, as the page saw it. */
export interface CspViolation {
  directive: string;
  blocked: string;
  source: string;
}

/**
 * Records every Content-Security-Policy violation in every page of the context (from the first
 * script on), read back with `violations()`. Workers report through their page's console instead.
 */
export async function watchCsp(context: BrowserContext): Promise<{ violations: () => Promise<CspViolation[]> }> {
  await context.addInitScript(() => {
    const seen: { directive: string; blocked: string; source: string }[] = [];
    (globalThis as { __cspViolations?: typeof seen }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}` }));
  });
  return {
    violations: async () => {
      const all: CspViolation[] = [];
      for (const page of context.pages()) all.push(...(await page.evaluate(() => (globalThis as { __cspViolations?: CspViolation[] }).__cspViolations ?? [])));
      return all;
    },
  };
}
