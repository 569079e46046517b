/*
 * <webprog-install manifest="https://vendor.example/fw/manifest.json" key="…">: the install button a
 * vendor puts on their own page with one script tag (README, "Install button for your site"). A classic
 * script, so loading it from the app's origin needs no CORS on the vendor's side or the app's.
 *
 * This loader is all the vendor's page downloads up front (≤ 2 KB gzipped): a button in a shadow root.
 * On click it opens a <dialog> with the webprog app's customer screen in an iframe from the app's own
 * origin (where this script was loaded from), so the app's worker, drivers, Content-Security-Policy and
 * offline cache stay the app's, and load only then. The iframe may use Web Serial and WebUSB
 * (`allow="serial; usb"`). Themable with CSS custom properties on the element:
 *   --webprog-install-background, --webprog-install-color, --webprog-install-radius,
 *   --webprog-install-font, --webprog-install-padding.
 */

/** The app lives beside this script. */
const APP = new URL('./', (document.currentScript as HTMLScriptElement | null)?.src ?? location.href);

const STYLE = `button{font:var(--webprog-install-font,600 1rem system-ui,sans-serif);color:var(--webprog-install-color,#fff);background:var(--webprog-install-background,#1f5fd6);border:0;border-radius:var(--webprog-install-radius,8px);padding:var(--webprog-install-padding,.7em 1.6em);cursor:pointer}button:focus-visible{outline:3px solid var(--webprog-install-background,#1f5fd6);outline-offset:2px}dialog{width:min(44rem,96vw);height:min(46rem,92vh);padding:0;border:0;border-radius:12px}dialog::backdrop{background:#0008}iframe{width:100%;height:calc(100% - 2.5rem);border:0}form{display:flex;justify-content:flex-end;padding:.25rem}form button{background:none;color:#333;padding:.4em .8em}`;

class WebprogInstall extends HTMLElement {
  #dialog: HTMLDialogElement | null = null;

  connectedCallback(): void {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style><button type="button" part="button"><slot>Install</slot></button>`;
    root.querySelector('button')!.addEventListener('click', () => this.open());
  }

  /** Opens the install dialog; the app (worker, drivers) loads now, not before. */
  open(): void {
    const manifest = this.getAttribute('manifest');
    if (!manifest) return;
    if (!this.#dialog) {
      const url = new URL('index.html', APP);
      url.searchParams.set('manifest', new URL(manifest, location.href).href);
      const key = this.getAttribute('key');
      if (key) url.searchParams.set('key', key);
      const dialog = document.createElement('dialog');
      dialog.setAttribute('aria-label', this.getAttribute('label') ?? 'Install the update');
      dialog.innerHTML = `<form method="dialog"><button>Close</button></form><iframe allow="serial; usb" title="Install the update"></iframe>`;
      dialog.querySelector('iframe')!.src = url.href;
      this.shadowRoot!.append(dialog);
      this.#dialog = dialog;
    }
    this.#dialog.showModal();
  }
}

if (!customElements.get('webprog-install')) customElements.define('webprog-install', WebprogInstall);
