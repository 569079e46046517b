import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/** Lists every file of the build for public/sw.js to cache on install, so the app works offline. */
function precacheList(): Plugin {
  return {
    name: 'webprog-precache-list',
    apply: 'build',
    // After every other plugin has had its say (pure-CSS chunks are dropped late): list what was written.
    writeBundle(options, bundle) {
      const built = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      const files = ['./', ...built.map((f) => `./${f}`), './manifest.webmanifest', './favicon.svg'];
      writeFileSync(join(options.dir ?? 'dist', 'precache.json'), JSON.stringify(files));
    },
  };
}

export default defineConfig({
  plugins: [svelte(), precacheList()],
  base: './',
  define: { __APP_VERSION__: JSON.stringify(pkg.version) },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  test: {
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
