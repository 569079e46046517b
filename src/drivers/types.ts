import type { DevicePort } from '../core/io/uart-link';
import type { Clock } from '../core/io/clock';
import type { Driver, DriverContext } from '../core/job/driver-api';
import type { DriverInfo } from '../shared/model';

export type * from '../core/job/driver-api';
export type { BlockConstraints, TargetMemory } from '../core/plan/blocks';

/** Pure data about a driver: what the UI and CLI may know without loading its code. */
export type DriverMeta = DriverInfo;

export interface DriverModule {
  createDriver(ctx: DriverContext): Driver;
}

export interface SimulatorOptions {
  clock: Clock;
  targetId?: string;
  /** Driver-specific variant, e.g. 'optiboot' or 'atmegaboot'. */
  variant?: string;
}

/**
 * A byte-level device: bootloader state machine plus memory. One class serves unit tests,
 * virtual devices in the app and PTY-hosted peers for real tools.
 */
export interface Simulator {
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
  memory(name: string): Uint8Array;
}

export interface SimulatorModule {
  createSimulator(opts: SimulatorOptions): Simulator;
}
