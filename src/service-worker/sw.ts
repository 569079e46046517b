/// <reference lib="WebWorker" />
import { PrecacheController, PrecacheRoute } from 'workbox-precaching';
import { NavigationRoute, Router } from 'workbox-routing';

/*
 * webprog's service worker (built by vite-plugin-pwa in injectManifest mode): field technicians work
 * without a network, so every file of the build (lazily loaded drivers, terminal, flasher stubs
 * included) is precached on install, each under its revision.
 *
 * - Every build writes a different list into this file, so the browser sees a new service worker after
 *   each deployment and precaches the new build beside the old one. The new worker then WAITS: the page
 *   shows "Update available — reload" (src/app/state/updates.svelte.ts) and the page asks it to take
 *   over, so a page never runs on a mix of two builds' chunks.
 * - Cache matching ignores `Vary`: many static hosts (vite preview among them) send `Vary: Origin`, and
 *   a lookup by the page's own request (which may carry an Origin header the stored one lacks) would
 *   miss offline: the hand-written worker this replaces showed a blank page that way. Precache keys are
 *   rebuilt without forbidden headers anyway; ignoring Vary keeps that true whatever the route.
 * - Navigations (with any query: `?manifest=…`) are answered with the precached index.html.
 */

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> };

const precache = new PrecacheController({ cacheName: 'webprog-precache' });
precache.strategy.matchOptions = { ignoreVary: true };
precache.addToCacheList(self.__WB_MANIFEST);

const router = new Router();
router.registerRoute(new PrecacheRoute(precache, { ignoreURLParametersMatching: [/.*/] }));
router.registerRoute(new NavigationRoute(precache.createHandlerBoundToURL('index.html')));

self.addEventListener('install', (event) => event.waitUntil(precache.install(event)));
// Activation removes the previous build's files: only once this worker controls the pages.
self.addEventListener('activate', (event) => event.waitUntil(precache.activate(event).then(() => self.clients.claim())));
self.addEventListener('fetch', (event) => {
  const handled = router.handleRequest({ request: event.request, event });
  if (handled) event.respondWith(handled);
});
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
