import type { FlashErrorInfo } from '../../shared/errors';
import type { DeviceSelector } from '../../shared/model';
import { describePort, requestSerialPort, type BrowserSupport, type PickedPort } from '../device-access';
import { FAULT_MODES, faultSpec, type FaultMode } from '../faults';
import type { Catalog, DeviceChoice } from './catalog.svelte';

export type Connection = 'virtual' | 'serial';

/** Which device the next job goes to: a board choice plus how it is reached. */
export class DeviceState {
  #choiceKey = $state('');
  #connection = $state<Connection>('virtual');
  #port = $state.raw<PickedPort | null>(null);
  #portError = $state.raw<FlashErrorInfo | null>(null);
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
    // Real USB (WebUSB) devices have no page-side hand-off yet: such boards are reached virtually only.
    return this.choice?.link === 'usb' ? 'virtual' : this.#connection;
  }
  set connection(c: Connection) {
    this.#connection = c === 'serial' && !this.support.serial ? 'virtual' : c;
  }

  get port() {
    return this.#port;
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
    return this.choice !== undefined && (this.connection === 'virtual' || this.#port !== null);
  }

  /** Why the device is not ready, for the Flash button's description. */
  get missing(): string | null {
    if (!this.choice) return 'Choose a board.';
    if (this.connection === 'serial' && !this.#port) return 'Choose the serial port of the board.';
    return null;
  }

  get selector(): DeviceSelector | null {
    const c = this.choice;
    if (!c) return null;
    if (this.connection === 'serial') return this.#port?.selector ?? null;
    const fault = faultSpec(this.#fault);
    return {
      kind: 'virtual',
      driverId: c.driverId,
      ...(c.targetId === undefined ? {} : { targetId: c.targetId }),
      ...(fault ? { fault } : {}),
    };
  }

  /** How History names the device. */
  get label(): string {
    const c = this.choice;
    if (!c) return '';
    if (this.connection === 'serial') return `${c.label} on ${this.#port?.label ?? 'a serial port'}`;
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
    const result = await requestSerialPort(c.usbFilters);
    if (result === null) return;
    if (result.ok) {
      this.#port = result.value;
      this.#connection = 'serial';
    } else {
      this.#portError = result.error;
    }
  }

  /**
   * Finds the port used last among the ports this site may already use, so a reload needs no picker.
   * Gives up quietly when it is not plugged in or the set of identical adapters changed.
   */
  async restorePort(saved: { usbVendorId?: number; usbProductId?: number; index: number }): Promise<void> {
    if (!this.support.serial || this.#port) return;
    try {
      const group = (await navigator.serial.getPorts()).filter((p) => {
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
}
