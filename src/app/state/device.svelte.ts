import { serialApi } from '../serial-api';
import type { FlashErrorInfo } from '../../shared/errors';
import type { DeviceSelector } from '../../shared/model';
import {
  describePort,
  requestSerialPort,
  requestUsbDevice,
  vendorName,
  webUsbFilters,
  type BrowserSupport,
  type PickedPort,
  type PickedUsbDevice,
} from '../device-access';
import { FAULT_MODES, faultSpec, type FaultMode } from '../faults';
import type { Catalog, DeviceChoice } from './catalog.svelte';

/** 'serial' and 'usb' are both "a real board": which one follows the board's link (serial port or WebUSB). */
export type Connection = 'virtual' | 'serial' | 'usb';

/**
 * The device restarted as a new USB device the browser will not hand over without a new pick (a DFU
 * detach, an ESP chip's own USB port): what the one clear step asks for, and what the next job needs.
 */
export interface Reconnect {
  link: 'serial' | 'usb';
  /** The step, in one sentence. */
  step: string;
  /** The picker shows only this maker's devices (and this serial number), so the right one is the only one. */
  vendorId: number;
  serialNumber?: string;
  /** Driver options for the next job on the re-picked device (esp-rom: reset=none, it already waits in its loader). */
  options?: Record<string, string>;
}

/** Which device the next job goes to: a board choice plus how it is reached. */
export class DeviceState {
  #choiceKey = $state('');
  #connection = $state<Connection>('virtual');
  #port = $state.raw<PickedPort | null>(null);
  #usbDevice = $state.raw<PickedUsbDevice | null>(null);
  #portError = $state.raw<FlashErrorInfo | null>(null);
  #reconnect = $state.raw<Reconnect | null>(null);
  /** Options the next job takes from a completed reconnect step. */
  #resumeOptions = $state.raw<Record<string, string> | null>(null);
  #fault = $state<FaultMode>('none');

  readonly #catalog: Catalog;
  readonly support: BrowserSupport;
  readonly choice: DeviceChoice | undefined = $derived.by(() => this.#catalog.find(this.#choiceKey) ?? this.#catalog.choices[0]);

  constructor(catalog: Catalog, support: BrowserSupport) {
    this.#catalog = catalog;
    this.support = support;
  }

  get choiceKey() {
    return this.choice?.key ?? '';
  }
  set choiceKey(key: string) {
    this.#choiceKey = key;
  }

  get connection(): Connection {
    if (this.#connection === 'virtual') return 'virtual';
    // A real board: through a serial port or WebUSB, as its protocol needs, where this browser can.
    if (this.choice?.link === 'usb') return this.support.usb ? 'usb' : 'virtual';
    return this.support.serial ? 'serial' : 'virtual';
  }
  set connection(c: Connection) {
    this.#connection = c;
  }

  get port() {
    return this.#port;
  }
  get usbDevice() {
    return this.#usbDevice;
  }
  /** The one clear step after a device re-enumerated out of reach, or null. */
  get reconnect() {
    return this.#reconnect;
  }
  /** Driver options the next job needs (after a reconnect step), or undefined. */
  get driverOptions(): Record<string, string> | undefined {
    return this.connection === 'virtual' ? undefined : (this.#resumeOptions ?? undefined);
  }
  get portError() {
    return this.#portError;
  }

  get fault(): FaultMode {
    return this.#fault;
  }
  set fault(mode: FaultMode) {
    this.#fault = mode;
  }

  /** The device is chosen and reachable: a virtual one always is, a serial one once a port is picked. */
  get ready(): boolean {
    if (this.choice === undefined) return false;
    if (this.connection === 'usb') return this.#usbDevice !== null && this.#reconnect === null;
    return this.connection === 'virtual' || (this.#port !== null && this.#reconnect === null);
  }

  /** Why the device is not ready, for the Flash button's description. */
  get missing(): string | null {
    if (!this.choice) return 'Choose a board.';
    if (this.#reconnect && this.connection !== 'virtual') return this.#reconnect.step;
    if (this.connection === 'serial' && !this.#port) return 'Choose the serial port of the board.';
    if (this.connection === 'usb' && !this.#usbDevice) return 'Connect the USB device.';
    return null;
  }

  get selector(): DeviceSelector | null {
    const c = this.choice;
    if (!c) return null;
    if (this.connection === 'serial') return this.#port?.selector ?? null;
    if (this.connection === 'usb') return this.#usbDevice?.selector ?? null;
    const fault = faultSpec(this.#fault);
    return {
      kind: 'virtual',
      driverId: c.driverId,
      ...(c.targetId === undefined ? {} : { targetId: c.targetId }),
      ...(fault ? { fault } : {}),
      // One virtual board on this screen, which keeps what was flashed (for the monitor, skip-unchanged).
      board: 'flash-screen',
    };
  }

  /** How History names the device. */
  get label(): string {
    const c = this.choice;
    if (!c) return '';
    if (this.connection === 'serial') return `${c.label} on ${this.#port?.label ?? 'a serial port'}`;
    if (this.connection === 'usb') return `${c.label} on ${this.#usbDevice?.label ?? 'USB'}`;
    return this.#fault === 'none' ? c.virtualLabel : `${c.virtualLabel}, fault: ${FAULT_MODES[this.#fault].label.toLowerCase()}`;
  }

  get expectedPortCount(): number | undefined {
    return this.connection === 'serial' ? this.#port?.expectedPortCount : undefined;
  }

  /** Must run from a click: the browser shows its port picker. */
  async choosePort(): Promise<void> {
    const c = this.choice;
    if (!c) return;
    this.#portError = null;
    const again = this.#reconnect?.link === 'serial' ? this.#reconnect : null;
    const result = await requestSerialPort(again ? [{ usbVendorId: again.vendorId }] : c.usbFilters);
    if (result === null) return;
    if (result.ok) {
      this.#port = result.value;
      this.#connection = 'serial';
      this.#completeReconnect(again);
    } else {
      this.#portError = result.error;
    }
  }

  /** Must run from a click: the browser shows its USB device picker. */
  async chooseUsbDevice(): Promise<void> {
    const c = this.choice;
    if (!c) return;
    this.#portError = null;
    const again = this.#reconnect?.link === 'usb' ? this.#reconnect : null;
    const filters = again
      ? [again.serialNumber ? { vendorId: again.vendorId, serialNumber: again.serialNumber } : { vendorId: again.vendorId }]
      : webUsbFilters(c.usbFilters);
    const result = await requestUsbDevice(filters);
    if (result === null) return;
    if (result.ok) {
      this.#usbDevice = result.value;
      this.#connection = 'usb';
      this.#completeReconnect(again);
    } else {
      this.#portError = result.error;
    }
  }

  /**
   * After a job failed because the device came back as a new USB device the worker could not reach
   * (the error's action 'pick-port-again'): the one clear step, and a picker narrowed to that device.
   * `action` names the button that starts the job again ("Flash", "Install").
   */
  needReconnect(error: FlashErrorInfo, action: string): void {
    const a = error.action;
    if (a?.kind !== 'pick-port-again' || this.connection === 'virtual') return;
    if (this.connection === 'usb') {
      const vendorId = a.vendorId || (this.#usbDevice?.selector.vendorId ?? 0);
      const name = a.name ?? null;
      const serialNumber = a.serialNumber;
      this.#reconnect = {
        link: 'usb',
        vendorId,
        ...(serialNumber ? { serialNumber } : {}),
        step: name
          ? `The device restarted in its bootloader. Click Connect again and pick the device named “${name}”, then ${action} again.`
          : `The device restarted in its bootloader. Click Connect again and pick the device from ${vendorName(vendorId)} (the only one listed), then ${action} again.`,
      };
    } else {
      const vendorId = a.vendorId || (this.#port?.selector.usbVendorId ?? 0);
      const options = { ...a.resumeOptions };
      this.#reconnect = {
        link: 'serial',
        vendorId,
        options,
        step: `The board restarted in download mode as a new USB device. Click Choose port again and pick the ${vendorName(vendorId)} port (the only one listed), then ${action} again.`,
      };
    }
  }

  /** The job after a reconnect step has started: its options were used once. */
  consumeResume(): void {
    this.#resumeOptions = null;
  }

  #completeReconnect(again: Reconnect | null): void {
    if (!again) return;
    this.#reconnect = null;
    this.#resumeOptions = again.options && Object.keys(again.options).length > 0 ? again.options : null;
  }

  /**
   * Finds the port used last among the ports this site may already use, so a reload needs no picker.
   * Gives up quietly when it is not plugged in or the set of identical adapters changed.
   */
  async restorePort(saved: { usbVendorId?: number; usbProductId?: number; index: number }): Promise<void> {
    if (!this.support.serial || this.#port) return;
    try {
      const group = ((await serialApi()?.getPorts()) ?? []).filter((p) => {
        const info = p.getInfo();
        return info.usbVendorId === saved.usbVendorId && info.usbProductId === saved.usbProductId;
      });
      const port = group[saved.index];
      if (!port) return;
      this.#port = await describePort(port);
      this.#connection = 'serial';
    } catch {
      // no access: the user picks the port again
    }
  }

  forgetPort(): void {
    this.#port = null;
  }

  forgetUsbDevice(): void {
    this.#usbDevice = null;
  }
}
