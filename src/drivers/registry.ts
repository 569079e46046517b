import type { DriverMeta, DriverModule, SimulatorModule } from './types';
import { stk500v1Meta } from './stk500v1/meta';
import { serprogMeta } from './serprog/meta';
import { stm32UsartMeta } from './stm32-usart/meta';
import { espRomMeta } from './esp-rom/meta';
import { usbDfuMeta } from './usb-dfu/meta';
import { stk500v2Meta } from './stk500v2/meta';
import { avr109Meta } from './avr109/meta';

export interface DriverEntry {
  meta: DriverMeta;
  /** Loaded on first use, so the app's first screen carries no protocol code. */
  load: () => Promise<DriverModule>;
  simulator: () => Promise<SimulatorModule>;
}

function defineDriver(meta: DriverMeta, load: DriverEntry['load'], simulator: DriverEntry['simulator']): DriverEntry {
  return { meta, load, simulator };
}

/** THE table: one line per protocol. `npm run new:driver -- <id>` appends here. */
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
