import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface SerialListing {
  path: string;
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
}

/**
 * Serial ports as node-serialport lists them; where its lister cannot run (Linux without udevadm, as
 * in many containers) the same facts are read from sysfs: USB serial adapters only (ttyUSB, ttyACM).
 */
export async function listSerialPorts(): Promise<SerialListing[]> {
  try {
    const { SerialPort } = await import('serialport');
    return (await SerialPort.list()).map((p) => ({
      path: p.path,
      ...(p.vendorId ? { vendorId: parseInt(p.vendorId, 16) } : {}),
      ...(p.productId ? { productId: parseInt(p.productId, 16) } : {}),
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
      ...((p as { product?: string }).product ? { product: (p as { product?: string }).product } : {}),
    }));
  } catch (err) {
    if (process.platform !== 'linux') throw err;
    return fromSysfs();
  }
}

/** USB serial adapters from sysfs (`base` is /sys/class/tty; tests hand in a copy). */
export function fromSysfs(base = '/sys/class/tty'): SerialListing[] {
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((name) => /^tty(USB|ACM)\d+$/.test(name))
    .map((name) => {
      const out: SerialListing = { path: `/dev/${name}` };
      // Walk up from the tty's device to the USB device directory, the one with idVendor.
      let dir = realpathSync(join(base, name, 'device'));
      for (let i = 0; i < 4 && !existsSync(join(dir, 'idVendor')); i++) dir = dirname(dir);
      const read = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim() : undefined);
      const vid = read('idVendor');
      const pid = read('idProduct');
      if (vid) out.vendorId = parseInt(vid, 16);
      if (pid) out.productId = parseInt(pid, 16);
      const serial = read('serial');
      const manufacturer = read('manufacturer');
      const product = read('product');
      if (serial) out.serialNumber = serial;
      if (manufacturer) out.manufacturer = manufacturer;
      if (product) out.product = product;
      return out;
    });
}
