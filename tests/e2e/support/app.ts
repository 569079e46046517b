import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

/*
 * End-to-end harness: build the app once (only when a source is newer than the build), serve the
 * static output from a tiny server on 127.0.0.1 (a secure context, like any https host), and drive
 * Debian's Chromium through playwright-core with a fresh profile per test file.
 */

export const ROOT = resolve(import.meta.dirname, '../../..');
/** Private to the e2e tests, so a build here never races another build of dist/. */
export const DIST = join(ROOT, 'node_modules/.cache/webprog-e2e/dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.endsWith('.test.ts')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Builds the app with `vite build` unless the last build is newer than every input. */
export function ensureBuilt(): void {
  buildInto(DIST);
}

/**
 * Builds the app into `outDir` (unless that build is newer than every input), with extra environment
 * for vite.config.ts: `{ WEBPROG_VERSION: 'b' }` makes a second, different deployment of the same source.
 */
export function buildInto(outDir: string, env: Record<string, string> = {}): void {
  const built = existsSync(join(outDir, 'index.html')) ? statSync(join(outDir, 'index.html')).mtimeMs : 0;
  const inputs = ['index.html', 'src', 'public', 'vite.config.ts', 'package.json', 'tsconfig.app.json'].map((p) => newestMtime(join(ROOT, p)));
  if (built > Math.max(...inputs)) return;
  const vite = join(ROOT, 'node_modules/.bin/vite');
  // Vitest sets NODE_ENV=test, which would build Svelte's development runtime: test what ships.
  const run = spawnSync(vite, ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  if (run.status !== 0) throw new Error(`vite build failed:\n${run.stdout}\n${run.stderr}`);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
};

/**
 * Serves DIST on a free port; resolves with its origin and a stop function. `headers` are added to
 * every answer (`{ vary: 'Origin' }` as vite preview and many hosts send).
 */
export async function serve(dir = DIST, headers: Record<string, string> = {}): Promise<{ origin: string; stop: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(dir + sep) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...headers });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    stop: () => new Promise((ok) => server.close(() => ok())),
  };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions from the page and its workers. */
  errors: string[];
  close: () => Promise<void>;
}

/** Chromium with a fresh profile (so IndexedDB starts empty) and one page, recording every error. */
export async function launch(opts: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'webprog-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    colorScheme: opts.colorScheme ?? 'light',
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    acceptDownloads: true,
    reducedMotion: 'reduce',
  });
  const errors: string[] = [];
  const onConsole = (where: string) => (msg: ConsoleMessage) => {
    if (msg.type() === 'error') errors.push(`${where} console.error: ${msg.text()}`);
  };
  const watch = (page: Page) => {
    page.on('console', onConsole('page'));
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    page.on('worker', (worker) => {
      const w = worker as unknown as { on?: (event: string, fn: (msg: ConsoleMessage) => void) => void };
      w.on?.('console', onConsole('worker'));
    });
  };
  context.on('page', watch);
  context.on('weberror', (e) => errors.push(`web error: ${e.error().message}`));
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The usual spec setup: the built app on one server per file, and a fresh browser profile per test
 * (so IndexedDB, permissions and the service worker never leak from one test into the next).
 */
export function appUnderTest(launchOptions?: Parameters<typeof launch>[0]): { server: Awaited<ReturnType<typeof serve>>; browser: Browser } {
  const app = {} as { server: Awaited<ReturnType<typeof serve>>; browser: Browser };
  beforeAll(async () => {
    ensureBuilt();
    app.server = await serve();
  });
  afterAll(async () => {
    await app.server?.stop();
  });
  beforeEach(async () => {
    app.browser = await launch(launchOptions);
  });
  afterEach(async () => {
    await app.browser?.close();
  });
  return app;
}
