import { describe, expect, it } from 'vitest';
import type { ByteStream } from '../../src/core/io/byte-stream';
import type { DriveHandle } from '../../src/core/io/drive';
import type { HidPipe } from '../../src/core/io/hid-pipe';
import type { UsbPipe } from '../../src/core/io/usb-pipe';
import type { BaseDriverContext } from '../../src/core/job/driver-api';
import { DRIVERS } from '../../src/drivers/registry';
import type { DriverModule, LinkSimulators, SimulatorModule } from '../../src/drivers/types';
import { systemClock } from '../../src/transports/clock';

/*
 * Link kinds are types, not run-time checks: a driver module of one kind accepts only its own
 * context, and a simulator of one kind only its own seam. The @ts-expect-error lines below are the
 * test: `npx tsc -b` (part of the test command) fails if any of them starts to compile.
 */

const base: BaseDriverContext = { clock: systemClock, log: () => {}, signal: new AbortController().signal };
declare const stream: ByteStream;
declare const usb: UsbPipe;
declare const hid: HidPipe;
declare const drive: DriveHandle;

/** Type-checked, never run: each kind's createDriver refuses every other kind's context. */
export function contextsOfAnotherKindDoNotCompile(serial: DriverModule<'serial'>, usbModule: DriverModule<'usb'>, hidModule: DriverModule<'hid'>, driveModule: DriverModule<'drive'>) {
  serial.createDriver({ ...base, stream });
  usbModule.createDriver({ ...base, usb });
  hidModule.createDriver({ ...base, hid });
  driveModule.createDriver({ ...base, drive });
  // @ts-expect-error a USB driver is never handed a serial stream
  usbModule.createDriver({ ...base, stream });
  // @ts-expect-error a serial driver is never handed a USB pipe
  serial.createDriver({ ...base, usb });
  // @ts-expect-error a HID driver needs a HidPipe, not a UsbPipe
  hidModule.createDriver({ ...base, usb });
  // @ts-expect-error a drive driver needs a drive
  driveModule.createDriver({ ...base, hid });
}

/** Type-checked, never run: a USB simulator has no serial attach(), a serial one no USB endpoints. */
export function simulatorsOfAnotherKindDoNotFit(usbSim: SimulatorModule<'usb'>, serialSim: SimulatorModule<'serial'>) {
  const u = usbSim.createSimulator({ clock: systemClock });
  // @ts-expect-error USB simulators have no UART to attach
  u.attach(undefined);
  const s: LinkSimulators['serial'] = serialSim.createSimulator({ clock: systemClock });
  // @ts-expect-error serial simulators answer no control transfers
  s.control(undefined);
}

describe('link kinds', () => {
  it('every registry line states its kind as its meta does', () => {
    for (const entry of DRIVERS) expect(entry.link).toBe(entry.meta.link);
  });

  it('the registry narrows on the kind: a USB line loads a module whose simulator is a USB device model', async () => {
    const usbLine = DRIVERS.find((d) => d.link === 'usb');
    expect(usbLine).toBeDefined();
    if (usbLine?.link !== 'usb') return;
    const sim = (await usbLine.simulator()).createSimulator({ clock: systemClock });
    expect(typeof sim.control).toBe('function');
    expect('attach' in sim).toBe(false);
  });
});
