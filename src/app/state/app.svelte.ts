import type { JobSpec } from '../../shared/api';
import { browserSupport, type BrowserSupport } from '../device-access';
import { isFaultMode } from '../faults';
import { Catalog } from './catalog.svelte';
import { DeviceState } from './device.svelte';
import { DeskCheck, deskVerdict, type DeskInput, type DeskVerdict } from './desk-check.svelte';
import { FirmwareState } from './firmware.svelte';
import { HistoryState } from './history.svelte';
import { newJobId } from './ids';
import { FlashJob } from './job.svelte';
import { LibraryState } from './library.svelte';
import { CustomerState } from './customer.svelte';
import { ManifestState } from './manifest.svelte';
import { MonitorState } from './monitor.svelte';
import { RecipesState } from './recipes.svelte';
import { SettingsState } from './settings.svelte';
import { StationState } from './station.svelte';

export type Route = 'flash' | 'station' | 'recipes' | 'dashboard' | 'planner' | 'library' | 'inspector' | 'history' | 'settings';
const ROUTES: readonly Route[] = ['flash', 'station', 'recipes', 'dashboard', 'planner', 'library', 'inspector', 'history', 'settings'];
/** The production screens, under "Station" in the main navigation. */
export const PRODUCTION_ROUTES: readonly Route[] = ['station', 'recipes', 'dashboard', 'planner'];

export function routeFromHash(hash: string): Route {
  const name = hash.replace(/^#\/?/, '');
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : 'flash';
}

/** Everything the page knows, composed once and shared through context (see context.ts). */
export class AppState {
  readonly support: BrowserSupport;
  readonly catalog = new Catalog();
  readonly device: DeviceState;
  readonly firmware = new FirmwareState();
  /** The worker's verdict on the chosen file for the chosen board, and the address and consent given. */
  readonly desk = new DeskCheck();
  readonly job = new FlashJob();
  readonly library = new LibraryState();
  readonly history = new HistoryState();
  readonly settings = new SettingsState();
  readonly monitor = new MonitorState();
  readonly recipes = new RecipesState();
  readonly station: StationState;
  /** The vendor's manifest for "Install" (journey 3). */
  readonly manifest = new ManifestState({ onReady: () => this.#chooseManifestBoard() });
  /** The customer's screen for a vendor link (journey 3). */
  readonly customer: CustomerState;
  #route = $state<Route>('flash');
  /** What the Flash screen programs: a firmware file, or a manifest's build for the detected chip. */
  #source = $state<'file' | 'manifest'>('file');
  /** `?manifest=URL`: a vendor's install link opens straight on that manifest. */
  readonly #manifestLink: string | null;
  /** `&key=…`: the vendor's Ed25519 public key the manifest must be signed with. */
  readonly #manifestKey: string | null;

  constructor(opts: { support?: BrowserSupport; search?: string; hash?: string } = {}) {
    this.support = opts.support ?? browserSupport();
    this.device = new DeviceState(this.catalog, this.support);
    this.station = new StationState({ recipes: this.recipes, settings: this.settings, history: this.history, catalog: this.catalog, support: this.support });
    const fault = new URLSearchParams(opts.search ?? '').get('fault');
    if (isFaultMode(fault)) this.device.fault = fault;
    this.#route = routeFromHash(opts.hash ?? '');
    this.#manifestLink = new URLSearchParams(opts.search ?? '').get('manifest');
    this.#manifestKey = new URLSearchParams(opts.search ?? '').get('key');
    this.customer = new CustomerState(this, { linked: Boolean(this.#manifestLink) });
    if (this.#manifestLink) this.#source = 'manifest';
  }

  get source(): 'file' | 'manifest' {
    return this.#source;
  }
  /** Switching to a manifest picks a board of the manifest's driver, once one is loaded. */
  set source(s: 'file' | 'manifest') {
    if (this.job.running) return;
    this.#source = s;
    this.job.reset();
    if (s === 'manifest') this.#chooseManifestBoard();
  }

  /** A board of the driver the manifest's builds are for (the driver detects the chip itself). */
  #chooseManifestBoard(): void {
    const driver = this.manifest.driver;
    if (this.#source !== 'manifest' || !driver || this.device.choice?.driverId === driver) return;
    const choice = this.catalog.choices.find((c) => c.driverId === driver);
    if (choice) this.device.choiceKey = choice.key;
  }

  /** In operator mode the station is the only screen: every other route leads back to it. */
  get route(): Route {
    return this.station.operatorMode ? 'station' : this.#route;
  }
  set route(r: Route) {
    this.#route = r;
  }

  /** Loads the catalog and restores the last board, connection and firmware. */
  async start(): Promise<void> {
    const [, settings] = await Promise.all([this.catalog.load(), this.settings.load()]);
    this.station.restore();
    if (settings.lastDeviceKey && this.catalog.find(settings.lastDeviceKey)) this.device.choiceKey = settings.lastDeviceKey;
    if (this.#source === 'manifest') {
      this.source = 'manifest'; // an ESP board, now that the catalog is there
      // Someone following a vendor's install link has a real board to update: offer its port first.
      if (this.support.serial && settings.lastConnection !== 'virtual') this.device.connection = 'serial';
      if (this.#manifestLink) void this.manifest.fromUrl(this.#manifestLink, this.#manifestKey ?? undefined);
    }
    if (settings.lastConnection === 'serial' && settings.lastPort) await this.device.restorePort(settings.lastPort);
    if (settings.lastFirmwareSha256 && this.firmware.status === 'empty') {
      await this.firmware.fromLibrary(settings.lastFirmwareSha256, 'the last firmware', true);
    }
  }

  /** What the desk check is asked about now, or null without a loaded file and a board. */
  get deskInput(): DeskInput | null {
    const summary = this.firmware.summary;
    const choice = this.device.choice;
    if (!summary || !choice || this.firmware.status !== 'ready') return null;
    const address = this.desk.typedAddress;
    return {
      fileSha256: summary.fileSha256,
      driverId: choice.driverId,
      ...(choice.targetId === undefined ? {} : { targetId: choice.targetId }),
      ...(address === undefined ? {} : { address }),
      consent: this.desk.consent,
    };
  }

  /** The chosen file checked against the chosen board, or null until both are there. */
  get verdict(): DeskVerdict | null {
    const summary = this.firmware.summary;
    const input = this.deskInput;
    if (!summary || !input) return null;
    if (this.firmware.sample?.realHardware === false && this.device.connection !== 'virtual') {
      return { ok: false, reason: 'This sample is for the virtual board only: choose your own firmware for a real one.', fit: null };
    }
    const typo = this.desk.addressError;
    if (typo) return { ok: false, reason: typo, fit: null };
    return deskVerdict(summary, this.device.choice, this.desk.verdictFor(input), this.desk.errorFor(input));
  }

  get canFlash(): boolean {
    return !this.job.running && this.device.ready && this.firmware.status === 'ready' && this.verdict?.ok === true;
  }

  get canInstall(): boolean {
    return !this.job.running && this.device.ready && this.device.choice?.driverId === this.manifest.driver && this.manifest.status === 'ready';
  }

  /** Why the Install button is disabled, or null. */
  get installBlocker(): string | null {
    if (this.job.running) return null;
    if (this.catalog.status === 'loading') return 'Starting…';
    if (this.manifest.status === 'loading') return 'Reading the manifest…';
    const driver = this.manifest.driver;
    if (driver && this.device.choice && this.device.choice.driverId !== driver) {
      const label = this.catalog.choices.find((c) => c.driverId === driver)?.driverLabel ?? driver;
      return `Choose a board for ${label}: the manifest's builds are for that.`;
    }
    if (this.device.missing) return this.device.missing;
    return this.manifest.status === 'ready' ? null : 'Open the manifest link or choose the manifest file.';
  }

  /**
   * Installs the manifest's build for the chip that answers: the driver detects the chip (no target is
   * forced), the worker picks the build, writes it and verifies it in one session.
   */
  async install(): Promise<void> {
    const choice = this.device.choice;
    const selector = this.device.selector;
    const summary = this.manifest.summary;
    if (!this.canInstall || !choice || !selector || !summary) return;
    const spec: JobSpec = {
      jobId: newJobId(),
      driverId: choice.driverId,
      device: selector,
      deviceLabel: this.device.label,
      firmware: { fileSha256: summary.manifestSha256 },
      options: { verify: true },
    };
    const expected = this.device.expectedPortCount;
    if (expected !== undefined) spec.expectedPortCount = expected;
    const options = this.device.driverOptions;
    if (options) spec.driverOptions = options;
    this.device.consumeResume();
    void this.settings.update({ lastDeviceKey: choice.key, lastConnection: this.device.connection });
    if (this.monitor.status !== 'closed') await this.monitor.close();
    const outcome = await this.job.run(spec, this.manifest.title, 'install');
    if (outcome === 'passed') void navigator.storage?.persist?.().catch(() => false);
    if (outcome === 'failed' && this.job.error) this.device.needReconnect(this.job.error, 'Install');
    void this.history.refresh();
  }

  /** Why the Flash button is disabled, or null. */
  get blocker(): string | null {
    if (this.job.running) return null;
    if (this.catalog.status === 'loading') return 'Starting…';
    if (this.firmware.status !== 'ready') return this.device.missing ?? (this.firmware.status === 'loading' ? 'Reading the file…' : 'Choose a firmware file.');
    // What the file is comes first: choosing a port does not make a file that cannot fit flashable.
    return this.verdict?.reason ?? this.device.missing;
  }

  /** The driver can read the device back, so a job may skip the pages that already hold the image. */
  get canSkipUnchanged(): boolean {
    const id = this.device.choice?.driverId;
    return this.catalog.drivers.find((d) => d.id === id)?.capabilities.read === true;
  }

  /** "Skip unchanged" is on, and possible for the chosen board. */
  get skipUnchanged(): boolean {
    return this.canSkipUnchanged && this.settings.current.skipUnchanged === true;
  }

  /** Between the key press and the job's start (a watched file is read again): no second start. */
  #starting = false;

  async flash(): Promise<void> {
    if (!this.canFlash || this.#starting) return;
    this.#starting = true;
    try {
      await this.#flash();
    } finally {
      this.#starting = false;
    }
  }

  async #flash(): Promise<void> {
    // The R&D loop: a file opened with a handle is read again, so a rebuild is what gets written.
    if ((await this.firmware.reread()) !== 'same') {
      this.job.reset(); // the last result was about the old build
      const input = this.deskInput;
      if (input) await this.desk.check(input);
    }
    const choice = this.device.choice;
    const selector = this.device.selector;
    const summary = this.firmware.summary;
    if (!this.canFlash || !choice || !selector || !summary) return;
    const keep = this.settings.current.keepInLibrary;
    const spec: JobSpec = {
      jobId: newJobId(),
      driverId: choice.driverId,
      ...(choice.targetId === undefined ? {} : { targetId: choice.targetId }),
      device: selector,
      deviceLabel: this.device.label,
      firmware: { fileSha256: summary.fileSha256 },
      options: { verify: true, ...(this.skipUnchanged ? { skipUnchanged: true } : {}) },
      keepInLibrary: keep,
      // Placed and consented exactly as the desk check that enabled the button.
      ...(this.deskInput?.address === undefined ? {} : { address: this.deskInput.address }),
      ...(this.desk.consent.length > 0 ? { consent: this.desk.consent } : {}),
    };
    const expected = this.device.expectedPortCount;
    if (expected !== undefined) spec.expectedPortCount = expected;
    const options = this.device.driverOptions;
    if (options) spec.driverOptions = options;
    this.device.consumeResume();
    void this.settings.update({
      lastDeviceKey: choice.key,
      lastConnection: this.device.connection,
      ...(selector.kind === 'serial'
        ? { lastPort: { index: selector.index, usbVendorId: selector.usbVendorId, usbProductId: selector.usbProductId } }
        : {}),
      ...(keep ? { lastFirmwareSha256: summary.fileSha256 } : {}),
    });
    // The job needs the port: a monitor on it closes first, and reopens after a verified flash.
    const monitoring = this.monitor.status !== 'closed';
    if (monitoring) await this.monitor.close();
    const outcome = await this.job.run(spec, summary.name);
    if (outcome === 'failed' && this.job.error) this.device.needReconnect(this.job.error, 'Flash');
    // History is worth keeping: ask the browser not to evict it under storage pressure (no prompt in Chromium).
    if (outcome === 'passed') void navigator.storage?.persist?.().catch(() => false);
    void this.history.refresh();
    if (keep) void this.library.refresh();
    if (selector.kind !== 'usb' && outcome === 'passed' && (monitoring || this.settings.current.monitorAfterFlash)) {
      void this.openMonitor();
    }
  }

  /** Opens the serial monitor on the chosen port, or on the virtual board (which runs what was flashed). */
  async openMonitor(): Promise<void> {
    const selector = this.device.selector;
    if (!selector || selector.kind === 'usb' || this.job.running) return;
    const label = selector.kind === 'virtual' ? this.device.label : this.device.port?.label;
    if (label === undefined) return;
    await this.monitor.open(selector, this.settings.current.monitorBaudRate, label, this.device.expectedPortCount);
  }
}

