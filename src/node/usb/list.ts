import { DRIVERS } from '../../drivers/registry';
import { driversFor } from '../cli/usb-ids';

export interface UsbListing {
  usb: string;
  serialNumber: string | null;
  manufacturer: string | null;
  product: string | null;
  drivers: string[];
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/**
 * USB devices that a USB driver claims (by VID:PID, or by an interface of the class its meta names:
 * DFU 0xFE/0x01 from any maker), through the npm `usb` package. Without a USB bus (a container, no
 * permission) the list is empty rather than an error.
 */
export async function listUsbDevices(): Promise<UsbListing[]> {
  const usbDrivers = DRIVERS.filter((d) => d.meta.link === 'usb');
  let devices;
  try {
    const { WebUSB } = await import('usb');
    devices = await new WebUSB({ allowAllDevices: true }).getDevices();
  } catch {
    return [];
  }
  const out: UsbListing[] = [];
  for (const dev of devices) {
    const byId = driversFor(usbDrivers, dev.vendorId, dev.productId);
    const interfaces = dev.configurations.flatMap((c) => c.interfaces.flatMap((i) => i.alternates));
    const byClass = usbDrivers
      .filter(({ meta }) => (meta.usbFilters ?? []).some((f) => f.classCode !== undefined && interfaces.some((a) => a.interfaceClass === f.classCode && (f.subclassCode === undefined || a.interfaceSubclass === f.subclassCode))))
      .map(({ meta }) => meta.id);
    const drivers = [...new Set([...byId, ...byClass])];
    if (drivers.length === 0) continue;
    out.push({ usb: `${hex4(dev.vendorId)}:${hex4(dev.productId)}`, serialNumber: dev.serialNumber ?? null, manufacturer: dev.manufacturerName ?? null, product: dev.productName ?? null, drivers });
  }
  return out;
}
