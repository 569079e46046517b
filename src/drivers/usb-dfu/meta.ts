import type { MemoryInfo } from '../../shared/model';
import type { DriverMeta } from '../types';
import { layoutMemory, parseMemoryLayout } from './layout';
import { DFU_PARTS, type DfuPart } from './parts';
import { BCD_DFUSE } from './protocol';

function memoriesOf(part: DfuPart): MemoryInfo[] {
  if (part.dfuVersion !== BCD_DFUSE) {
    const m = part.plainMemory!;
    return [{ name: 'flash', base: m.base, size: m.size, pageSize: 1 }];
  }
  return part.alts.map((name, alt) => {
    const { base, size, pageSize } = layoutMemory(parseMemoryLayout(name), '');
    return { name: alt === 0 ? 'flash' : `alt${alt}`, base, size, pageSize };
  });
}

/**
 * USB DFU 1.1 devices and ST's DfuSe variant (every STM32 with USB in its ROM bootloader), over WebUSB:
 * what dfu-util does, plus read-back verify. DfuSe is recognised by its descriptor (bcdDFUVersion 0x011A).
 */
export const usbDfuMeta: DriverMeta<'usb'> = {
  id: 'usb-dfu',
  label: 'USB DFU bootloader (DFU 1.1, STM32 DfuSe; as dfu-util)',
  link: 'usb',
  usbFilters: [
    // STMicroelectronics STM32 BOOTLOADER (all DfuSe ROMs); with the class fields, any maker's DFU interface
    // (DFU 1.1 §4.2.1 / §4.2.3: bInterfaceClass 0xFE application specific, bInterfaceSubClass 0x01), in
    // run-time or DFU mode.
    { usbVendorId: 0x0483, usbProductId: 0xdf11, classCode: 0xfe, subclassCode: 0x01 },
  ],
  capabilities: { erase: true, read: true, eeprom: false },
  options: [
    { name: 'after', type: 'choice', values: ['hard-reset', 'stay'], default: 'hard-reset', description: 'After a successful write: leave DFU mode into the application (dfu-util :leave / reset), or stay in DFU mode.' },
  ],
  consents: ['unprotect'],
  targets: DFU_PARTS.map((p) => ({ id: p.id, name: p.name, boards: [...p.boards], memories: memoriesOf(p) })),
  // Only the simulator is proven (real dfu-util drives it, tests/peers/dfu-util.test.ts); no silicon here.
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};
