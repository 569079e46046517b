import type { UsbPipe } from '../../core/io/usb-pipe';
import type { Clock } from '../../core/io/clock';
import { FlashError } from '../../shared/errors';
import { openUsbDevice, type UsbDeviceLike, type UsbEventsLike } from '../../transports/web-usb';

export interface UsbMatch {
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
}

const hex4 = (n: number | undefined) => (n === undefined ? '*' : n.toString(16).padStart(4, '0'));
export const usbLabel = (m: UsbMatch) => `usb:${hex4(m.vendorId)}:${hex4(m.productId)}${m.serialNumber ? `:${m.serialNumber}` : ''}`;

/** How long a re-enumerating device (a DFU detach, a reset into another mode) may take to come back. */
const REAPPEAR_MS = 5000;
const POLL_MS = 100;

/**
 * A USB device for a USB driver in Node: the npm `usb` package's WebUSB class gives the same device
 * objects as `navigator.usb`, so they go through the browser's openUsbDevice() seam unchanged.
 */
export async function openUsb(match: UsbMatch, clock: Clock): Promise<{ pipe: UsbPipe; reopen: (m: UsbMatch) => Promise<UsbPipe> }> {
  let webusb: { getDevices(): Promise<UsbDeviceLike[]> } & UsbEventsLike;
  try {
    const { WebUSB } = await import('usb');
    webusb = new WebUSB({ allowAllDevices: true }) as unknown as typeof webusb;
  } catch (err) {
    throw new FlashError('port-unavailable', `USB is not available here: ${(err as Error).message}`, { hint: 'Check that the npm package "usb" is installed for this platform.' });
  }
  const find = async (m: UsbMatch) => {
    let devices: (UsbDeviceLike & { vendorId: number; productId: number; serialNumber?: string })[];
    try {
      devices = (await webusb.getDevices()) as typeof devices;
    } catch (err) {
      throw new FlashError('port-unavailable', `Cannot list USB devices: ${(err as Error).message}`, { hint: 'Check that this machine (or container) can see the USB bus and that you may open USB devices.' });
    }
    return devices.filter((d) => (m.vendorId === undefined || d.vendorId === m.vendorId) && (m.productId === undefined || d.productId === m.productId) && (m.serialNumber === undefined || d.serialNumber === m.serialNumber));
  };
  const open = async (device: UsbDeviceLike) => openUsbDevice(device, { clock, usb: webusb });
  const found = await find(match);
  if (found.length === 0) {
    throw new FlashError('port-unavailable', `No USB device ${usbLabel(match).slice(4)} is connected.`, { hint: 'Check the cable and that the board is in its bootloader; "webprog ports" lists what is there.' });
  }
  if (found.length > 1) {
    throw new FlashError('port-unavailable', `${found.length} USB devices match ${usbLabel(match).slice(4)}.`, { hint: 'Add the serial number: --usb VID:PID:SERIAL ("webprog ports" shows it).' });
  }
  const reopen = async (m: UsbMatch) => {
    const end = clock.now() + REAPPEAR_MS;
    for (;;) {
      const [device] = await find(m);
      if (device) return open(device);
      if (clock.now() > end) throw new FlashError('device-lost', `The USB device did not come back as ${usbLabel(m).slice(4)}.`);
      await clock.sleep(POLL_MS);
    }
  };
  return { pipe: await open(found[0]!), reopen };
}
