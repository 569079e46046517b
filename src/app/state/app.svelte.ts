import type { JobSpec } from '../../shared/api';
import { browserSupport, type BrowserSupport } from '../device-access';
import { isFaultMode } from '../faults';
import { Catalog } from './catalog.svelte';
import { DeviceState } from './device.svelte';
import { FirmwareState } from './firmware.svelte';
import { HistoryState } from './history.svelte';
import { newJobId } from './ids';
import { FlashJob } from './job.svelte';
import { LibraryState } from './library.svelte';
import { MonitorState } from './monitor.svelte';
import { RecipesState } from './recipes.svelte';
import { SettingsState } from './settings.svelte';
import { StationState } from './station.svelte';

export type Route = 'flash' | 'station' | 'recipes' | 'dashboard' | 'planner' | 'library' | 'history' | 'settings';
const ROUTES: readonly Route[] = ['flash', 'station', 'recipes', 'dashboard', 'planner', 'library', 'history', 'settings'];
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
  readonly job = new FlashJob();
  readonly library = new LibraryState();
  readonly history = new HistoryState();
  readonly settings = new SettingsState();
  readonly monitor = new MonitorState();
  readonly recipes = new RecipesState();
  readonly station: StationState;
  #route = $state<Route>('flash');

  constructor(opts: { support?: BrowserSupport; search?: string; hash?: string } = {}) {
    this.support = opts.support ?? browserSupport();
    this.device = new DeviceState(this.catalog, this.support);
    this.station = new StationState({ recipes: this.recipes, settings: this.settings, history: this.history, catalog: this.catalog, support: this.support });
    const fault = new URLSearchParams(opts.search ?? '').get('fault');
    if (isFaultMode(fault)) this.device.fault = fault;
    this.#route = routeFromHash(opts.hash ?? '');
  }

  get route(): Route {
    return this.#route;
  }
  set route(r: Route) {
    this.#route = r;
  }

  /** Loads the catalog and restores the last board, connection and firmware. */
  async start(): Promise<void> {
    const [, settings] = await Promise.all([this.catalog.load(), this.settings.load()]);
    this.station.restore();
    if (settings.lastDeviceKey && this.catalog.find(settings.lastDeviceKey)) this.device.choiceKey = settings.lastDeviceKey;
    if (settings.lastConnection === 'serial' && settings.lastPort) await this.device.restorePort(settings.lastPort);
    if (settings.lastFirmwareSha256 && this.firmware.status === 'empty') {
      await this.firmware.fromLibrary(settings.lastFirmwareSha256, 'the last firmware', true);
    }
  }

  get canFlash(): boolean {
    return !this.job.running && this.device.ready && this.firmware.status === 'ready';
  }

  /** Why the Flash button is disabled, or null. */
  get blocker(): string | null {
    if (this.job.running) return null;
    if (this.catalog.status === 'loading') return 'Starting…';
    return this.device.missing ?? (this.firmware.status === 'ready' ? null : this.firmware.status === 'loading' ? 'Reading the file…' : 'Choose a firmware file.');
  }

  async flash(): Promise<void> {
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
      options: { verify: true },
      keepInLibrary: keep,
    };
    const expected = this.device.expectedPortCount;
    if (expected !== undefined) spec.expectedPortCount = expected;
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
    // History is worth keeping: ask the browser not to evict it under storage pressure (no prompt in Chromium).
    if (outcome === 'passed') void navigator.storage?.persist?.().catch(() => false);
    void this.history.refresh();
    if (keep) void this.library.refresh();
    if (selector.kind === 'serial' && outcome === 'passed' && (monitoring || this.settings.current.monitorAfterFlash)) {
      void this.openMonitor();
    }
  }

  /** Opens the serial monitor on the chosen port (serial connections only). */
  async openMonitor(): Promise<void> {
    const selector = this.device.selector;
    const port = this.device.port;
    if (!selector || selector.kind !== 'serial' || !port || this.job.running) return;
    await this.monitor.open(selector, this.settings.current.monitorBaudRate, port.label, this.device.expectedPortCount);
  }
}

