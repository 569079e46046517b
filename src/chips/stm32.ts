/**
 * STM32 parts as plain data, for the ROM bootloader drivers (USART now, DfuSe later).
 *
 * Sources: ST AN2606 "STM32 microcontroller system memory boot mode" (bootloader RAM/system-memory
 * ranges per product ID, as tabulated in stm32flash's dev_table.c), the reference manuals (flash
 * layout, flash-size register) and the datasheets' "Flash memory characteristics" tables (times).
 *
 * Invariants (checked by src/drivers/stm32-usart/stm32-usart.test.ts):
 * - every family's flash layout adds up to its `flashMax`; every part fits its family;
 * - product IDs and part ids are unique;
 * - `ram.start <= ram.end`: bytes below `ram.start` belong to the bootloader.
 */

export const STM32_FLASH_BASE = 0x0800_0000;

/** How a family's flash is cut into erase units (pages, or sectors of unequal size). */
export type FlashLayout =
  | { kind: 'pages'; pageSize: number }
  /** Sector sizes in order from the flash base; the sector number is the index (bank 2 continues the count). */
  | { kind: 'sectors'; sectors: readonly number[] };

/** Datasheet timing of the flash, what the simulator charges and the driver's timeouts derive from. */
export interface FlashTiming {
  /** Bytes written by one programming step (half-word, word, double-word, flash word). */
  programUnit: number;
  /** Typical time of one programming step, µs. */
  programUs: number;
  /** Typical erase time per erase unit, ms: one value for pages, or by sector size in KiB. */
  eraseMs: number | Readonly<Record<number, number>>;
  /** Typical mass erase time, ms. */
  massEraseMs: number;
  /** Where the values come from; '≈' marks an approximation rather than a quoted typical value. */
  source: string;
}

/** Behaviour of the ROM bootloader that a host must know about. */
export interface BootloaderTraits {
  /** Version byte usually reported (Get); the driver reads the real one and never depends on it. */
  version: number;
  /** Erase (0x43, 1-byte page numbers) on the oldest ROMs, Extended Erase (0x44) on all newer ones. */
  erase: 'legacy' | 'extended';
  /** False where the ROM has no working global erase (stm32flash F_NO_ME): erase page by page. */
  massErase: boolean;
  /**
   * How an application gets started on a part with the "empty check" (AN2606): 'obl-launch' (F030xC/F09x,
   * stm32flash F_OBLL) or 'pempty' (L45x/L46x, stm32flash F_PEMPTY). Without it a freshly programmed chip
   * keeps entering the ROM until power-cycled.
   */
  emptyCheck?: 'obl-launch' | 'pempty';
}

export type Stm32Series = 'F0' | 'F1' | 'F2' | 'F3' | 'F4' | 'F7' | 'G0' | 'G4' | 'H7' | 'L0' | 'L1' | 'L4';

/** One product ID (what Get ID answers): the family-level facts shared by every part with that ID. */
export interface Stm32Family {
  pid: number;
  series: Stm32Series;
  name: string;
  /** Largest flash of the family, bytes; a part may have less. */
  flashMax: number;
  layout: FlashLayout;
  /** Value of erased flash: 0xFF, but 0x00 on the L0/L1 NVM. */
  erasedValue: number;
  /** SRAM the bootloader lets a host use [start, end); below `start` is the ROM's own. */
  ram: { start: number; end: number };
  systemMemory: { start: number; end: number };
  /** Option bytes [start, end), where the bootloader exposes them. */
  optionBytes?: { start: number; end: number };
  /** 16-bit flash size in KiB (reference manual, "Flash size data register"). */
  flashSizeRegister?: number;
  /** The 96-bit unique device ID (reference manual, "Unique device ID register"), where known. */
  uidRegister?: number;
  /** Erase units per write-protection bit (stm32flash "PPS"). */
  wrpPagesPerSector: number;
  timing: FlashTiming;
  bootloader: BootloaderTraits;
}

/** An orderable part: a family plus its flash size. */
export interface Stm32Part {
  /** Lower-case part number without package/temperature suffix, as users type it: 'stm32f103c8'. */
  id: string;
  name: string;
  pid: number;
  flashSize: number;
  boards: readonly string[];
}

const K = 1024;
const pages = (pageSize: number): FlashLayout => ({ kind: 'pages', pageSize });
/** F2/F4 single bank: 4x16K, 64K, then 128K sectors (RM0090 table 5). */
const F4_SECTORS = [16 * K, 16 * K, 16 * K, 16 * K, 64 * K, ...Array<number>(7).fill(128 * K)];
const F4_1536K = [16 * K, 16 * K, 16 * K, 16 * K, 64 * K, ...Array<number>(11).fill(128 * K)];
/** F42x/43x/469/479 with 2 MB: bank 2 repeats bank 1, sectors 12..23 (RM0090 table 6). */
const F4_DUAL = [...F4_SECTORS, ...F4_SECTORS];
/** F74x-F77x single-bank mode: 4x32K, 128K, then 256K sectors (RM0385, RM0410). */
const F7_SECTORS = [32 * K, 32 * K, 32 * K, 32 * K, 128 * K, ...Array<number>(7).fill(256 * K)];
/** F72x/73x: 4x16K, 64K, 3x128K (RM0431). */
const F72_SECTORS = [16 * K, 16 * K, 16 * K, 16 * K, 64 * K, 128 * K, 128 * K, 128 * K];
const H7_SECTORS = Array<number>(16).fill(128 * K);

/** F0/F1/F3 (DS5319 table "Flash memory characteristics"): tPROG 52.5 µs typ; tERASE and tME 20–40 ms, no typical given. */
const F1_TIMING: FlashTiming = { programUnit: 2, programUs: 52.5, eraseMs: 30, massEraseMs: 30, source: 'DS5319: tPROG 52.5 µs typ; page/mass erase 20–40 ms (midpoint charged)' };
const F0_TIMING: FlashTiming = { ...F1_TIMING, programUs: 53.5, source: 'STM32F030 datasheet: tPROG 53.5 µs typ; erase 20–40 ms (midpoint charged)' };
/** F2/F4 at x32 parallelism (DS8626): word program 16 µs; sector 16K 250 ms, 64K 550 ms, 128K 1 s; mass 8 s. */
const F4_TIMING: FlashTiming = { programUnit: 4, programUs: 16, eraseMs: { 16: 250, 64: 550, 128: 1000 }, massEraseMs: 8000, source: 'DS8626 x32 typical' };
/** F7 (≈: sector times scaled from the F4 figures per KiB). */
const F7_TIMING: FlashTiming = { programUnit: 4, programUs: 16, eraseMs: { 16: 250, 32: 300, 64: 550, 128: 1000, 256: 2000 }, massEraseMs: 16000, source: '≈ F4 x32 figures' };
/** G0/G4/L4 (e.g. DS11585, DS11451): 64-bit double-word 81.7–85 µs; page erase 22 ms; mass erase 22.1 ms. */
const G_TIMING: FlashTiming = { programUnit: 8, programUs: 85, eraseMs: 22, massEraseMs: 22.1, source: 'G0/G4/L4 datasheets: double-word ≈85 µs, page 22 ms, mass 22.1 ms typical' };
/** L0/L1: half-page programming and page erase both 3.2 ms typical (≈: half-page mode assumed for the ROM). */
const L0_TIMING: FlashTiming = { programUnit: 64, programUs: 3200, eraseMs: 3.2, massEraseMs: 0, source: 'L0 datasheets: tprog/tERASE 3.2 ms typ; ≈ half-page writes' };
const L1_TIMING: FlashTiming = { programUnit: 128, programUs: 3280, eraseMs: 3.28, massEraseMs: 0, source: 'L1 datasheets: tprog/tERASE 3.28 ms typ; ≈ half-page writes' };
/** H7 (≈): 256-bit flash word ~100 µs at x64, 128K sector ~1 s, bank erase ~4 s. */
const H7_TIMING: FlashTiming = { programUnit: 32, programUs: 100, eraseMs: { 128: 1000 }, massEraseMs: 8000, source: '≈ H743 datasheet x64 figures' };

const LEGACY_V22: BootloaderTraits = { version: 0x22, erase: 'legacy', massErase: true };
const V31: BootloaderTraits = { version: 0x31, erase: 'extended', massErase: true };
const V31_NO_ME: BootloaderTraits = { version: 0x31, erase: 'extended', massErase: false };

const F0_OPT = { start: 0x1fff_f800, end: 0x1fff_f810 };
const F4_OPT = { start: 0x1fff_c000, end: 0x1fff_c010 };
const G_OPT = { start: 0x1fff_7800, end: 0x1fff_7880 };
const L4_OPT = { start: 0x1fff_7800, end: 0x1fff_7810 };
const L_OPT = { start: 0x1ff8_0000, end: 0x1ff8_0020 };

type FamilyRow = Omit<Stm32Family, 'erasedValue' | 'bootloader'> & Partial<Pick<Stm32Family, 'erasedValue' | 'bootloader'>>;

function family(row: FamilyRow, bootloader: BootloaderTraits): Stm32Family {
  return { erasedValue: 0xff, ...row, bootloader: row.bootloader ?? bootloader };
}

function f0(pid: number, name: string, flashMax: number, pageSize: number, ram: [number, number], sys: number, pps: number, extra: Partial<BootloaderTraits> = {}): Stm32Family {
  return family(
    { pid, series: 'F0', name, flashMax, layout: pages(pageSize), ram: { start: ram[0], end: ram[1] }, systemMemory: { start: sys, end: 0x1fff_f800 }, optionBytes: F0_OPT, flashSizeRegister: 0x1fff_f7cc, uidRegister: 0x1fff_f7ac, wrpPagesPerSector: pps, timing: F0_TIMING },
    { ...V31, ...extra },
  );
}

function f1(pid: number, name: string, flashMax: number, pageSize: number, ram: [number, number], sys: number, pps: number): Stm32Family {
  return family(
    { pid, series: 'F1', name, flashMax, layout: pages(pageSize), ram: { start: ram[0], end: ram[1] }, systemMemory: { start: sys, end: 0x1fff_f800 }, optionBytes: F0_OPT, flashSizeRegister: 0x1fff_f7e0, uidRegister: 0x1fff_f7e8, wrpPagesPerSector: pps, timing: F1_TIMING },
    LEGACY_V22,
  );
}

function f3(pid: number, name: string, flashMax: number, ram: [number, number]): Stm32Family {
  return family(
    { pid, series: 'F3', name, flashMax, layout: pages(2 * K), ram: { start: ram[0], end: ram[1] }, systemMemory: { start: 0x1fff_d800, end: 0x1fff_f800 }, optionBytes: F0_OPT, flashSizeRegister: 0x1fff_f7cc, uidRegister: 0x1fff_f7ac, wrpPagesPerSector: 2, timing: F1_TIMING },
    V31,
  );
}

function f4(pid: number, name: string, sectors: readonly number[], ramEnd: number, opt = F4_OPT, series: Stm32Series = 'F4'): Stm32Family {
  return family(
    { pid, series, name, flashMax: sum(sectors), layout: { kind: 'sectors', sectors }, ram: { start: series === 'F2' ? 0x2000_2000 : 0x2000_3000, end: ramEnd }, systemMemory: { start: 0x1fff_0000, end: 0x1fff_7800 }, optionBytes: opt, flashSizeRegister: 0x1fff_7a22, uidRegister: 0x1fff_7a10, wrpPagesPerSector: 1, timing: F4_TIMING },
    V31,
  );
}

function f7(pid: number, name: string, sectors: readonly number[], ramEnd: number, sizeRegister: number): Stm32Family {
  return family(
    { pid, series: 'F7', name, flashMax: sum(sectors), layout: { kind: 'sectors', sectors }, ram: { start: 0x2000_4000, end: ramEnd }, systemMemory: { start: 0x1ff0_0000, end: 0x1ff0_edc0 }, optionBytes: { start: 0x1fff_0000, end: 0x1fff_0020 }, flashSizeRegister: sizeRegister, wrpPagesPerSector: 1, timing: F7_TIMING },
    V31,
  );
}

function g(pid: number, series: 'G0' | 'G4', name: string, flashMax: number, ram: [number, number], sysEnd: number): Stm32Family {
  return family(
    { pid, series, name, flashMax, layout: pages(2 * K), ram: { start: ram[0], end: ram[1] }, systemMemory: { start: 0x1fff_0000, end: sysEnd }, optionBytes: series === 'G0' ? G_OPT : { start: 0x1fff_7800, end: 0x1fff_7830 }, flashSizeRegister: 0x1fff_75e0, uidRegister: 0x1fff_7590, wrpPagesPerSector: 1, timing: G_TIMING },
    V31,
  );
}

function l0(pid: number, name: string, flashMax: number, ram: [number, number], sysEnd: number): Stm32Family {
  return family(
    { pid, series: 'L0', name, flashMax, layout: pages(128), erasedValue: 0x00, ram: { start: ram[0], end: ram[1] }, systemMemory: { start: 0x1ff0_0000, end: sysEnd }, optionBytes: L_OPT, flashSizeRegister: 0x1ff8_007c, wrpPagesPerSector: 32, timing: L0_TIMING },
    V31_NO_ME,
  );
}

function l1(pid: number, name: string, flashMax: number, ram: [number, number], sysEnd: number, optEnd: number, sizeRegister: number): Stm32Family {
  return family(
    { pid, series: 'L1', name, flashMax, layout: pages(256), erasedValue: 0x00, ram: { start: ram[0], end: ram[1] }, systemMemory: { start: 0x1ff0_0000, end: sysEnd }, optionBytes: { start: 0x1ff8_0000, end: optEnd }, flashSizeRegister: sizeRegister, wrpPagesPerSector: 16, timing: L1_TIMING },
    V31_NO_ME,
  );
}

function l4(pid: number, name: string, flashMax: number, ram: [number, number], extra: Partial<BootloaderTraits> = {}): Stm32Family {
  return family(
    { pid, series: 'L4', name, flashMax, layout: pages(2 * K), ram: { start: ram[0], end: ram[1] }, systemMemory: { start: 0x1fff_0000, end: 0x1fff_7000 }, optionBytes: L4_OPT, flashSizeRegister: 0x1fff_75e0, uidRegister: 0x1fff_7590, wrpPagesPerSector: 1, timing: G_TIMING },
    { ...V31, ...extra },
  );
}

/** By product ID (AN2606 / stm32flash dev_table.c). */
export const STM32_FAMILIES: readonly Stm32Family[] = [
  f0(0x440, 'STM32F030x8/F05x', 64 * K, 1 * K, [0x2000_0800, 0x2000_2000], 0x1fff_ec00, 4),
  f0(0x444, 'STM32F03x x4/x6', 32 * K, 1 * K, [0x2000_0800, 0x2000_1000], 0x1fff_ec00, 4),
  f0(0x442, 'STM32F030xC/F09x', 256 * K, 2 * K, [0x2000_1800, 0x2000_8000], 0x1fff_d800, 2, { emptyCheck: 'obl-launch' }),
  f0(0x445, 'STM32F04x/F070x6', 32 * K, 1 * K, [0x2000_1800, 0x2000_1800], 0x1fff_c400, 4),
  f0(0x448, 'STM32F070xB/F071/F072', 128 * K, 2 * K, [0x2000_1800, 0x2000_4000], 0x1fff_c800, 2),
  f1(0x412, 'STM32F10x low-density', 32 * K, 1 * K, [0x2000_0200, 0x2000_2800], 0x1fff_f000, 4),
  f1(0x410, 'STM32F10x medium-density', 128 * K, 1 * K, [0x2000_0200, 0x2000_5000], 0x1fff_f000, 4),
  f1(0x414, 'STM32F10x high-density', 512 * K, 2 * K, [0x2000_0200, 0x2001_0000], 0x1fff_f000, 2),
  f1(0x420, 'STM32F100 medium-density value line', 128 * K, 1 * K, [0x2000_0200, 0x2000_2000], 0x1fff_f000, 4),
  f1(0x428, 'STM32F100 high-density value line', 512 * K, 2 * K, [0x2000_0200, 0x2000_8000], 0x1fff_f000, 2),
  f1(0x418, 'STM32F105/F107 connectivity line', 256 * K, 2 * K, [0x2000_1000, 0x2001_0000], 0x1fff_b000, 2),
  f1(0x430, 'STM32F10x XL-density', 1024 * K, 2 * K, [0x2000_0800, 0x2001_8000], 0x1fff_e000, 2),
  f4(0x411, 'STM32F2xx', F4_SECTORS, 0x2002_0000, F4_OPT, 'F2'),
  f3(0x432, 'STM32F373/F378', 256 * K, [0x2000_1400, 0x2000_8000]),
  f3(0x422, 'STM32F302xB/C, F303xB/C, F358', 256 * K, [0x2000_1400, 0x2000_a000]),
  f3(0x439, 'STM32F301, F302x4/6/8, F318', 64 * K, [0x2000_1800, 0x2000_4000]),
  f3(0x438, 'STM32F303x4/6/8, F334, F328', 64 * K, [0x2000_1800, 0x2000_3000]),
  f3(0x446, 'STM32F302xD/E, F303xD/E, F398', 512 * K, [0x2000_1800, 0x2001_0000]),
  f4(0x413, 'STM32F405/407/415/417', F4_SECTORS, 0x2002_0000),
  f4(0x419, 'STM32F42x/43x', F4_DUAL, 0x2003_0000, { start: 0x1ffe_c000, end: 0x1fff_c010 }),
  f4(0x423, 'STM32F401xB/C', F4_SECTORS.slice(0, 6), 0x2001_0000),
  f4(0x433, 'STM32F401xD/E', F4_SECTORS.slice(0, 8), 0x2001_8000),
  f4(0x458, 'STM32F410', F4_SECTORS.slice(0, 5), 0x2000_8000),
  f4(0x431, 'STM32F411', F4_SECTORS.slice(0, 8), 0x2002_0000),
  f4(0x441, 'STM32F412', F4_SECTORS, 0x2004_0000),
  f4(0x421, 'STM32F446', F4_SECTORS.slice(0, 8), 0x2002_0000),
  f4(0x434, 'STM32F469/479', F4_DUAL, 0x2006_0000, { start: 0x1ffe_c000, end: 0x1fff_c010 }),
  f4(0x463, 'STM32F413/423', F4_1536K, 0x2005_0000),
  f7(0x452, 'STM32F72x/73x', F72_SECTORS, 0x2004_0000, 0x1ff0_7a22),
  f7(0x449, 'STM32F74x/75x', F7_SECTORS.slice(0, 8), 0x2005_0000, 0x1ff0_f442),
  f7(0x451, 'STM32F76x/77x', F7_SECTORS, 0x2008_0000, 0x1ff0_f442),
  g(0x466, 'G0', 'STM32G03x/G04x', 64 * K, [0x2000_1000, 0x2000_2000], 0x1fff_2000),
  g(0x460, 'G0', 'STM32G07x/G08x', 128 * K, [0x2000_2700, 0x2000_9000], 0x1fff_7000),
  g(0x467, 'G0', 'STM32G0B0/B1/C1', 512 * K, [0x2000_4000, 0x2002_0000], 0x1fff_7000),
  g(0x456, 'G0', 'STM32G05x/G061', 64 * K, [0x2000_1000, 0x2000_4800], 0x1fff_2000),
  g(0x468, 'G4', 'STM32G431/441', 128 * K, [0x2000_4000, 0x2000_5800], 0x1fff_7000),
  g(0x469, 'G4', 'STM32G47x/48x', 512 * K, [0x2000_4000, 0x2001_8000], 0x1fff_7000),
  g(0x479, 'G4', 'STM32G491/4A1', 512 * K, [0x2000_4000, 0x2001_c000], 0x1fff_7000),
  family(
    { pid: 0x450, series: 'H7', name: 'STM32H74x/75x', flashMax: sum(H7_SECTORS), layout: { kind: 'sectors', sectors: H7_SECTORS }, ram: { start: 0x2000_4100, end: 0x2002_0000 }, systemMemory: { start: 0x1ff0_0000, end: 0x1ff1_e800 }, flashSizeRegister: 0x1ff1_e880, wrpPagesPerSector: 1, timing: H7_TIMING },
    V31,
  ),
  l0(0x457, 'STM32L01x/L02x', 16 * K, [0x2000_0800, 0x2000_0800], 0x1ff0_1000),
  l0(0x425, 'STM32L031/L041', 32 * K, [0x2000_1000, 0x2000_2000], 0x1ff0_1000),
  l0(0x417, 'STM32L05x/L06x', 64 * K, [0x2000_1000, 0x2000_2000], 0x1ff0_1000),
  l0(0x447, 'STM32L07x/L08x', 192 * K, [0x2000_2000, 0x2000_5000], 0x1ff0_2000),
  l1(0x416, 'STM32L1 cat. 1/2', 128 * K, [0x2000_0800, 0x2000_4000], 0x1ff0_1000, 0x1ff8_0020, 0x1ff8_004c),
  l1(0x429, 'STM32L1 cat. 2 (A)', 128 * K, [0x2000_1000, 0x2000_8000], 0x1ff0_1000, 0x1ff8_0020, 0x1ff8_004c),
  l1(0x427, 'STM32L1 cat. 3', 256 * K, [0x2000_1000, 0x2000_8000], 0x1ff0_2000, 0x1ff8_0020, 0x1ff8_00cc),
  l1(0x436, 'STM32L1 cat. 4', 384 * K, [0x2000_1000, 0x2000_c000], 0x1ff0_2000, 0x1ff8_00a0, 0x1ff8_00cc),
  l1(0x437, 'STM32L1 cat. 5/6', 512 * K, [0x2000_1000, 0x2001_4000], 0x1ff0_2000, 0x1ff8_00a0, 0x1ff8_00cc),
  l4(0x464, 'STM32L41x/L42x', 128 * K, [0x2000_3100, 0x2000_8000]),
  l4(0x435, 'STM32L43x/L44x', 256 * K, [0x2000_3100, 0x2000_c000]),
  l4(0x462, 'STM32L45x/L46x', 512 * K, [0x2000_3100, 0x2002_0000], { emptyCheck: 'pempty' }),
  l4(0x415, 'STM32L47x/L48x', 1024 * K, [0x2000_3100, 0x2001_8000]),
  l4(0x461, 'STM32L496/4A6', 1024 * K, [0x2000_3100, 0x2004_0000]),
  l4(0x470, 'STM32L4R/L4S', 2048 * K, [0x2000_3200, 0x200a_0000]),
];

const part = (id: string, pid: number, flashKiB: number, boards: string[] = []): Stm32Part => ({
  id,
  name: id.toUpperCase(),
  pid,
  flashSize: flashKiB * K,
  boards,
});

/** Common parts by name; the first is the conformance suite's default target. */
export const STM32_PARTS: readonly Stm32Part[] = [
  part('stm32f103c8', 0x410, 64, ['Blue Pill', 'Maple Mini clone']),
  part('stm32f103cb', 0x410, 128, ['Maple Mini']),
  part('stm32f103c6', 0x412, 32),
  part('stm32f103rb', 0x410, 128, ['Nucleo-F103RB']),
  part('stm32f103rc', 0x414, 256),
  part('stm32f103re', 0x414, 512),
  part('stm32f103vc', 0x414, 256),
  part('stm32f103ze', 0x414, 512),
  part('stm32f103zg', 0x430, 1024),
  part('stm32f100rb', 0x420, 128, ['STM32VLDISCOVERY']),
  part('stm32f107vc', 0x418, 256),
  part('stm32f030f4', 0x444, 16),
  part('stm32f030c8', 0x440, 64),
  part('stm32f042k6', 0x445, 32, ['Nucleo-F042K6']),
  part('stm32f072rb', 0x448, 128, ['Nucleo-F072RB', '32F072BDISCOVERY']),
  part('stm32f091rc', 0x442, 256, ['Nucleo-F091RC']),
  part('stm32f205rg', 0x411, 1024),
  part('stm32f207zg', 0x411, 1024, ['Nucleo-F207ZG']),
  part('stm32f302r8', 0x439, 64, ['Nucleo-F302R8']),
  part('stm32f303k8', 0x438, 64, ['Nucleo-F303K8']),
  part('stm32f334r8', 0x438, 64, ['Nucleo-F334R8']),
  part('stm32f303cc', 0x422, 256),
  part('stm32f303vc', 0x422, 256, ['STM32F3DISCOVERY']),
  part('stm32f303re', 0x446, 512, ['Nucleo-F303RE']),
  part('stm32f373cc', 0x432, 256),
  part('stm32f401cc', 0x423, 256, ['Black Pill (F401)']),
  part('stm32f401re', 0x433, 512, ['Nucleo-F401RE']),
  part('stm32f405rg', 0x413, 1024),
  part('stm32f407vg', 0x413, 1024, ['STM32F4DISCOVERY']),
  part('stm32f410rb', 0x458, 128, ['Nucleo-F410RB']),
  part('stm32f411ce', 0x431, 512, ['Black Pill (F411)']),
  part('stm32f411re', 0x431, 512, ['Nucleo-F411RE']),
  part('stm32f412zg', 0x441, 1024, ['Nucleo-F412ZG']),
  part('stm32f413zh', 0x463, 1536, ['Nucleo-F413ZH']),
  part('stm32f429zi', 0x419, 2048, ['Nucleo-F429ZI', '32F429IDISCOVERY']),
  part('stm32f446re', 0x421, 512, ['Nucleo-F446RE']),
  part('stm32f469ni', 0x434, 2048, ['32F469IDISCOVERY']),
  part('stm32f722ze', 0x452, 512, ['Nucleo-F722ZE']),
  part('stm32f746zg', 0x449, 1024, ['Nucleo-F746ZG']),
  part('stm32f767zi', 0x451, 2048, ['Nucleo-F767ZI']),
  part('stm32g031k8', 0x466, 64, ['Nucleo-G031K8']),
  part('stm32g051k8', 0x456, 64),
  part('stm32g071rb', 0x460, 128, ['Nucleo-G071RB']),
  part('stm32g0b1re', 0x467, 512, ['Nucleo-G0B1RE']),
  part('stm32g431kb', 0x468, 128, ['Nucleo-G431KB']),
  part('stm32g474re', 0x469, 512, ['Nucleo-G474RE']),
  part('stm32g491re', 0x479, 512, ['Nucleo-G491RE']),
  part('stm32h743zi', 0x450, 2048, ['Nucleo-H743ZI']),
  part('stm32h750vb', 0x450, 128),
  part('stm32l011k4', 0x457, 16, ['Nucleo-L011K4']),
  part('stm32l031k6', 0x425, 32, ['Nucleo-L031K6']),
  part('stm32l053r8', 0x417, 64, ['Nucleo-L053R8']),
  part('stm32l073rz', 0x447, 192, ['Nucleo-L073RZ']),
  part('stm32l151c8', 0x416, 64),
  part('stm32l152rb', 0x416, 128),
  part('stm32l152rc', 0x427, 256, ['32L152CDISCOVERY']),
  part('stm32l152re', 0x437, 512, ['Nucleo-L152RE']),
  part('stm32l412kb', 0x464, 128, ['Nucleo-L412KB']),
  part('stm32l432kc', 0x435, 256, ['Nucleo-L432KC']),
  part('stm32l452re', 0x462, 512, ['Nucleo-L452RE']),
  part('stm32l476rg', 0x415, 1024, ['Nucleo-L476RG']),
  part('stm32l496zg', 0x461, 1024, ['Nucleo-L496ZG']),
  part('stm32l4r5zi', 0x470, 2048, ['Nucleo-L4R5ZI']),
];

export function findStm32Family(pid: number): Stm32Family | undefined {
  return STM32_FAMILIES.find((f) => f.pid === pid);
}

export function findStm32Part(id: string): Stm32Part | undefined {
  const key = id.toLowerCase();
  return STM32_PARTS.find((p) => p.id === key);
}

/** One erase unit: a page or a sector, with the number the Erase commands take. */
export interface EraseUnit {
  number: number;
  start: number;
  size: number;
}

/** The erase units of `flashSize` bytes of a family's flash, from the flash base. */
export function eraseUnits(fam: Stm32Family, flashSize: number): EraseUnit[] {
  const out: EraseUnit[] = [];
  let at = STM32_FLASH_BASE;
  const end = STM32_FLASH_BASE + flashSize;
  for (let n = 0; at < end; n++) {
    const size = fam.layout.kind === 'pages' ? fam.layout.pageSize : fam.layout.sectors[n];
    if (size === undefined) break;
    out.push({ number: n, start: at, size });
    at += size;
  }
  return out;
}

/** Typical erase time of one unit of `size` bytes, ms. */
export function eraseTimeMs(fam: Stm32Family, size: number): number {
  const t = fam.timing.eraseMs;
  if (typeof t === 'number') return t;
  return t[size / K] ?? 1000 * (size / (128 * K));
}

/** Typical programming time of `bytes` bytes, ms (whole programming units). */
export function programTimeMs(fam: Stm32Family, bytes: number): number {
  return (Math.ceil(bytes / fam.timing.programUnit) * fam.timing.programUs) / 1000;
}

/** Typical mass erase time, ms; for ROMs without one, the page-by-page time of the whole flash. */
export function massEraseTimeMs(fam: Stm32Family, flashSize: number): number {
  if (fam.bootloader.massErase && fam.timing.massEraseMs > 0) return fam.timing.massEraseMs;
  return eraseUnits(fam, flashSize).reduce((ms, u) => ms + eraseTimeMs(fam, u.size), 0);
}

export function pidHex(pid: number): string {
  return pid.toString(16).padStart(4, '0');
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
