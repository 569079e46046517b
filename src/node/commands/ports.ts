import { DRIVERS } from '../../drivers/registry';
import { EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';
import { driversFor } from '../cli/usb-ids';
import { listSerialPorts } from '../cli/serial-list';

export const command: Command = {
  name: 'ports',
  usage: ['ports [--json]'],
  flags: OUTPUT_FLAGS,
  positionals: { min: 0, max: 0 },
  notes: [
    'Serial ports (path, VID:PID, serial number, maker/product) with the drivers that usually sit behind that',
    'USB ID, then USB devices a USB driver claims (DFU). A USB-serial chip (CH340, CP2102) fits several drivers:',
    'the list is a hint, "webprog probe" tells for sure.',
  ],
  examples: ['ports', 'ports --json | jq -r "select(.drivers | index(\\"esp-rom\\")) | .path"'],
  run,
};

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

async function run({ out }: CommandContext): Promise<number> {
  const serial = await listSerialPorts();
  for (const p of serial) {
    const drivers = p.vendorId === undefined || p.productId === undefined ? [] : driversFor(DRIVERS, p.vendorId, p.productId);
    const usbId = p.vendorId === undefined ? null : `${hex4(p.vendorId)}:${hex4(p.productId ?? 0)}`;
    const json = { ok: true, kind: 'serial', path: p.path, usb: usbId, serialNumber: p.serialNumber ?? null, manufacturer: p.manufacturer ?? null, product: p.product ?? null, drivers };
    out.result(json, () => {
      const who = [p.manufacturer, p.product].filter(Boolean).join(' ');
      return `${p.path.padEnd(16)} ${(usbId ?? '-').padEnd(9)} ${(p.serialNumber ?? '-').padEnd(16)} ${who || '-'}${drivers.length ? `  → ${drivers.join(', ')}` : ''}`;
    });
  }
  const { listUsbDevices } = await import('../usb/list');
  const usb = await listUsbDevices();
  for (const d of usb) {
    out.result({ ok: true, kind: 'usb', ...d }, `usb ${d.usb.padEnd(12)} ${(d.serialNumber ?? '-').padEnd(16)} ${d.product ?? '-'}  → ${d.drivers.join(', ')} (--usb ${d.usb}${d.serialNumber ? `:${d.serialNumber}` : ''})`);
  }
  if (serial.length === 0 && usb.length === 0) out.note('No serial ports or USB programming devices found.');
  return EXIT.ok;
}
