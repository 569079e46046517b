import type { FlashErrorInfo, Result } from '../errors';
import type { DeviceSelector } from '../model';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

/** A serial monitor session on a device's port, after (or between) jobs. */
export interface MonitorSpec {
  device: DeviceSelector;
  baudRate: number;
  /** As in JobSpec: the serial hand-off check. */
  expectedPortCount?: number;
}

export type MonitorEvent =
  /** Bytes from the device, coalesced to at most ~30 messages a second. */
  | { type: 'data'; bytes: Uint8Array }
  /** The monitor ended: closed by the page (error null) or the port went away. */
  | { type: 'closed'; error: FlashErrorInfo | null };

/** Serial monitors on a device's port. */
export interface MonitorsApi {
  /** Opens the port for a terminal; resolves with the monitor's ID. A job needs the port closed again. */
  openMonitor(spec: MonitorSpec, onEvent: (event: MonitorEvent) => void): Promise<Result<string>>;
  writeMonitor(monitorId: string, bytes: Uint8Array): Promise<Result<boolean>>;
  closeMonitor(monitorId: string): Promise<Result<boolean>>;
}
