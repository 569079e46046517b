/**
 * Collects events per key and hands them over once per animation frame, whatever their rate, so many
 * fast producers (32 station slots) never make the page re-render more often than it paints. A hidden
 * tab gets no frames: there the batch is handed over every 250 ms instead, so it is right when shown.
 */
export class FrameBatch<K, E> {
  #pending = new Map<K, E[]>();
  #frame: number | null = null;
  #fallback: ReturnType<typeof setTimeout> | null = null;
  readonly #apply: (key: K, events: E[]) => void;

  constructor(apply: (key: K, events: E[]) => void) {
    this.#apply = apply;
  }

  push(key: K, event: E): void {
    const list = this.#pending.get(key);
    if (list) list.push(event);
    else this.#pending.set(key, [event]);
    if (this.#frame !== null) return;
    this.#frame = requestAnimationFrame(() => this.flush());
    this.#fallback = setTimeout(() => this.flush(), 250);
  }

  /** Hands over everything pending now (also before a job's result, so no event lands after it). */
  flush(): void {
    if (this.#frame !== null) cancelAnimationFrame(this.#frame);
    if (this.#fallback !== null) clearTimeout(this.#fallback);
    this.#frame = this.#fallback = null;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [key, events] of pending) this.#apply(key, events);
  }
}
