import { esp8266 } from './esp8266';
import { esp32 } from './esp32';
import { esp32s2 } from './esp32s2';
import { esp32s3 } from './esp32s3';
import { esp32c2 } from './esp32c2';
import { esp32c3 } from './esp32c3';
import { esp32c5 } from './esp32c5';
import { esp32c6 } from './esp32c6';
import { esp32h2 } from './esp32h2';
import { esp32p4 } from './esp32p4';

import type { EspChip } from './common';

export * from './common';

/** All families, in the order the UI lists them. */
export const ESP_CHIPS: readonly EspChip[] = [esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c5, esp32c6, esp32h2, esp32p4, esp8266];

export function chipById(id: string): EspChip | undefined {
  const key = id.toLowerCase().replace(/[^a-z0-9]/g, '');
  return ESP_CHIPS.find((c) => c.id === key);
}

export function chipByMagic(magic: number): EspChip | undefined {
  return ESP_CHIPS.find((c) => c.magicValues.includes(magic >>> 0));
}

export function chipByImageId(chipId: number): EspChip | undefined {
  return ESP_CHIPS.find((c) => c.imageChipId === chipId);
}

/** Chip ids Espressif retired (pre-release silicon): esptool refuses them, and so do we. */
export const RETIRED_CHIP_IDS: Readonly<Record<number, string>> = {
  4: 'ESP32-S3 beta 2',
  6: 'ESP32-S3 beta 3',
  7: 'ESP32-C6 beta',
  10: 'ESP32-H2 beta 1',
  14: 'ESP32-H2 beta 2',
  17: 'ESP32-C5 beta 3',
};

/** Espressif's USB vendor id, on native USB (esptool ESPRESSIF_VID). */
export const ESPRESSIF_USB_VID = 0x303a;
/** USB-Serial/JTAG product id (esptool USB_JTAG_SERIAL_PID). */
export const USB_JTAG_SERIAL_PID = 0x1001;

/**
 * The USB ids a chip's own USB port shows, for re-acquiring the port after it re-enumerates: the
 * USB-Serial/JTAG (PID 0x1001) and the ROM's USB-OTG CDC (PID = the image chip id, e.g. 0x0002 on S2).
 */
export function nativeUsbIds(chip: EspChip): { usbVendorId: number; usbProductId: number }[] {
  const out: { usbVendorId: number; usbProductId: number }[] = [];
  if (chip.usb.serialJtag) out.push({ usbVendorId: ESPRESSIF_USB_VID, usbProductId: USB_JTAG_SERIAL_PID });
  if (chip.usb.otg && chip.imageChipId !== null) out.push({ usbVendorId: ESPRESSIF_USB_VID, usbProductId: chip.imageChipId });
  return out;
}
