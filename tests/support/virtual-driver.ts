import type { BaseDriverContext, Driver } from '../../src/core/job/driver-api';
import type { DriverEntry } from '../../src/drivers/registry';
import { openVirtualDevice, openVirtualDrive, openVirtualHidDevice, openVirtualUsbDevice, type VirtualOptions } from '../../src/transports/virtual';

/** A driver of any link kind on its own virtual device: what the lifecycle tests run against. */
export interface VirtualDriver {
  driver: Driver;
  /** The simulated device's memory, to check what it really holds. */
  memory(name: string): Uint8Array;
  close(): Promise<void>;
}

/** Opens the driver's simulator on the in-memory link of its kind and creates the driver on it, with no casts. */
export async function virtualDriver(entry: DriverEntry, opts: VirtualOptions, context: BaseDriverContext): Promise<VirtualDriver> {
  const id = entry.meta.id;
  switch (entry.link) {
    case 'serial': {
      const dev = await openVirtualDevice(id, opts);
      const { createDriver } = await entry.load();
      return { driver: createDriver({ ...context, stream: dev.stream }), memory: (n) => dev.simulator.memory(n), close: () => dev.stream.close() };
    }
    case 'usb': {
      const dev = await openVirtualUsbDevice(id, opts);
      const { createDriver } = await entry.load();
      return { driver: createDriver({ ...context, usb: dev.usb }), memory: (n) => dev.simulator.memory(n), close: () => dev.usb.close() };
    }
    case 'hid': {
      const dev = await openVirtualHidDevice(id, opts);
      const { createDriver } = await entry.load();
      return { driver: createDriver({ ...context, hid: dev.hid }), memory: (n) => dev.simulator.memory(n), close: () => dev.hid.close() };
    }
    case 'drive': {
      const dev = await openVirtualDrive(id, opts);
      const { createDriver } = await entry.load();
      return { driver: createDriver({ ...context, drive: dev.drive }), memory: (n) => dev.simulator.memory(n), close: () => dev.drive.close() };
    }
  }
}
