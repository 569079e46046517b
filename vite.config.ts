import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { readFileSync } from 'node:fs';
import { VitePWA } from 'vite-plugin-pwa';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Offline use: src/service-worker/sw.ts, built into dist/sw.js with the list of every file of this
 * build (and its revision) injected, so each deployment is a new service worker that precaches it.
 */
function serviceWorker() {
  return VitePWA({
    strategies: 'injectManifest',
    srcDir: 'src/service-worker',
    filename: 'sw.ts',
    injectRegister: false, // src/app/state/updates.svelte.ts registers it (workbox-window)
    manifest: false, // public/manifest.webmanifest is ours
    injectManifest: {
      globPatterns: ['**/*.{js,css,html,svg,json,webmanifest,woff2,png}'],
      // The ESP flasher stubs and the terminal are large; every one must work offline.
      maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
      sourcemap: false,
    },
  });
}

export default defineConfig({
  plugins: [svelte(), serviceWorker()],
  base: './',
  // WEBPROG_VERSION lets a test build two different deployments of the same source.
  define: { __APP_VERSION__: JSON.stringify(process.env.WEBPROG_VERSION ?? pkg.version) },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      // The embeddable install button's loader (src/embed/webprog-install.ts) at a stable name beside
      // index.html, so vendors can link it: dist/webprog-install.js.
      input: { index: 'index.html', 'webprog-install': 'src/embed/webprog-install.ts' },
      output: { entryFileNames: (chunk) => (chunk.name === 'webprog-install' ? 'webprog-install.js' : 'assets/[name]-[hash].js') },
    },
  },
  test: {
    // One temporary root per run, removed at the end: tests leave no folders in the system temp directory.
    globalSetup: ['tests/support/temp-root.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['src/**/*.test.ts', 'src/**/*.test.svelte.ts', 'tests/{conformance,worker,peers,cli}/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['tests/e2e/**/*.spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
