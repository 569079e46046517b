/** Serialisable data passed between threads and stored in IndexedDB. Plain objects only. */
import type { RawPlacement } from './intake';
import type { ConsentWord, DriverOptionSpec } from './options';

/**
 * How a driver reaches its device: a serial port (Web Serial), a USB device (WebUSB), a HID device
 * (WebHID) or a mass-storage drive granted as a folder (File System Access). Each kind has its own
 * seam in core/io, driver context and simulator interface.
 */
export type LinkKind = 'serial' | 'usb' | 'hid' | 'drive';

export interface SerialDefaults {
  baudRate: number;
  /** Tried in order when the first gives no answer (old bootloaders). */
  fallbackBaudRates?: number[];
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
}

export interface MemoryInfo {
  name: string; // 'flash' | 'eeprom' | ...
  base: number;
  size: number;
  pageSize: number;
}

/** A chip a driver can program, as the UI lists it. */
export interface TargetInfo {
  id: string; // short CLI name, e.g. 'm328p'
  name: string; // 'ATmega328P'
  /** Boards this part is found on, for the picker: 'Arduino Uno', ... */
  boards: string[];
  memories: MemoryInfo[];
  /** The ID the device reports, as DeviceIdentity.id ('1e950f'), where it is known from the part alone. */
  deviceId?: string;
}

/**
 * How far an operation is proven, flashrom style, strongest first:
 * - 'ok': against real device code or hardware (e.g. real optiboot running in simavr);
 * - 'peer': against our simulator, which a real independent host tool (avrdude, flashrom, esptool-js,
 *   stm32flash, dfu-util) drives successfully; no real device code or hardware yet;
 * - 'untested'; 'na' where the operation does not exist.
 */
export type TestedStatus = 'ok' | 'peer' | 'untested' | 'na';

export interface DriverInfo<K extends LinkKind = LinkKind> {
  id: string;
  label: string;
  link: K;
  serialDefaults?: SerialDefaults;
  /**
   * USB ids the device pickers offer. `classCode`/`subclassCode` (WebUSB only) also offer every device
   * of that USB class (the device's or one of its interfaces'), whatever its maker: DFU devices come
   * from many vendors, so the DFU class (0xFE/0x01) is listed beside the best-known IDs.
   */
  usbFilters?: { usbVendorId: number; usbProductId?: number; classCode?: number; subclassCode?: number }[];
  /**
   * Serial devices that re-enumerate when reset into their loader (a chip's own USB port): the USB IDs
   * they come back with, so the worker can find the port again without a picker, and the driver options
   * for the session on that port (the device is already in its loader, so no second reset).
   */
  reenumerates?: { usbVendorId: number; usbProductIds: number[]; options: Record<string, string> };
  capabilities: { erase: boolean; read: boolean; eeprom: boolean };
  targets: TargetInfo[];
  /** Where an image without addresses goes (core/placement); the start of the part's memory unless told. */
  placement?: RawPlacement;
  /** What the driver can be told besides port, rate and part (validated by core/job/options.ts before anything opens). */
  options?: readonly DriverOptionSpec[];
  /** Destructive operations it performs only with the user's consent word. */
  consents?: readonly ConsentWord[];
  /** flashrom-style per-operation test status, for the README table and the picker. */
  tested: { probe: TestedStatus; read: TestedStatus; write: TestedStatus; erase: TestedStatus };
}

export type DeviceSelector =
  /**
   * `variant`: the simulator's, e.g. usb-dfu 'runtime' (an application that detaches into DFU mode).
   * `board`: names a virtual board that keeps its memory between jobs and the serial monitor, as a
   * real one does (the Flash screen's); without it every job gets a factory-fresh device (station slots).
   */
  | { kind: 'virtual'; driverId: string; targetId?: string; fault?: FaultSpec; variant?: string; board?: string }
  | { kind: 'serial'; usbVendorId?: number; usbProductId?: number; index: number }
  | { kind: 'usb'; vendorId: number; productId: number; serialNumber?: string };

/** Link faults injected into a virtual device (demo, tests). */
export interface FaultSpec {
  seed: number;
  bitFlipRate?: number;
  dropRate?: number;
  duplicateRate?: number;
  stallRate?: number;
  stallMs?: number;
  disconnectAfterBytes?: number;
  /** Which way bit flips, drops and duplicates hit: 'to-host' is the read-back direction. Both unless told. */
  direction?: 'both' | 'to-device' | 'to-host';
}

export interface DeviceIdentity {
  /** Signature / chip ID bytes as hex, e.g. '1e950f'. */
  id: string;
  name: string;
  bootloader?: string;
  baudRate?: number;
  /** The unit's own ID where the protocol reads one: an ESP's MAC address, an STM32's 96-bit unique ID. */
  unitId?: { kind: 'mac' | 'uid'; value: string };
}

export interface JobOptions {
  /** Read back and compare after writing. Defaults to true; only a verify makes a job pass. */
  verify?: boolean;
  /** Erase before write where the driver has an explicit erase. */
  erase?: boolean;
  /** Read first and write only the pages that differ (R&D re-flashes, socket re-programming). */
  skipUnchanged?: boolean;
}

export interface JobReport {
  device: DeviceIdentity;
  bytesWritten: number;
  bytesVerified: number;
  /** Bytes of the image left alone because the device already held them (skipUnchanged). */
  bytesSkipped: number;
  /** How the device's contents were checked: read back byte for byte, or by a digest it computed (MD5, CRC). */
  verifiedBy?: 'read-back' | 'device-digest';
  durationMs: number;
  /** Per-phase wall time, for the benchmark and the support call. */
  phaseMs: Partial<Record<string, number>>;
  verified: boolean;
}
