import { SPI_NOR_CHIPS } from '../../chips/spi-nor/table';
import type { DriverMeta } from '../types';

/**
 * flashrom's serprog protocol: RP2040 (pico-serprog), STM32 (stm32-vserprog), CH32 and Arduino
 * (frser-duino) programmers with an SPI NOR part in a socket or clip. The USB CDC ones ignore the
 * baud rate; UART ones use the one given with --baud.
 */
export const serprogMeta: DriverMeta<'serial'> = {
  id: 'serprog',
  label: 'serprog SPI flash programmer (pico-serprog, stm32-vserprog, Arduino)',
  link: 'serial',
  serialDefaults: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  usbFilters: [
    { usbVendorId: 0x2e8a }, // Raspberry Pi (RP2040 pico-serprog)
    { usbVendorId: 0x0483, usbProductId: 0x5740 }, // STMicroelectronics virtual COM (stm32-vserprog)
    { usbVendorId: 0x1a86, usbProductId: 0x7523 }, // WCH CH340 (Arduino clones)
    { usbVendorId: 0x2341 }, // Arduino
  ],
  capabilities: { erase: true, read: true, eeprom: false },
  // Set on the part: --chip W25Q16+spi=8M+cs=1 (see target.ts); +unprotect is the older spelling of --consent unprotect.
  options: [
    { name: 'spi', type: 'text', description: 'SPI clock to ask the programmer for, in Hz or with k / M (e.g. 8M); same as the +spi= part suffix.' },
    { name: 'cs', type: 'number', description: 'Chip-select line on programmers with several; same as the +cs= part suffix.' },
  ],
  consents: ['unprotect'],
  // W25Q16 first: the part the conformance lifecycle and the demo device use.
  targets: SPI_NOR_CHIPS.map((c) => ({
    id: c.id,
    name: `${c.vendor} ${c.id}`,
    boards: [...c.aliases],
    memories: [{ name: 'flash', base: 0, size: c.size, pageSize: c.erase[0]?.size ?? c.size }],
  })),
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};
