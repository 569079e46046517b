import { findStm32Family, STM32_FLASH_BASE, STM32_PARTS, type Stm32Family } from '../../chips/stm32';
import type { DriverMeta } from '../types';
import type { DriverOptionSpec } from '../../shared/options';

/** stm32flash's -i (boot sequences), -g (go), and read-out unprotect, as declared options. */
const STM32_OPTIONS: DriverOptionSpec[] = [
  { name: 'before', type: 'choice', values: ['no-reset', 'default-reset'], default: 'no-reset', description: 'no-reset: BOOT0 is already set and the chip reset; default-reset: drive RTS→BOOT0 and DTR→NRST (boot=rts&dtr,-dtr,,-rts).' },
  { name: 'after', type: 'choice', values: ['stay', 'no-reset', 'hard-reset'], default: 'stay', description: 'After a successful job: stay in the bootloader, or start the application (Go to the flash base).' },
  { name: 'boot', type: 'text', description: 'Boot entry[:exit] sequence in stm32flash -i syntax, e.g. "rts&dtr,-dtr,,-rts:-rts&dtr,-dtr".' },
  { name: 'go', type: 'text', description: 'Start the application after the session: "flash" or an address (stm32flash -g).' },
  { name: 'pipeline', type: 'boolean', default: 'true', description: 'Send command, address and data of a read/write in one burst (retries go step by step).' },
  { name: 'unprotect', type: 'choice', values: ['erase-all-flash'], dangerous: 'unprotect', description: 'Older spelling of --consent unprotect: remove read-out protection (the ROM mass-erases the flash).' },
];

/**
 * The unit the job planner cuts flash into. Uniform pages up to 4 KiB are planned page by page, so an
 * erase never touches bytes outside the block being written (skip-unchanged stays exact); sectors
 * (F2/F4/F7/H7: 16 KiB..256 KiB) are written in 256-byte blocks and erased on first touch.
 */
export function planPageSize(fam: Stm32Family): number {
  return fam.layout.kind === 'pages' && fam.layout.pageSize <= 4096 ? fam.layout.pageSize : 256;
}

/** The ROM bootloader of every STM32, reached over a UART (ST AN3155): 8E1, auto-baud on 0x7F. */
export const stm32UsartMeta: DriverMeta<'serial'> = {
  id: 'stm32-usart',
  label: 'STM32 system bootloader over UART (AN3155, as stm32flash)',
  link: 'serial',
  serialDefaults: { baudRate: 115200, dataBits: 8, parity: 'even', stopBits: 1 },
  usbFilters: [
    { usbVendorId: 0x0483, usbProductId: 0x374b }, // ST-LINK/V2-1 virtual COM port (Nucleo boards)
    { usbVendorId: 0x10c4, usbProductId: 0xea60 }, // SiLabs CP2102
    { usbVendorId: 0x1a86, usbProductId: 0x7523 }, // WCH CH340
    { usbVendorId: 0x0403, usbProductId: 0x6001 }, // FTDI FT232R
    { usbVendorId: 0x067b, usbProductId: 0x2303 }, // Prolific PL2303
  ],
  capabilities: { erase: true, read: true, eeprom: false },
  options: STM32_OPTIONS,
  consents: ['unprotect'],
  targets: STM32_PARTS.map((p) => {
    const fam = findStm32Family(p.pid)!;
    return {
      id: p.id,
      name: p.name,
      boards: [...p.boards],
      memories: [{ name: 'flash', base: STM32_FLASH_BASE, size: p.flashSize, pageSize: planPageSize(fam) }],
    };
  }),
  placement: { kind: 'memory-base', machine: 'ARM' },
  // Against the simulator, which real stm32flash 0.7 drives: identify, page erase + write + verify, read, -j/-k
  // (tests/peers/stm32flash.test.ts). No ST ROM code or silicon here yet.
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};
