import type { Result } from '../errors';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

export interface Settings {
  /** The device choice key the page used last (board + connection). */
  lastDeviceKey?: string;
  lastConnection?: 'virtual' | 'serial' | 'usb';
  /** The serial port used last, to find it again among the granted ports without a picker. */
  lastPort?: { usbVendorId?: number; usbProductId?: number; index: number };
  /** The firmware flashed last, offered again after a reload. */
  lastFirmwareSha256?: string;
  /** Add every flashed file to the library. */
  keepInLibrary: boolean;
  /** Line rate of the serial monitor. */
  monitorBaudRate: number;
  /** Open the serial monitor on the board's port right after it was flashed and verified. */
  monitorAfterFlash: boolean;
  /** The Flash screen's "Skip unchanged": read first, write only the pages that differ. */
  skipUnchanged?: boolean;
  // Production station; unset means the station's own defaults (see app/state/station.svelte.ts).
  /** How this station is named in the audit trail. */
  stationName?: string;
  /** Audit records are POSTed here (JSON) through a retrying queue; empty turns it off. */
  mesUrl?: string;
  /** No beep on a failed device. */
  mute?: boolean;
  stationSlots?: number;
  /** Flashing workers for the station; 0 picks a number from the processor count. */
  stationWorkers?: number;
  stationRecipeId?: string;
  /** The station shows the operator's screen: big results, scanner field, recipes run but not edited. */
  operatorMode?: boolean;
}

export const DEFAULT_SETTINGS: Settings = { keepInLibrary: true, monitorBaudRate: 9600, monitorAfterFlash: true };

export interface SettingsApi {
  getSettings(): Promise<Result<Settings>>;
  updateSettings(patch: Partial<Settings>): Promise<Result<Settings>>;
}
