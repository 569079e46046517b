import { transfer } from 'comlink';
import type { BytePage, DiffRange, ImageDiffSummary, ImageSource, InspectedImage, InspectorSlot } from '../../shared/api';
import type { FlashErrorInfo, Result } from '../../shared/errors';
import { formatBytes } from '../format';
import { call } from '../worker-client';

/** Bytes in one page of the hex view: 16 rows of 16. */
export const PAGE_BYTES = 256;

/** As FirmwareState: nothing this large is firmware for these parts. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface SlotState {
  status: 'empty' | 'loading' | 'ready' | 'error';
  image: InspectedImage | null;
  error: FlashErrorInfo | null;
  /** What is being read, while loading. */
  name: string;
}

const EMPTY: SlotState = { status: 'empty', image: null, error: null, name: '' };

/**
 * The image inspector's page side. The worker holds the images; this holds what the screen shows:
 * each slot's summary, the diff summary, the chosen part for the memory map, and the one page of the
 * hex view on screen. Only the Inspector view imports it, so it loads with that view.
 *
 * Invariants:
 * - a slot's result is dropped if a newer pick for the same slot started meanwhile, and so is a page
 *   that is not the last one asked for;
 * - `diff` belongs to the images in the slots now (reset whenever either changes).
 */
export class InspectorState {
  #slots = $state<Record<InspectorSlot, SlotState>>({ primary: { ...EMPTY }, reference: { ...EMPTY } });
  #diff = $state.raw<ImageDiffSummary | null>(null);
  #diffError = $state.raw<FlashErrorInfo | null>(null);
  #page = $state.raw<BytePage | null>(null);
  #pageError = $state.raw<FlashErrorInfo | null>(null);
  #cursor = $state.raw<DiffRange | null>(null);
  #noMoreDifferences = $state<'next' | 'previous' | null>(null);
  /**
   * `driverId:targetId` of the part the memory map is drawn over, '' for the images' own extent, or
   * null to follow the board chosen on the Flash screen.
   */
  targetKey = $state<string | null>(null);
  #requests: Record<InspectorSlot, number> = { primary: 0, reference: 0 };
  #pageRequest = 0;

  get primary(): SlotState {
    return this.#slots.primary;
  }
  get reference(): SlotState {
    return this.#slots.reference;
  }
  get diff() {
    return this.#diff;
  }
  get diffError() {
    return this.#diffError;
  }
  get page() {
    return this.#page;
  }
  get pageError() {
    return this.#pageError;
  }
  /** The difference the hex view last jumped to. */
  get cursor() {
    return this.#cursor;
  }
  /** Set when a step found no further difference that way. */
  get noMoreDifferences() {
    return this.#noMoreDifferences;
  }
  get comparing(): boolean {
    return this.primary.status === 'ready' && this.reference.status === 'ready';
  }

  /** Every memory either image has data in, in the images' order. */
  get memories(): string[] {
    const names = new Set<string>();
    for (const s of [this.primary, this.reference]) for (const seg of s.image?.summary.segments ?? []) names.add(seg.memory);
    return [...names];
  }

  async openFile(slot: InspectorSlot, file: File): Promise<void> {
    if (file.size > MAX_FILE_BYTES) {
      this.#fail(slot, file.name, { code: 'bad-image', message: `${file.name} is ${formatBytes(file.size)}, too large to be firmware.`, hint: 'Choose the firmware file (.hex, .bin, .elf, .uf2…).' });
      return;
    }
    await this.#open(slot, file.name, async () => {
      const bytes = await file.arrayBuffer();
      return transfer({ file: { name: file.name, bytes } }, [bytes]) as ImageSource;
    });
  }

  async openLibrary(slot: InspectorSlot, fileSha256: string, name: string): Promise<void> {
    await this.#open(slot, name, async () => ({ fileSha256 }));
  }

  async close(slot: InspectorSlot): Promise<void> {
    this.#requests[slot]++;
    this.#slots[slot] = { ...EMPTY };
    this.#resetDiff();
    await call((api) => api.closeImage(slot));
    if (slot === 'primary') {
      this.#page = null;
      this.#pageError = null;
    } else if (this.#page) {
      await this.showPage(this.#page.memory, this.#page.address);
    }
  }

  /** Shows the page holding `address` of `memory` (aligned down to a page). */
  async showPage(memory: string, address: number): Promise<void> {
    if (this.primary.status !== 'ready') return;
    const start = Math.max(0, address - (address % PAGE_BYTES));
    const request = ++this.#pageRequest;
    this.#noMoreDifferences = null;
    const result = await call((api) => api.readImageBytes({ memory, address: start, length: PAGE_BYTES }));
    if (request !== this.#pageRequest) return;
    if (result.ok) {
      this.#page = result.value;
      this.#pageError = null;
    } else {
      this.#pageError = result.error;
    }
  }

  /** The next (1) or previous (-1) page with data in either image; gaps are skipped. */
  async turnPage(direction: 1 | -1): Promise<void> {
    const page = this.#page;
    const to = direction === 1 ? page?.next : page?.prev;
    if (!page || to === null || to === undefined) return;
    await this.showPage(page.memory, to);
  }

  /** The first page of a memory with data. */
  async showMemory(memory: string): Promise<void> {
    const starts = [this.primary, this.reference].flatMap((s) => (s.image?.summary.segments ?? []).filter((x) => x.memory === memory).map((x) => x.address));
    await this.showPage(memory, starts.length > 0 ? Math.min(...starts) : 0);
  }

  /** Jumps the hex view to the next or previous difference after the one shown last (or the page's start). */
  async stepDifference(direction: 1 | -1): Promise<void> {
    const page = this.#page;
    if (!page || !this.comparing) return;
    const cursor = this.#cursor;
    const onPage = cursor !== null && cursor.memory === page.memory && cursor.start >= page.address && cursor.start < page.address + PAGE_BYTES;
    // From the difference shown last; otherwise "next" includes one starting at the page's first byte.
    const address = onPage ? cursor.start : direction === 1 ? page.address - 1 : page.address;
    const result = await call((api) => api.findDifference({ memory: page.memory, address }, direction));
    if (!result.ok) {
      this.#diffError = result.error;
      return;
    }
    if (!result.value) {
      this.#noMoreDifferences = direction === 1 ? 'next' : 'previous';
      return;
    }
    await this.jumpTo(result.value);
  }

  /** Shows a difference (or any range) in the hex view and remembers it as the cursor. */
  async jumpTo(range: DiffRange): Promise<void> {
    this.#cursor = range;
    this.#noMoreDifferences = null;
    await this.showPage(range.memory, range.start);
  }

  async #open(slot: InspectorSlot, name: string, source: () => Promise<ImageSource>): Promise<void> {
    const request = ++this.#requests[slot];
    this.#slots[slot] = { status: 'loading', image: null, error: null, name };
    this.#resetDiff();
    let result: Result<InspectedImage>;
    try {
      const src = await source();
      result = await call((api) => api.openImage(slot, src));
    } catch (err) {
      result = { ok: false, error: { code: 'bad-image', message: `${name} could not be read: ${String(err)}`, hint: 'Choose the file again.' } };
    }
    if (request !== this.#requests[slot]) return;
    if (!result.ok) {
      this.#fail(slot, name, result.error);
      return;
    }
    this.#slots[slot] = { status: 'ready', image: result.value, error: null, name };
    if (slot === 'primary') {
      const memories = this.memories;
      const memory = memories.includes('flash') ? 'flash' : memories[0];
      if (memory !== undefined) await this.showMemory(memory);
    } else if (this.#page) {
      await this.showPage(this.#page.memory, this.#page.address); // the same bytes, marked against the new reference
    }
    if (this.comparing) await this.#loadDiff();
  }

  async #loadDiff(): Promise<void> {
    const primary = this.primary.image?.summary.fileSha256;
    const reference = this.reference.image?.summary.fileSha256;
    const result = await call((api) => api.diffImages());
    // A slot changed while the worker was diffing: that pick's own diff follows.
    if (primary !== this.primary.image?.summary.fileSha256 || reference !== this.reference.image?.summary.fileSha256) return;
    if (result.ok) {
      this.#diff = result.value;
      this.#diffError = null;
    } else {
      this.#diffError = result.error;
    }
  }

  #resetDiff(): void {
    this.#diff = null;
    this.#diffError = null;
    this.#cursor = null;
    this.#noMoreDifferences = null;
  }

  #fail(slot: InspectorSlot, name: string, error: FlashErrorInfo): void {
    this.#slots[slot] = { status: 'error', image: null, error, name };
  }
}

let shared: InspectorState | null = null;

/** The one inspector of this page: it outlives the view, so leaving and coming back keeps the images. */
export function useInspector(): InspectorState {
  shared ??= new InspectorState();
  return shared;
}
