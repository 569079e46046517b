import { serialApi } from '../serial-api';
import { proxy } from 'comlink';
import type { Recipe, ScanContext, StationEvent, StationJobSpec } from '../../shared/api';
import type { FlashErrorInfo, Result } from '../../shared/errors';
import type { DeviceSelector } from '../../shared/model';
import { describePort, requestSerialPort, type BrowserSupport } from '../device-access';
import { faultSpec, FAULT_MODES, type FaultMode } from '../faults';
import { failBeep, primeAudio } from '../production/beep';
import { parseScan } from '../production/scan';
import { FrameBatch } from '../frame-batch';
import { autoWorkerCount, callOn } from '../worker-client';
import type { Catalog } from './catalog.svelte';
import type { HistoryState } from './history.svelte';
import { DashboardState } from './dashboard.svelte';
import { newJobId } from './ids';
import { OperatorLock } from './operator-lock.svelte';
import { SlotState, type SlotStatus } from './slot.svelte';
import type { RecipesState } from './recipes.svelte';
import type { SettingsState } from './settings.svelte';

export const MAX_SLOTS = 64;
export const DEFAULT_SLOTS = 4;
/** Progress events per slot: 10 a second is smooth on a tile and light for 32 slots at once. */
const STATION_PROGRESS_MS = 100;

/**
 * The production station: N slots, one recipe applied to all, each slot an independent job in a
 * pool of workers (one failing never stops the others), the barcode scanner's context, and the
 * operator's screen mode.
 *
 * Invariants:
 * - a slot runs at most one job; its tile shows only that job's events (late events of an earlier
 *   job are dropped by job ID);
 * - job events are applied once per animation frame, whatever their rate, so 32 slots never make the
 *   page re-render more often than it paints;
 * - "Start all" treats every slot as a fresh unit (attempt 1); "Restart" retries the same board
 *   (attempt + 1), which is what first-pass yield counts.
 */
export class StationState {
  #slots = $state.raw<SlotState[]>([]);
  #lot = $state('');
  #workOrder = $state('');
  #scanNote = $state('');
  #portError = $state.raw<FlashErrorInfo | null>(null);
  #startError = $state.raw<FlashErrorInfo | null>(null);
  /** The slot set-up panel stays open across visits to other screens. */
  setupOpen = $state(false);
  /** Job events, applied to the tiles once per frame; of a run of progress events only the last counts. */
  #events = new FrameBatch<SlotState, StationEvent>((slot, events) =>
    events.forEach((e, i) => {
      if (e.type === 'progress' && events[i + 1]?.type === 'progress') return;
      slot.apply(e);
    }),
  );
  #historyTimer: ReturnType<typeof setTimeout> | null = null;
  #warmed = '';

  readonly #recipes: RecipesState;
  readonly #settings: SettingsState;
  readonly #history: HistoryState;
  readonly #catalog: Catalog;
  readonly support: BrowserSupport;
  /** Operator mode: scan, start and stop only, left with the recipe's PIN. */
  readonly lock: OperatorLock;
  /** Units per hour, yield and the last serial, from this station's audit trail. */
  readonly figures = new DashboardState();

  readonly running = $derived(this.#slots.some((s) => s.running));
  readonly recipe: Recipe | undefined = $derived.by(() => this.#recipes.find(this.#settings.current.stationRecipeId));

  constructor(deps: { recipes: RecipesState; settings: SettingsState; history: HistoryState; catalog: Catalog; support: BrowserSupport }) {
    this.#recipes = deps.recipes;
    this.#settings = deps.settings;
    this.#history = deps.history;
    this.#catalog = deps.catalog;
    this.support = deps.support;
    this.lock = new OperatorLock({ settings: deps.settings, recipes: deps.recipes, recipe: () => this.recipe });
    this.#resize(DEFAULT_SLOTS);
  }

  get slots() {
    return this.#slots;
  }
  get name(): string {
    return this.#settings.current.stationName?.trim() || 'Station 1';
  }
  get operatorMode(): boolean {
    return this.lock.on;
  }
  get mute(): boolean {
    return this.#settings.current.mute ?? false;
  }
  set mute(on: boolean) {
    void this.#settings.update({ mute: on });
  }
  get workers(): number {
    const chosen = this.#settings.current.stationWorkers ?? 0;
    return chosen > 0 ? Math.min(chosen, MAX_SLOTS) : autoWorkerCount(this.#slots.length);
  }
  get lot() {
    return this.#lot;
  }
  set lot(v: string) {
    this.#lot = v;
  }
  get workOrder() {
    return this.#workOrder;
  }
  set workOrder(v: string) {
    this.#workOrder = v;
  }
  /** What the last scan did, for the operator. */
  get scanNote() {
    return this.#scanNote;
  }
  get portError() {
    return this.#portError;
  }
  get startError() {
    return this.#startError;
  }

  get recipeId(): string {
    return this.recipe?.id ?? '';
  }
  set recipeId(id: string) {
    if (this.running || this.operatorMode) return;
    void this.#settings.update({ stationRecipeId: id || undefined });
  }

  /** Restores the slot count after a reload (settings load first). */
  restore(): void {
    const n = this.#settings.current.stationSlots;
    if (n !== undefined && n !== this.#slots.length) this.#resize(n);
  }

  get slotCount(): number {
    return this.#slots.length;
  }
  set slotCount(n: number) {
    if (this.running || !Number.isFinite(n)) return;
    const count = Math.max(1, Math.min(MAX_SLOTS, Math.round(n)));
    this.#resize(count);
    void this.#settings.update({ stationSlots: count });
  }

  /** Slots finished in each state, for the summary banner. */
  get counts(): Record<SlotStatus, number> {
    const c: Record<SlotStatus, number> = { idle: 0, running: 0, passed: 0, failed: 0, cancelled: 0 };
    for (const s of this.#slots) c[s.status]++;
    return c;
  }

  /** Why Start is not possible, or null. */
  get blocker(): string | null {
    const recipe = this.recipe;
    if (this.#catalog.status === 'loading') return 'Starting…';
    if (!recipe) return this.#recipes.items.length === 0 ? 'Create a recipe first.' : 'Choose a recipe.';
    if (!this.#catalog.drivers.some((d) => d.id === recipe.driverId)) return `This app has no "${recipe.driverId}" programmer.`;
    return null;
  }

  /**
   * Starts the station's workers and has each load the recipe's image, so the first Start all does
   * not wait for worker start-up and parsing in the slots of the later workers.
   */
  warmUp(): void {
    const sha = this.recipe?.firmware.fileSha256;
    if (!sha) return;
    const key = `${sha}:${this.workers}`;
    if (this.#warmed === key) return;
    this.#warmed = key;
    for (let i = 0; i < this.workers; i++) void callOn(i, (api) => api.useFirmware(sha));
  }

  /** Programs every idle or finished slot with a fresh board. */
  startAll(): void {
    primeAudio();
    this.#startError = null;
    for (const slot of this.#slots) if (!slot.running) void this.#run(slot, 1);
  }

  /** Programs one slot again: the same board (a retry) after a failure, a new one after a pass. */
  restart(index: number): void {
    primeAudio();
    const slot = this.#slots[index];
    if (!slot || slot.running) return;
    const retry = slot.status === 'failed' || slot.status === 'cancelled';
    void this.#run(slot, retry ? slot.attempt + 1 : 1);
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.#slots.filter((s) => s.running && s.jobId).map((s) => callOn(s.workerIndex, (api) => api.cancel(s.jobId!))),
    );
  }

  async stop(index: number): Promise<void> {
    const slot = this.#slots[index];
    if (slot?.running && slot.jobId) await callOn(slot.workerIndex, (api) => api.cancel(slot.jobId!));
  }

  setFault(index: number, fault: FaultMode): void {
    const slot = this.#slots[index];
    if (slot && slot.link.kind === 'virtual') slot.setLink({ kind: 'virtual', fault });
  }

  useVirtual(index: number): void {
    this.#slots[index]?.setLink({ kind: 'virtual', fault: 'none' });
  }

  /** Must run from a click: the browser shows its port picker, and the port goes to this slot. */
  async choosePort(index: number): Promise<void> {
    const slot = this.#slots[index];
    if (!slot || slot.running) return;
    this.#portError = null;
    const filters = this.#catalog.drivers.find((d) => d.id === this.recipe?.driverId)?.usbFilters ?? [];
    const picked = await requestSerialPort(filters);
    if (picked === null) return;
    if (!picked.ok) {
      this.#portError = picked.error;
      return;
    }
    const ports = (await serialApi()?.getPorts()) ?? [];
    const port = ports.filter((p) => sameIds(p, picked.value.selector))[picked.value.selector.index];
    if (port) slot.setLink({ kind: 'serial', port, label: picked.value.label });
  }

  /** Puts every port this site may already use into the slots, in order (a station's usual set-up). */
  async useGrantedPorts(): Promise<number> {
    if (!this.support.serial || this.running) return 0;
    const ports = (await serialApi()?.getPorts()) ?? [];
    if (ports.length > this.#slots.length) this.slotCount = ports.length;
    for (const [i, port] of ports.entries()) {
      const d = await describePort(port);
      this.#slots[i]?.setLink({ kind: 'serial', port, label: d.label });
    }
    return ports.length;
  }

  /** One line from the barcode reader (keyboard wedge). */
  scan(text: string): void {
    const r = parseScan(text);
    switch (r.kind) {
      case 'empty':
        return;
      case 'lot':
        this.#lot = r.value;
        this.#scanNote = `Lot ${r.value}`;
        return;
      case 'workOrder':
        this.#workOrder = r.value;
        this.#scanNote = `Work order ${r.value}`;
        return;
      case 'boardId': {
        // A board ID goes to the first slot that is waiting for one: not running and not yet given an ID.
        const slot = this.#slots.find((s) => !s.running && s.boardId === null);
        if (!slot) {
          this.#scanNote = `No free slot for board ${r.value}`;
          return;
        }
        slot.setBoardId(r.value);
        this.#scanNote = `Board ${r.value} → slot ${slot.name}`;
        return;
      }
      case 'command':
        if (r.command === 'restart') {
          if (r.slot <= this.#slots.length) this.restart(r.slot - 1);
          this.#scanNote = `Restart slot ${r.slot}`;
        } else if (r.command === 'start-all') {
          this.startAll();
          this.#scanNote = 'Start all';
        } else {
          void this.stopAll();
          this.#scanNote = 'Stop all';
        }
        return;
    }
  }

  clearBoardIds(): void {
    for (const s of this.#slots) if (!s.running) s.setBoardId(null);
  }

  async #run(slot: SlotState, attempt: number): Promise<void> {
    const recipe = this.recipe;
    const blocker = this.blocker;
    if (!recipe || blocker) {
      this.#startError = { code: 'unsupported', message: blocker ?? 'Choose a recipe.', hint: 'Prepare the station, then start again.' };
      return;
    }
    const jobId = newJobId();
    const workerIndex = slot.index % this.workers;
    slot.begin(jobId, attempt, workerIndex, recipe.options.verify !== false);
    let result: Result<{ serial?: string; device: { id: string }; verified: boolean }>;
    try {
      const device = await this.#deviceFor(slot, recipe);
      const scan: ScanContext = {};
      if (this.#lot.trim()) scan.lot = this.#lot.trim();
      if (this.#workOrder.trim()) scan.workOrder = this.#workOrder.trim();
      if (slot.boardId) scan.boardId = slot.boardId;
      const spec: StationJobSpec = {
        jobId,
        recipeId: recipe.id,
        recipeRevision: recipe.revision,
        device: device.selector,
        deviceLabel: device.label,
        station: this.name,
        slot: slot.name,
        attempt,
        scan,
        progressIntervalMs: STATION_PROGRESS_MS,
        ...(device.expectedPortCount === undefined ? {} : { expectedPortCount: device.expectedPortCount }),
      };
      const onEvent = (event: StationEvent) => this.#enqueue(slot, jobId, event);
      result = await callOn(workerIndex, (api) => api.runRecipe(spec, proxy(onEvent)));
    } catch (err) {
      result = { ok: false, error: { code: 'port-unavailable', message: err instanceof Error ? err.message : String(err), hint: 'Choose the slot\'s port again.' } };
    }
    if (slot.jobId !== jobId) return;
    this.#events.flush();
    const status = slot.end(result);
    if (status === 'failed' && !this.mute) failBeep();
    // A passed board leaves the slot: the next one needs its own ID. A failed one stays for a retry.
    if (status === 'passed') slot.setBoardId(null);
    this.#refreshHistorySoon();
  }

  async #deviceFor(slot: SlotState, recipe: Recipe): Promise<{ selector: DeviceSelector; label: string; expectedPortCount?: number }> {
    const link = slot.link;
    const part = recipe.board ?? this.#catalog.drivers.find((d) => d.id === recipe.driverId)?.targets.find((t) => t.id === recipe.targetId)?.name ?? 'Device';
    if (link.kind === 'serial') {
      // Described again at each start: ports plugged in since the pick change the index the worker needs.
      const d = await describePort(link.port);
      return { selector: d.selector, label: `${part} on ${d.label}`, expectedPortCount: d.expectedPortCount };
    }
    const fault = faultSpec(link.fault);
    return {
      selector: {
        kind: 'virtual',
        driverId: recipe.driverId,
        ...(recipe.targetId === undefined ? {} : { targetId: recipe.targetId }),
        ...(fault ? { fault } : {}),
      },
      label: link.fault === 'none' ? `${part} (virtual)` : `${part} (virtual), fault: ${FAULT_MODES[link.fault].label.toLowerCase()}`,
    };
  }

  #enqueue(slot: SlotState, jobId: string, event: StationEvent): void {
    if (slot.jobId === jobId && slot.running) this.#events.push(slot, event);
  }

  /** Re-reads this station's figures (units per hour, yield, last serial) from the audit trail. */
  refreshFigures(): Promise<void> {
    this.figures.station = this.name;
    return this.figures.refresh();
  }

  #refreshHistorySoon(): void {
    if (this.#historyTimer !== null) return;
    this.#historyTimer = setTimeout(() => {
      this.#historyTimer = null;
      void this.#history.refresh();
      // Once the run is over: the figures' shift-long query stays out of the workers' way meanwhile.
      if (!this.running) void this.refreshFigures();
    }, 400);
  }

  #resize(n: number): void {
    const next = this.#slots.slice(0, n);
    for (let i = next.length; i < n; i++) next.push(new SlotState(i));
    this.#slots = next;
  }
}

function sameIds(port: SerialPort, selector: { usbVendorId?: number; usbProductId?: number }): boolean {
  const info = port.getInfo();
  return info.usbVendorId === selector.usbVendorId && info.usbProductId === selector.usbProductId;
}
