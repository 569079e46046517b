import type { DriverMeta, DriverModule, LinkKind, SimulatorModule } from './types';
import { stk500v1Meta } from './stk500v1/meta';
import { serprogMeta } from './serprog/meta';
import { stm32UsartMeta } from './stm32-usart/meta';
import { espRomMeta } from './esp-rom/meta';
import { usbDfuMeta } from './usb-dfu/meta';
import { stk500v2Meta } from './stk500v2/meta';
import { avr109Meta } from './avr109/meta';

/** One registry line of link kind `K`: its meta, driver and simulator all of that kind. */
export interface LinkDriverEntry<K extends LinkKind> {
  /** The link kind, as in `meta.link`: narrowing on it types `load` and `simulator`. */
  link: K;
  meta: DriverMeta<K>;
  /** Loaded on first use, so the app's first screen carries no protocol code. */
  load: () => Promise<DriverModule<K>>;
  simulator: () => Promise<SimulatorModule<K>>;
}

/** A registry line of any kind: switch on `entry.link` to get the driver's own context type. */
export type DriverEntry = { [K in LinkKind]: LinkDriverEntry<K> }[LinkKind];

function defineDriver<K extends LinkKind>(meta: DriverMeta<K>, load: () => Promise<DriverModule<K>>, simulator: () => Promise<SimulatorModule<K>>): DriverEntry {
  // The one place the generic line meets the union: K is one kind, so this is exactly one member.
  return { link: meta.link, meta, load, simulator } as LinkDriverEntry<K> as DriverEntry;
}

/** THE table: one line per protocol. `npm run new:driver -- <id> --link <kind>` appends here. */
export const DRIVERS: readonly DriverEntry[] = [
  defineDriver(stk500v1Meta, () => import('./stk500v1/driver'), () => import('./stk500v1/simulator')),
  defineDriver(serprogMeta, () => import('./serprog/driver'), () => import('./serprog/simulator')),
  defineDriver(stm32UsartMeta, () => import('./stm32-usart/driver'), () => import('./stm32-usart/simulator')),
  defineDriver(espRomMeta, () => import('./esp-rom/driver'), () => import('./esp-rom/simulator')),
  defineDriver(usbDfuMeta, () => import('./usb-dfu/driver'), () => import('./usb-dfu/simulator')),
  defineDriver(stk500v2Meta, () => import('./stk500v2/driver'), () => import('./stk500v2/simulator')),
  defineDriver(avr109Meta, () => import('./avr109/driver'), () => import('./avr109/simulator')),
];

export function findDriver(id: string): DriverEntry | undefined {
  return DRIVERS.find((d) => d.meta.id === id);
}

/** Whether a registry line is of link kind `kind`: narrows it to that kind's module types. */
export function isLink<K extends LinkKind>(entry: DriverEntry, kind: K): entry is Extract<DriverEntry, { link: K }> {
  return entry.link === kind;
}

/** The driver `id` when it is of link kind `kind`; undefined when there is none, or it is of another kind. */
export function findDriverOfKind<K extends LinkKind>(id: string, kind: K): Extract<DriverEntry, { link: K }> | undefined {
  const entry = findDriver(id);
  return entry && isLink(entry, kind) ? entry : undefined;
}
