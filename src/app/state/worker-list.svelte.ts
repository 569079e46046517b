import type { FlashErrorInfo, Result } from '../../shared/errors';

export type ListStatus = 'idle' | 'loading' | 'ready';

/**
 * A list the worker keeps in IndexedDB (the firmware library, recipes, History) as a view shows it:
 * loaded when a view first asks, reloaded after changes, with the last failed operation's error.
 * Subclasses say how to fetch the list and add the operations on it.
 *
 * Invariants:
 * - `status` goes idle → loading on the first refresh only, then ready for good: a later refresh
 *   keeps showing the old items until the new ones arrive;
 * - `error` is the last failure's; a refresh that works clears it, and so does any operation that
 *   goes through `settle`.
 */
export abstract class WorkerList<T> {
  #items = $state.raw<T[]>([]);
  #status = $state<ListStatus>('idle');
  #error = $state.raw<FlashErrorInfo | null>(null);

  get items(): T[] {
    return this.#items;
  }
  get status(): ListStatus {
    return this.#status;
  }
  get error(): FlashErrorInfo | null {
    return this.#error;
  }
  /** Loaded, and there is nothing: the view shows its empty state (never while loading). */
  get empty(): boolean {
    return this.#status === 'ready' && this.#items.length === 0;
  }

  /** The whole list, from the worker. */
  protected abstract fetchAll(): Promise<Result<T[]>>;

  async refresh(): Promise<void> {
    if (this.#status === 'idle') this.#status = 'loading';
    const result = await this.fetchAll();
    this.#status = 'ready';
    this.settle(result, (items) => this.setItems(items));
  }

  clearError(): void {
    this.#error = null;
  }

  protected setItems(items: T[]): void {
    this.#items = items;
  }

  /** Shows a failure; the items stay as they are. */
  protected fail(error: FlashErrorInfo): void {
    this.#error = error;
  }

  /** Takes an operation's result: on success runs `use` and clears the error, else shows the error. */
  protected settle<R>(result: Result<R>, use?: (value: R) => void): result is Extract<Result<R>, { ok: true }> {
    if (!result.ok) {
      this.#error = result.error;
      return false;
    }
    use?.(result.value);
    this.#error = null;
    return true;
  }
}
