import type { FlashErrorInfo, Result } from '../shared/errors';
import type { DeviceSelector } from '../shared/model';
import { samePort, serialApi } from './serial-api';

/** What this browser can reach. Virtual devices need none of it. */
export interface BrowserSupport {
  /** Serial ports reachable: Web Serial, or USB CDC-ACM devices over WebUSB (Android, see serial-api.ts). */
  serial: boolean;
  usb: boolean;
  secureContext: boolean;
}

export function browserSupport(): BrowserSupport {
  return {
    serial: typeof navigator !== 'undefined' && ('serial' in navigator || 'usb' in navigator),
    usb: typeof navigator !== 'undefined' && 'usb' in navigator,
    secureContext: typeof window !== 'undefined' && window.isSecureContext,
  };
}

/** A port the user granted, described so the worker can find the same one (see transports/index.ts). */
export interface PickedPort {
  selector: Extract<DeviceSelector, { kind: 'serial' }>;
  /** Granted ports with this VID/PID when it was picked: the worker checks it still sees as many. */
  expectedPortCount: number;
  /** "Arduino (2341:0043)", with "#2" when several identical adapters are plugged in. */
  label: string;
}

const VENDORS: Record<number, string> = {
  0x2341: 'Arduino',
  0x2a03: 'Arduino',
  0x1a86: 'WCH CH340',
  0x0403: 'FTDI',
  0x10c4: 'Silicon Labs CP210x',
  0x067b: 'Prolific',
  0x239a: 'Adafruit',
  0x303a: 'Espressif',
  0x0483: 'STMicroelectronics',
  0x1209: 'pid.codes',
  0x28e9: 'GigaDevice',
};

/** A maker's name for a USB vendor ID, or "USB vendor 0483". */
export function vendorName(vendorId: number): string {
  return VENDORS[vendorId] ?? `USB vendor ${hex4(vendorId)}`;
}

function hex4(n: number | undefined): string {
  return n === undefined ? '????' : n.toString(16).padStart(4, '0');
}

/**
 * Shows the browser's port picker (needs a user gesture) filtered to the driver's USB IDs.
 * Resolves null when the user closes the picker without choosing.
 */
export async function requestSerialPort(filters: { usbVendorId: number; usbProductId?: number }[]): Promise<Result<PickedPort> | null> {
  const serial = serialApi();
  if (!serial) return { ok: false, error: noSerial() };
  let port: SerialPort;
  // Web Serial filters know only the IDs (class fields are WebUSB's).
  const serialFilters = filters.map((f) => (f.usbProductId === undefined ? { usbVendorId: f.usbVendorId } : { usbVendorId: f.usbVendorId, usbProductId: f.usbProductId }));
  try {
    port = await serial.requestPort(serialFilters.length > 0 ? { filters: serialFilters } : {});
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFoundError') return null; // picker closed
    return {
      ok: false,
      error: {
        code: 'port-unavailable',
        message: `The browser did not give access to a port: ${err instanceof Error ? err.message : String(err)}`,
        hint: 'Allow serial access for this site, then choose the port again.',
      },
    };
  }
  return { ok: true, value: await describePort(port) };
}

/** The port's place among granted ports with the same VID/PID, as the worker will see them. */
export async function describePort(port: SerialPort): Promise<PickedPort> {
  const info = port.getInfo();
  const all = (await serialApi()?.getPorts()) ?? [];
  const group = all.filter((p) => {
    const i = p.getInfo();
    return i.usbVendorId === info.usbVendorId && i.usbProductId === info.usbProductId;
  });
  let index = group.findIndex((p) => samePort(p, port));
  if (index < 0) index = group.length - 1; // should not happen: a picked port is granted
  const vendor = info.usbVendorId === undefined ? 'Serial port' : (VENDORS[info.usbVendorId] ?? 'USB serial');
  const ids = info.usbVendorId === undefined ? '' : ` (${hex4(info.usbVendorId)}:${hex4(info.usbProductId)})`;
  const selector: PickedPort['selector'] = { kind: 'serial', index };
  if (info.usbVendorId !== undefined) selector.usbVendorId = info.usbVendorId;
  if (info.usbProductId !== undefined) selector.usbProductId = info.usbProductId;
  return {
    selector,
    expectedPortCount: group.length,
    label: `${vendor}${ids}${group.length > 1 ? ` #${index + 1}` : ''}`,
  };
}

function noSerial(): FlashErrorInfo {
  return {
    code: 'unsupported',
    message: 'This browser cannot reach serial ports.',
    hint: 'Use Chrome, Edge or Opera on a computer, over https, or flash a virtual device.',
  };
}

/** A USB device the user granted, described so the worker can find the same one (transports/index.ts openUsbLink). */
export interface PickedUsbDevice {
  selector: Extract<DeviceSelector, { kind: 'usb' }>;
  /** "STM32  BOOTLOADER (0483:df11)". */
  label: string;
}

type UsbFilterSpec = { usbVendorId: number; usbProductId?: number; classCode?: number; subclassCode?: number };

/**
 * WebUSB picker filters from a driver's `usbFilters`: each entry's IDs, and for an entry with class
 * fields also that USB class from any maker (DriverInfo.usbFilters).
 */
export function webUsbFilters(filters: UsbFilterSpec[]): USBDeviceFilter[] {
  const out: USBDeviceFilter[] = [];
  const seen = new Set<string>();
  const add = (f: USBDeviceFilter) => {
    const key = JSON.stringify(f);
    if (!seen.has(key)) seen.add(key) && out.push(f);
  };
  for (const f of filters) {
    add(f.usbProductId === undefined ? { vendorId: f.usbVendorId } : { vendorId: f.usbVendorId, productId: f.usbProductId });
    if (f.classCode !== undefined) add(f.subclassCode === undefined ? { classCode: f.classCode } : { classCode: f.classCode, subclassCode: f.subclassCode });
  }
  return out;
}

/**
 * Shows the browser's USB device picker (needs a user gesture). `filters` are WebUSB filters (see
 * webUsbFilters); resolves null when the user closes the picker without choosing.
 */
export async function requestUsbDevice(filters: USBDeviceFilter[]): Promise<Result<PickedUsbDevice> | null> {
  if (!('usb' in navigator)) return { ok: false, error: noUsb() };
  let device: USBDevice;
  try {
    device = await navigator.usb.requestDevice({ filters });
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFoundError') return null; // picker closed
    return {
      ok: false,
      error: {
        code: 'port-unavailable',
        message: `The browser did not give access to a USB device: ${err instanceof Error ? err.message : String(err)}`,
        hint: 'Allow USB access for this site, then connect the device again.',
      },
    };
  }
  return { ok: true, value: describeUsbDevice(device) };
}

export function describeUsbDevice(device: Pick<USBDevice, 'vendorId' | 'productId' | 'serialNumber' | 'productName'>): PickedUsbDevice {
  const selector: PickedUsbDevice['selector'] = { kind: 'usb', vendorId: device.vendorId, productId: device.productId };
  if (device.serialNumber) selector.serialNumber = device.serialNumber;
  const name = device.productName?.trim() || vendorName(device.vendorId);
  return { selector, label: `${name} (${hex4(device.vendorId)}:${hex4(device.productId)})` };
}

function noUsb(): FlashErrorInfo {
  return {
    code: 'unsupported',
    message: 'This browser cannot reach USB devices.',
    hint: 'Use Chrome, Edge or Opera on a computer, over https, or a virtual device.',
  };
}
