import { findAvrPart, signatureHex, type AvrPart } from '../../chips/avr';
import type { DriverMeta } from '../types';

/**
 * The Arduino Mega bootloader's section: BOOTSIZE 4096 words at the top of flash (stk500boot.c
 * APP_END = FLASHEND - 2*BOOTSIZE + 1; boards.txt high fuse 0xD8 = BOOTSZ 00).
 */
export const MEGA_BOOT_SIZE = 8192;

/** Parts the Mega bootloader is built for, with the boards that ship it (Arduino boards.txt, upload.protocol=wiring). */
const PARTS: [string, string[]][] = [
  ['m2560', ['Arduino Mega 2560', 'Arduino Mega ADK']],
  // The Arduino Mega 1280 ships ATmegaBOOT (STK500 v1); this bootloader exists for it as a build target.
  ['m1280', []],
];

/** Arduino Mega 2560 and boards that copy it (RAMPS, RAMBo): the "wiring" bootloader, STK500 v2 framing. */
export const stk500v2Meta: DriverMeta<'serial'> = {
  id: 'stk500v2',
  label: 'Arduino Mega bootloader (STK500 v2, avrdude "wiring")',
  link: 'serial',
  serialDefaults: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  usbFilters: [
    { usbVendorId: 0x2341 }, // Arduino (Mega 2560: 0010, 0042)
    { usbVendorId: 0x2a03 }, // Arduino.org
    { usbVendorId: 0x1a86, usbProductId: 0x7523 }, // WCH CH340 (clones)
    { usbVendorId: 0x0403, usbProductId: 0x6001 }, // FTDI FT232R
    { usbVendorId: 0x10c4, usbProductId: 0xea60 }, // SiLabs CP2102
  ],
  capabilities: { erase: false, read: true, eeprom: true },
  options: [],
  targets: PARTS.map(([id, boards]) => {
    const p = findAvrPart(id) as AvrPart;
    return {
      id: p.id,
      name: p.name,
      boards,
      deviceId: signatureHex(p.signature),
      memories: [
        { name: 'flash', base: 0, size: p.flashSize, pageSize: p.flashPageSize },
        { name: 'eeprom', base: 0, size: p.eepromSize, pageSize: p.eepromPageSize },
      ],
    };
  }),
  placement: { kind: 'memory-base', machine: 'AVR' },
  tested: { probe: 'ok', read: 'ok', write: 'ok', erase: 'na' },
};
