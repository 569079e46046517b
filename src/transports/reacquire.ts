import type { ByteStream } from '../core/io/byte-stream';
import type { AbortSignalLike, Clock } from '../core/io/clock';
import type { UsbDeviceInfo, UsbPipe } from '../core/io/usb-pipe';
import { FlashError } from '../shared/errors';
import type { DeviceSelector } from '../shared/model';
import { reattachVirtualUsb, virtualUsbSimulator } from './virtual';
import type { SerialPortLike } from './web-serial';
import { openUsbDevice, type UsbDeviceLike } from './web-usb';

/*
 * Finding a device again after it re-enumerated, without a second picker where the browser allows.
 *
 * A device that resets into its loader leaves the bus and comes back as a new USB device: a DFU
 * application after DFU_DETACH (maybe with another product ID), an ESP chip's own USB port after the
 * reset into download mode. The old SerialPort / USBDevice object is gone; the new one is listed by
 * `getPorts()` / `getDevices()` only if the origin's permission covers it (Chrome keeps it for a device
 * with the same IDs and serial number). So we poll for it, and when it does not show up the caller
 * asks the user for one clear step: pick it in the browser's list again.
 */

/** DFU detach: wDetachTimeOut plus the OS enumerating the device again, a few seconds at worst. */
export const REACQUIRE_TIMEOUT_MS = 10_000;
export const REACQUIRE_INTERVAL_MS = 250;

export interface ReacquireOptions {
  clock: Clock;
  signal?: AbortSignalLike;
  timeoutMs?: number;
  intervalMs?: number;
}

// ---- serial ports -------------------------------------------------------------------------------------

/** What the port list looked like when a stream was opened, to tell the re-enumerated port from others. */
const openedPorts = new WeakMap<ByteStream, { port: SerialPortLike; present: readonly SerialPortLike[] }>();

export function rememberOpenedPort(stream: ByteStream, port: SerialPortLike, present: readonly SerialPortLike[]): void {
  openedPorts.set(stream, { port, present: [...present] });
}

/**
 * The port a board came back on after its USB port re-enumerated: the one port with one of `ids`
 * that was not there when `lost` was opened. Null when none shows up in time (the browser wants a new
 * grant: another product ID, no serial number) or several do (not ours to guess), and for links this
 * module did not open (virtual devices).
 */
export async function reacquireSerialPort(
  lost: ByteStream,
  ids: { usbVendorId: number; usbProductIds: readonly number[] },
  opts: ReacquireOptions & { serial?: { getPorts(): Promise<SerialPortLike[]> } },
): Promise<{ selector: Extract<DeviceSelector, { kind: 'serial' }>; expectedPortCount: number } | null> {
  const known = openedPorts.get(lost);
  const serial = opts.serial ?? (globalThis as { navigator?: { serial?: { getPorts(): Promise<SerialPortLike[]> } } }).navigator?.serial;
  if (!known || !serial) return null;
  const matches = (p: SerialPortLike) => {
    const info = p.getInfo();
    return info.usbVendorId === ids.usbVendorId && info.usbProductId !== undefined && ids.usbProductIds.includes(info.usbProductId);
  };
  const deadline = opts.clock.now() + (opts.timeoutMs ?? REACQUIRE_TIMEOUT_MS);
  for (;;) {
    const ports = await serial.getPorts();
    const fresh = ports.filter((p) => matches(p) && p !== known.port && !known.present.includes(p));
    if (fresh.length > 1) return null;
    const port = fresh[0];
    if (port) {
      const info = port.getInfo();
      const group = ports.filter((p) => {
        const i = p.getInfo();
        return i.usbVendorId === info.usbVendorId && i.usbProductId === info.usbProductId;
      });
      const selector: Extract<DeviceSelector, { kind: 'serial' }> = { kind: 'serial', index: group.indexOf(port) };
      if (info.usbVendorId !== undefined) selector.usbVendorId = info.usbVendorId;
      if (info.usbProductId !== undefined) selector.usbProductId = info.usbProductId;
      return { selector, expectedPortCount: group.length };
    }
    if (opts.clock.now() >= deadline) return null;
    await opts.clock.sleep(opts.intervalMs ?? REACQUIRE_INTERVAL_MS, opts.signal);
  }
}

// ---- USB devices ----------------------------------------------------------------------------------------

/** The USBDevice behind each pipe opened here or in index.ts, so the old object is never taken for the new one. */
const usbDevices = new WeakMap<UsbPipe, UsbDeviceLike>();

export function rememberUsbDevice(pipe: UsbPipe, device: UsbDeviceLike): void {
  usbDevices.set(pipe, device);
}

/** What a driver knows of the device it waits for (UsbDriverContext.reopen). */
export interface UsbMatch {
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
}

/**
 * Opens the device `previous` became after it re-enumerated: a virtual one is the same simulator back on
 * the bus; a real one is the single granted device matching `match` (other than the old object), polled
 * with `getDevices()`. Fails with 'port-unavailable' and the action 'pick-port-again' when it does not
 * appear: the page then asks the user to pick it once (see device-access.ts).
 */
export async function reopenUsbLink(
  previous: UsbPipe,
  match: UsbMatch,
  opts: ReacquireOptions & { usb?: { getDevices(): Promise<UsbDeviceLike[]> } },
): Promise<UsbPipe> {
  const deadline = opts.clock.now() + (opts.timeoutMs ?? REACQUIRE_TIMEOUT_MS);
  const wait = () => opts.clock.sleep(opts.intervalMs ?? REACQUIRE_INTERVAL_MS, opts.signal);
  if (virtualUsbSimulator(previous)) {
    for (;;) {
      try {
        return reattachVirtualUsb(previous, opts.clock);
      } catch (err) {
        if (opts.clock.now() >= deadline) throw reenumerationError(previous.info, match);
        if (!(err instanceof FlashError)) throw err;
      }
      await wait();
    }
  }
  const usb = opts.usb ?? (globalThis as { navigator?: { usb?: { getDevices(): Promise<UsbDeviceLike[]> } } }).navigator?.usb;
  if (!usb) throw reenumerationError(previous.info, match);
  const old = usbDevices.get(previous);
  for (;;) {
    const found = (await usb.getDevices()).filter(
      (d) =>
        d !== old &&
        (match.vendorId === undefined || d.vendorId === match.vendorId) &&
        (match.productId === undefined || d.productId === match.productId) &&
        (match.serialNumber === undefined || d.serialNumber === match.serialNumber),
    );
    if (found.length > 1) {
      throw new FlashError('port-unavailable', 'Several USB devices could be the one that restarted, and none names a serial number.', {
        hint: 'Unplug the other devices of the same kind, then start again.',
        details: { reason: 'ambiguous', candidates: found.length },
      });
    }
    const device = found[0];
    if (device) {
      const pipe = await openUsbDevice(device, { clock: opts.clock });
      rememberUsbDevice(pipe, device);
      return pipe;
    }
    if (opts.clock.now() >= deadline) throw reenumerationError(previous.info, match);
    await wait();
  }
}

function reenumerationError(previous: UsbDeviceInfo, match: UsbMatch): FlashError {
  const vendorId = match.vendorId ?? previous.vendorId;
  // The same product ID means the same device identity, so its name is still the one the user saw.
  const name = match.productId === previous.productId ? previous.productName : undefined;
  const details: Record<string, string | number | boolean> = { reason: 'reenumerated', vendorId };
  if (match.productId !== undefined) details.productId = match.productId;
  if (match.serialNumber !== undefined) details.serialNumber = match.serialNumber;
  if (name) details.name = name;
  if (previous.productName) details.previousName = previous.productName;
  return new FlashError('port-unavailable', 'The device restarted in its bootloader as a new USB device, which this page may not use yet.', {
    hint: name
      ? `Click Connect again and pick the device named “${name}”, then start again.`
      : `Click Connect again and pick the device from the same maker (USB vendor ${vendorId.toString(16).padStart(4, '0')}) in the list, then start again.`,
    details,
    action: {
      kind: 'pick-port-again',
      link: 'usb',
      vendorId,
      ...(match.productId === undefined ? {} : { productId: match.productId }),
      ...(match.serialNumber === undefined ? {} : { serialNumber: match.serialNumber }),
      ...(name ? { name } : {}),
    },
  });
}
