import { FlashError } from '../shared/errors';
import type { UsbDeviceModel, UsbPipe } from '../core/io/usb-pipe';
import type { Driver, DriverContext } from '../core/job/driver-api';
import type { Simulator, SimulatorOptions } from './types';

/*
 * Types for drivers whose meta says link: 'usb'. They sit beside types.ts instead of changing it:
 * the registry's DriverModule/SimulatorModule stay as they are, and a USB driver module satisfies
 * them too (its createDriver takes either context and refuses one without a UsbPipe), so its
 * registry line is the same one-liner as a serial driver's.
 */

/** What a USB driver may touch: a UsbPipe instead of a ByteStream; time, log and abort as usual. */
export interface UsbDriverContext extends Omit<DriverContext, 'stream' | 'baudRate'> {
  usb: UsbPipe;
  /**
   * Re-acquires the device after it re-enumerated (a DFU detach from the application into the
   * bootloader, with possibly another VID:PID). The worker re-finds it with `navigator.usb.getDevices()`
   * and opens it; without this the driver asks the user to connect again.
   */
  reopen?: (match: { vendorId?: number; productId?: number; serialNumber?: string }) => Promise<UsbPipe>;
  /**
   * Operations that destroy data beyond the image and need the user's explicit yes, spelled out in
   * the UI first: `readUnprotect` removes read-out protection by mass-erasing the whole chip.
   */
  consent?: { readUnprotect?: boolean };
  /**
   * Start the application when a session that wrote or erased ends successfully (DfuSe "leave", a USB
   * reset for plain DFU); defaults to true. Read-only and failed sessions always stay in DFU mode.
   */
  leave?: boolean;
}

/** Either context: what a USB driver module's createDriver accepts so it also fits DriverModule. */
export type AnyDriverContext = DriverContext | UsbDriverContext;

export function isUsbContext(ctx: AnyDriverContext): ctx is UsbDriverContext {
  return 'usb' in ctx && ctx.usb !== undefined;
}

/** The context a USB driver was given, or a clear refusal when it was handed a serial link. */
export function requireUsb(ctx: AnyDriverContext, driverLabel: string): UsbDriverContext {
  if (isUsbContext(ctx)) return ctx;
  throw new FlashError('unsupported', `${driverLabel} talks to USB devices, not serial ports.`, {
    hint: 'Pick the device from the USB device list (WebUSB), not a serial port.',
  });
}

export interface UsbDriverModule {
  createDriver(ctx: AnyDriverContext): Driver;
}

/**
 * A USB device simulator: a UsbDeviceModel (plug it into `createUsbPipe(model, clock)`) with an
 * inspectable memory. It also carries the serial Simulator members so it fits SimulatorModule;
 * `attach(port)` of a serial port refuses, since the device has no UART.
 */
export interface UsbSimulator extends UsbDeviceModel, Simulator {
  readonly link: 'usb';
  memory(name: string): Uint8Array;
}

export interface UsbSimulatorModule {
  createSimulator(opts: SimulatorOptions): UsbSimulator;
}

export function isUsbSimulator(sim: Simulator): sim is UsbSimulator {
  return (sim as Partial<UsbSimulator>).link === 'usb';
}
