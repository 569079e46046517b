import { Workbox } from 'workbox-window';

/**
 * A new deployment of webprog, found by the service worker (src/service-worker/sw.ts): it is
 * precached and waits until the user chooses to reload, so a running job or an open page never
 * switches builds under the user's feet. Only in built apps, where the service worker exists.
 */
export class UpdateState {
  #available = $state(false);
  #workbox: Workbox | null = null;
  #reloadRequested = false;

  /** True once a new build is installed and ready to take over. */
  get available(): boolean {
    return this.#available;
  }

  register(): void {
    if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !window.isSecureContext) return;
    const wb = new Workbox('./sw.js');
    wb.addEventListener('waiting', () => (this.#available = true));
    // The new worker took over because the user asked (reload() below): load the page from the new
    // build. (The first install also takes control, of a page that is already that build.)
    wb.addEventListener('controlling', () => this.#reloadRequested && location.reload());
    this.#workbox = wb;
    void wb.register().catch(() => {});
  }

  /** Lets the waiting build take over; the page reloads once it controls it. */
  reload(): void {
    if (!this.#workbox) return location.reload();
    this.#reloadRequested = true;
    this.#workbox.messageSkipWaiting();
  }
}
