import type { DriverInfo } from '../../shared/model';

type UsbFilter = NonNullable<DriverInfo['usbFilters']>[number];

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** "0483:df11", "2341:*" (any product of a vendor), with the USB class when the filter names one. */
export function usbIdText(f: UsbFilter): string {
  const id = `${hex4(f.usbVendorId)}:${f.usbProductId === undefined ? '*' : hex4(f.usbProductId)}`;
  return f.classCode === undefined ? id : `${id}(class ${f.classCode.toString(16)}/${(f.subclassCode ?? 0).toString(16)})`;
}

/** Drivers whose meta names this VID:PID (or its whole vendor) as a device that usually sits in front of them. */
export function driversFor(drivers: readonly { meta: DriverInfo }[], vendorId: number, productId: number): string[] {
  return drivers
    .filter(({ meta }) => (meta.usbFilters ?? []).some((f) => f.usbVendorId === vendorId && (f.usbProductId === undefined || f.usbProductId === productId)))
    .map(({ meta }) => meta.id);
}
