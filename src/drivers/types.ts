import type { DevicePort } from '../core/io/uart-link';
import type { Clock } from '../core/io/clock';
import type { DriveModel } from '../core/io/drive';
import type { HidDeviceModel } from '../core/io/hid-pipe';
import type { UsbDeviceModel } from '../core/io/usb-pipe';
import type { Driver, LinkContexts } from '../core/job/driver-api';
import type { DriverInfo, LinkKind } from '../shared/model';

export type * from '../core/job/driver-api';
export type { BlockConstraints, TargetMemory } from '../core/plan/blocks';
export type { LinkKind } from '../shared/model';

/** Pure data about a driver: what the UI and CLI may know without loading its code. `K` is its link. */
export type DriverMeta<K extends LinkKind = LinkKind> = DriverInfo<K>;

/** A driver module of link kind `K`: its createDriver takes that kind's context and no other. */
export interface DriverModule<K extends LinkKind = 'serial'> {
  createDriver(ctx: LinkContexts[K]): Driver;
}

export interface SimulatorOptions {
  clock: Clock;
  targetId?: string;
  /** Driver-specific variant, e.g. 'optiboot' or 'atmegaboot'. */
  variant?: string;
}

/** What every simulator has, whatever its link: an inspectable memory model. */
interface InspectableMemory {
  memory(name: string): Uint8Array;
}

/**
 * A byte-level device behind a UART: bootloader state machine plus memory. One class serves unit
 * tests, virtual devices in the app and PTY-hosted peers for real tools.
 */
export interface SerialSimulator extends InspectableMemory {
  /** Serves the port until it closes. */
  attach(port: DevicePort): void;
  /** An external reset, as when a host opens a PTY (an Uno's DTR auto-reset). */
  reset(): void;
  /** The line rate the device talks at. */
  readonly baudRate: number;
  /**
   * True when the device takes whatever rate the host uses (USB CDC ignores it; an STM32 ROM measures
   * it from 0x7F; a simulator that times its own line): hosts then do not hold it to `baudRate`.
   */
  readonly anyBaud?: boolean;
}
/** The serial simulator, by its historical name. */
export type Simulator = SerialSimulator;

/** A USB device simulator: plug it into `createUsbPipe(model, clock)` (core/io/usb-bus.ts). */
export interface UsbSimulator extends UsbDeviceModel, InspectableMemory {}

/** A HID device simulator: plug it into `createHidPipe(model, clock)` (core/io/hid-bus.ts). */
export interface HidSimulator extends HidDeviceModel, InspectableMemory {}

/** A mass-storage drive simulator: open it with `createDriveHandle(model, clock)` (core/io/drive-bus.ts). */
export interface DriveSimulator extends DriveModel, InspectableMemory {}

/** The simulator interface of each link kind. */
export interface LinkSimulators {
  serial: SerialSimulator;
  usb: UsbSimulator;
  hid: HidSimulator;
  drive: DriveSimulator;
}

export interface SimulatorModule<K extends LinkKind = 'serial'> {
  createSimulator(opts: SimulatorOptions): LinkSimulators[K];
}
