import type { DriverMeta } from '../types';
import type { DriverOptionSpec } from '../../shared/options';
import { ESP_CHIPS, ESPRESSIF_USB_VID, nativeUsbIds } from './chips/index';
import { FLASH_MODES } from './image-header';

const union = (keys: (c: (typeof ESP_CHIPS)[number]) => string[]) => [...new Set(ESP_CHIPS.flatMap(keys))];

/** esptool's --before / --after and --flash_mode/freq/size, as declared options. */
const ESP_OPTIONS: DriverOptionSpec[] = [
  { name: 'before', type: 'choice', values: ['default-reset', 'no-reset', 'usb-reset'], default: 'default-reset', description: 'How to enter download mode: DTR/RTS reset (classic and USB-Serial/JTAG), none (already in download mode), or the USB-Serial/JTAG sequence only.' },
  { name: 'after', type: 'choice', values: ['hard-reset', 'no-reset', 'stay'], default: 'hard-reset', description: 'After a successful job: reset into the application, leave the lines alone, or stay in the loader at 115200 baud.' },
  { name: 'reset', type: 'list', values: ['none', 'classic', 'classic-slow', 'usb-jtag-serial'], description: 'Reset sequences to try in order (finer than --before; comma-separated).', operations: ['flash', 'verify', 'read', 'erase', 'blank-check', 'probe'] },
  { name: 'flash-mode', type: 'choice', values: ['keep', ...Object.keys(FLASH_MODES)], default: 'keep', description: 'SPI mode written into the image header at the bootloader offset.', operations: ['flash'] },
  { name: 'flash-freq', type: 'choice', values: ['keep', ...union((c) => Object.keys(c.flashFreqCodes))], default: 'keep', description: 'SPI clock written into the image header (the chip\'s own codes).', operations: ['flash'] },
  { name: 'flash-size', type: 'choice', values: ['keep', 'detect', ...union((c) => Object.keys(c.flashSizeCodes))], default: 'keep', description: 'Flash size written into the image header; detect = the size read from the flash chip.', operations: ['flash'] },
];

/** The chips with Xtensa cores; every later one is RISC-V. */
const XTENSA = new Set(['esp8266', 'esp32', 'esp32s2', 'esp32s3']);

/** Espressif ESP8266 / ESP32-family serial download mode: the ROM loader plus the flasher stub. */
export const espRomMeta: DriverMeta<'serial'> = {
  id: 'esp-rom',
  label: 'Espressif ESP32 / ESP8266 (ROM serial loader + flasher stub)',
  link: 'serial',
  // The ROM autobauds at 115200; the driver raises the rate itself (the --baud / baudRate is that working rate).
  serialDefaults: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  usbFilters: [
    { usbVendorId: 0x303a }, // Espressif native USB (USB-Serial/JTAG 0x1001, USB-OTG CDC)
    { usbVendorId: 0x10c4, usbProductId: 0xea60 }, // SiLabs CP2102/CP2104 (DevKitC, many modules)
    { usbVendorId: 0x1a86, usbProductId: 0x7523 }, // WCH CH340
    { usbVendorId: 0x1a86, usbProductId: 0x55d4 }, // WCH CH9102
    { usbVendorId: 0x0403, usbProductId: 0x6001 }, // FTDI FT232R
    { usbVendorId: 0x0403, usbProductId: 0x6010 }, // FTDI FT2232 (ESP-WROVER-KIT, ESP-Prog)
  ],
  // A chip's own USB port (USB-Serial/JTAG, USB-OTG) re-enumerates on the reset into download mode; the
  // port that comes back already talks to the ROM, so the session on it must not reset again.
  reenumerates: {
    usbVendorId: ESPRESSIF_USB_VID,
    usbProductIds: [...new Set(ESP_CHIPS.flatMap((c) => nativeUsbIds(c).map((u) => u.usbProductId)))],
    options: { reset: 'none' },
  },
  capabilities: { erase: true, read: true, eeprom: false },
  options: ESP_OPTIONS,
  targets: ESP_CHIPS.map((c) => ({
    id: c.id,
    name: c.name,
    boards: [],
    // The real size is read from the flash chip's JEDEC ID at identify(); 4 MB is the common module.
    memories: [{ name: 'flash', base: 0, size: 4 << 20, pageSize: 4096 }],
  })),
  // Where a file without addresses goes, by what it is (core/placement): bootloader at each chip's offset.
  placement: {
    kind: 'esp',
    chips: ESP_CHIPS.map((c) => ({ name: c.name, bootloader: c.bootloaderOffset, machine: XTENSA.has(c.id) ? 'Xtensa' : 'RISC-V' })),
  },
  // Proven against the simulator and by esptool-js against the simulator, not yet on silicon.
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};
