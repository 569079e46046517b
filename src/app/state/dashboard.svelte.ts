import type { AuditRecord } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import { chartSeries, stationFigures, type ChartSeries, type StationFigures } from '../production/metrics';
import { call } from '../worker-client';

export type DashboardWindow = 'hour' | 'shift' | 'day';
const WINDOW_MS: Record<DashboardWindow, number> = { hour: 3_600_000, shift: 8 * 3_600_000, day: 24 * 3_600_000 };

/** The dashboard's figures: the audit trail of the chosen window, re-read while the page shows it. */
export class DashboardState {
  #records = $state.raw<AuditRecord[]>([]);
  #now = $state(Date.now());
  #error = $state.raw<FlashErrorInfo | null>(null);
  #window = $state<DashboardWindow>('shift');
  #station = $state<string | undefined>(undefined);
  #loading = false;

  readonly figures: StationFigures = $derived(
    stationFigures(this.#records, { now: this.#now, windowMs: Math.min(3_600_000, WINDOW_MS[this.#window]), ...(this.#station ? { station: this.#station } : {}) }),
  );
  readonly series: ChartSeries = $derived(
    chartSeries(this.#records, {
      now: this.#now,
      windowMs: WINDOW_MS[this.#window],
      bucketMs: this.#window === 'hour' ? 60_000 : this.#window === 'shift' ? 5 * 60_000 : 15 * 60_000,
      trailingMs: this.#window === 'hour' ? 10 * 60_000 : 30 * 60_000,
      ...(this.#station ? { station: this.#station } : {}),
    }),
  );
  /** Station names seen in the window. */
  readonly stations = $derived([...new Set(this.#records.flatMap((r) => (r.station ? [r.station] : [])))].sort());

  get records() {
    return this.#records;
  }
  get error() {
    return this.#error;
  }
  get window() {
    return this.#window;
  }
  set window(w: DashboardWindow) {
    this.#window = w;
    void this.refresh();
  }
  get station() {
    return this.#station;
  }
  set station(name: string | undefined) {
    this.#station = name || undefined;
  }

  async refresh(): Promise<void> {
    if (this.#loading) return;
    this.#loading = true;
    try {
      const now = Date.now();
      const result = await call((api) => api.listHistory({ since: now - WINDOW_MS[this.#window], limit: 50_000 }));
      this.#now = now;
      if (result.ok) {
        this.#records = result.value;
        this.#error = null;
      } else {
        this.#error = result.error;
      }
    } finally {
      this.#loading = false;
    }
  }

  /** Re-reads every `ms` until the returned function is called (a view's lifetime). */
  follow(ms = 3000): () => void {
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), ms);
    return () => clearInterval(timer);
  }
}
