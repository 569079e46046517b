import { AVR_PARTS, signatureHex } from '../../chips/avr';
import type { DriverMeta } from '../types';

/** Arduino bootloaders that speak STK500 v1: Optiboot (Uno, Nano, Pro Mini) and the older ATmegaBOOT. */
export const stk500v1Meta: DriverMeta<'serial'> = {
  id: 'stk500v1',
  label: 'Arduino bootloader (STK500 v1: Optiboot, ATmegaBOOT)',
  link: 'serial',
  serialDefaults: { baudRate: 115200, fallbackBaudRates: [57600], dataBits: 8, parity: 'none', stopBits: 1 },
  usbFilters: [
    { usbVendorId: 0x2341 }, // Arduino
    { usbVendorId: 0x1a86, usbProductId: 0x7523 }, // WCH CH340 (clones)
    { usbVendorId: 0x0403, usbProductId: 0x6001 }, // FTDI FT232R (Nano, Duemilanove)
    { usbVendorId: 0x10c4, usbProductId: 0xea60 }, // SiLabs CP2102
  ],
  capabilities: { erase: false, read: true, eeprom: true },
  options: [],
  targets: AVR_PARTS.filter((p) => p.flashSize <= 0x20000 && p.id !== 'm32u4').map((p) => ({
    id: p.id,
    name: p.name,
    boards: [...p.boards],
    deviceId: signatureHex(p.signature),
    memories: [
      { name: 'flash', base: 0, size: p.flashSize, pageSize: p.flashPageSize },
      { name: 'eeprom', base: 0, size: p.eepromSize, pageSize: p.eepromPageSize },
    ],
  })),
  placement: { kind: 'memory-base', machine: 'AVR' },
  tested: { probe: 'ok', read: 'ok', write: 'ok', erase: 'na' },
};
