import { findAvrPart, type AvrPart } from '../../chips/avr';
import type { DriverMeta } from '../types';

/** Caterina occupies 4 KiB at the top of an ATmega32U4 (Makefile BOOT_START_OFFSET 0x7000; high fuse 0xD8). */
export const CATERINA_BOOT_SIZE = 4096;

const m32u4 = findAvrPart('m32u4') as AvrPart;

/**
 * Arduino Leonardo, Micro, Esplora and Pro Micro clones: the Caterina bootloader, AVR109 over the
 * board's own USB CDC port, entered by the 1200-baud touch; it comes back as another USB device
 * (Leonardo 2341:8036 → 2341:0036, Micro 8037 → 0037, Esplora 803C → 003C; boards.txt).
 */
export const avr109Meta: DriverMeta = {
  id: 'avr109',
  label: 'Arduino Leonardo / Micro bootloader (Caterina, AVR109)',
  link: 'serial',
  // USB CDC ignores the rate; 57600 is what the Arduino IDE passes to avrdude -c avr109.
  serialDefaults: { baudRate: 57600, dataBits: 8, parity: 'none', stopBits: 1 },
  usbFilters: [
    { usbVendorId: 0x2341 }, // Arduino: Leonardo 8036/0036, Micro 8037/0037, Esplora 803C/003C
    { usbVendorId: 0x2a03 }, // Arduino.org Leonardo
    { usbVendorId: 0x1b4f }, // SparkFun Pro Micro 9205/9206
  ],
  // After the touch the port that comes back is the bootloader's: the session there must not touch again.
  reenumerates: { usbVendorId: 0x2341, usbProductIds: [0x0036, 0x0037, 0x003c], options: { touch: 'none' } },
  capabilities: { erase: true, read: true, eeprom: true },
  targets: [
    {
      id: m32u4.id,
      name: m32u4.name,
      boards: ['Arduino Leonardo', 'Arduino Micro', 'SparkFun Pro Micro', 'Arduino Esplora'],
      memories: [
        { name: 'flash', base: 0, size: m32u4.flashSize, pageSize: m32u4.flashPageSize },
        { name: 'eeprom', base: 0, size: m32u4.eepromSize, pageSize: m32u4.eepromPageSize },
      ],
    },
  ],
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};
