import type { FlashErrorInfo } from '../../shared/errors';
import type { DriverInfo } from '../../shared/model';
import { call } from '../worker-client';

/** One thing the user can pick: a board (or a bare part) on a protocol. */
export interface DeviceChoice {
  /** Stable across reloads: `driver:target:board`. */
  key: string;
  driverId: string;
  driverLabel: string;
  /** Undefined for a driver that lists no parts: it detects whatever answers. */
  targetId?: string;
  targetName: string;
  board: string | null;
  /** "Arduino Uno", or "ATmega328 (any board)". */
  label: string;
  /** "Arduino Uno (virtual)". */
  virtualLabel: string;
  /** How a real one is reached: a serial port, or a raw USB device (WebUSB). */
  link: DriverInfo['link'];
  usbFilters: { usbVendorId: number; usbProductId?: number }[];
  /** The part's main flash, for the "does it fit" hint; null when unknown. */
  flash: { base: number; size: number } | null;
}

/** Builds the picker from the registry's metadata only: no driver code is loaded for it. */
export function deviceChoices(drivers: DriverInfo[]): DeviceChoice[] {
  const out: DeviceChoice[] = [];
  for (const d of drivers) {
    if (d.targets.length === 0) {
      // A protocol that names no parts still gets one entry: the driver identifies the chip itself.
      out.push({
        key: `${d.id}::`,
        driverId: d.id,
        driverLabel: d.label,
        targetName: 'the connected chip',
        board: null,
        label: `${d.label} (detect the chip)`,
        virtualLabel: `${d.label} (virtual)`,
        link: d.link,
        usbFilters: d.usbFilters ?? [],
        flash: null,
      });
      continue;
    }
    for (const t of d.targets) {
      const mem = t.memories.find((m) => m.name === 'flash');
      const flash = mem ? { base: mem.base, size: mem.size } : null;
      const boards = t.boards.length > 0 ? t.boards : [null];
      for (const board of boards) {
        const label = board ?? `${t.name} (any board)`;
        out.push({
          key: `${d.id}:${t.id}:${board ?? ''}`,
          driverId: d.id,
          driverLabel: d.label,
          targetId: t.id,
          targetName: t.name,
          board,
          label,
          virtualLabel: `${board ?? t.name} (virtual)`,
          link: d.link,
          usbFilters: d.usbFilters ?? [],
          flash,
        });
      }
    }
  }
  // Named boards first (what people recognise), in registry order; bare parts after. Keys are unique.
  const seen = new Set<string>();
  const unique = out.filter((c) => !seen.has(c.key) && seen.add(c.key));
  return [...unique.filter((c) => c.board !== null), ...unique.filter((c) => c.board === null)];
}

/** The choices of one protocol: an <optgroup> in the pickers. */
export interface ChoiceGroup {
  id: string;
  label: string;
  choices: DeviceChoice[];
}

/** Groups choices by protocol, each group where its first choice stands. */
export function groupByDriver(choices: DeviceChoice[]): ChoiceGroup[] {
  const byDriver = new Map<string, ChoiceGroup>();
  for (const c of choices) {
    const g = byDriver.get(c.driverId) ?? { id: c.driverId, label: c.driverLabel, choices: [] };
    g.choices.push(c);
    byDriver.set(c.driverId, g);
  }
  return [...byDriver.values()];
}

export class Catalog {
  #drivers = $state.raw<DriverInfo[]>([]);
  #status = $state<'loading' | 'ready' | 'error'>('loading');
  #error = $state.raw<FlashErrorInfo | null>(null);
  readonly choices = $derived(deviceChoices(this.#drivers));
  readonly groups = $derived(groupByDriver(this.choices));

  get drivers(): DriverInfo[] {
    return this.#drivers;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }

  find(key: string | undefined): DeviceChoice | undefined {
    return this.choices.find((c) => c.key === key);
  }

  async load(): Promise<void> {
    this.#status = 'loading';
    const result = await call((api) => api.listDrivers());
    if (result.ok) {
      this.#drivers = result.value;
      this.#status = 'ready';
    } else {
      this.#error = result.error;
      this.#status = 'error';
    }
  }
}
