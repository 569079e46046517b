import { BCD_DFU_1_1, BCD_DFUSE, DFU_FUNCTIONAL } from './protocol';

/**
 * A USB DFU device as plain data: what it enumerates as (IDs, strings, functional descriptor, alternate
 * settings) and, for the simulator, its datasheet timing. The driver reads layouts from the device
 * itself; it uses this table to name the device, to check a chosen part, and to know the memory size
 * of plain DFU 1.1 devices (whose descriptors do not say).
 */
export interface DfuPart {
  id: string;
  name: string;
  boards: string[];
  vendorId: number;
  productId: number;
  /** bcdDevice in DFU mode. */
  deviceVersion: number;
  strings: { manufacturer: string; product: string; serial: string };
  /** bMaxPacketSize0 */
  packetSize: number;
  /** DFU functional descriptor. */
  dfuVersion: number;
  attributes: number;
  detachTimeoutMs: number;
  transferSize: number;
  /** Alternate setting names, by alternate setting: DfuSe memory layouts, or plain partition names. */
  alts: string[];
  /** Plain DFU 1.1: the memory behind each alternate setting, addressed from `base` (DfuSe layouts say it). */
  plainMemory?: { base: number; size: number; pageSize: number };
  /**
   * Run-time mode (DFU 1.1 §4.1): the application's own IDs when it carries a DFU run-time interface;
   * absent for ROM bootloaders, which are entered by strapping (BOOT0) instead.
   */
  runtime?: { productId: number; deviceVersion: number; product: string };
  timing: DfuTiming;
}

/** Datasheet figures the simulator charges (typical values). */
export interface DfuTiming {
  /** Erase time by sector size in bytes. */
  eraseMs: Record<number, number>;
  massEraseMs: number;
  /** Programming: bytes per program operation and its time. */
  programUnit: number;
  programUs: number;
  /** Manifestation, for plain DFU devices (checksum, switching banks). */
  manifestMs: number;
}

/** bmAttributes of ST's ROM bootloaders: will detach, manifestation intolerant, upload, download (0x0B). */
const ST_ATTRIBUTES = DFU_FUNCTIONAL.bitWillDetach | DFU_FUNCTIONAL.bitCanUpload | DFU_FUNCTIONAL.bitCanDnload;

/**
 * STM32F405/407/415/417 system memory bootloader in DFU mode (AN2606): descriptors as the device
 * reports them (lsusb of an STM32F4 Discovery); timing from the STM32F405xx datasheet (DS8626)
 * table "Flash memory programming" at x32 parallelism: 16 KiB sector 250 ms, 64 KiB 550 ms,
 * 128 KiB 1 s, mass erase 8 s, one word 16 µs.
 */
const STM32F40X: DfuPart = {
  id: 'stm32f40x',
  name: 'STM32F405/407/415/417 (1 MiB)',
  boards: ['STM32F4 Discovery', 'Olimex STM32-E407', 'Adafruit Feather STM32F405', 'pyboard v1.1'],
  vendorId: 0x0483,
  productId: 0xdf11,
  deviceVersion: 0x2100,
  strings: { manufacturer: 'STMicroelectronics', product: 'STM32  BOOTLOADER', serial: '315A28A0B956' },
  packetSize: 64,
  dfuVersion: BCD_DFUSE,
  attributes: ST_ATTRIBUTES,
  detachTimeoutMs: 255,
  transferSize: 2048,
  alts: [
    '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
    '@Option Bytes  /0x1FFFC000/01*016 g',
    '@OTP Memory /0x1FFF7800/01*512 g,01*016 g',
    '@Device Feature/0xFFFF0000/01*004 g',
  ],
  // The OTP (512 B, 16 B), option-byte (16 B) and Device Feature (4 B) areas have no datasheet erase time:
  // charged like a 16 KiB sector (a modelling choice).
  timing: { eraseMs: { 16384: 250, 65536: 550, 131072: 1000, 512: 250, 16: 250, 4: 1 }, massEraseMs: 8000, programUnit: 4, programUs: 16, manifestMs: 1 },
};

/**
 * STM32F105/107 connectivity line bootloader (AN2606), product ID 0x418: 128 pages of 2 KiB
 * (lsusb of an STM32F107). Timing from the STM32F105xx datasheet (DS6014): page erase 20 ms,
 * mass erase 20 ms, one half-word 52.5 µs.
 */
const STM32F10X_CL: DfuPart = {
  id: 'stm32f10x-cl',
  name: 'STM32F105/107 (256 KiB)',
  boards: ['Olimex STM32-P107', 'STM3210C-EVAL'],
  vendorId: 0x0483,
  productId: 0xdf11,
  deviceVersion: 0x2000,
  strings: { manufacturer: 'STMicroelectronics', product: 'STM32 0x418 DFU Bootloader', serial: 'STM32' },
  packetSize: 64,
  dfuVersion: BCD_DFUSE,
  attributes: ST_ATTRIBUTES,
  detachTimeoutMs: 255,
  transferSize: 2048,
  alts: ['@Internal Flash  /0x08000000/128*002Kg', '@Option Bytes  /0x1FFFF800/01*016 g'],
  timing: { eraseMs: { 2048: 20, 16: 20 }, massEraseMs: 20, programUnit: 2, programUs: 52.5, manifestMs: 1 },
};

/**
 * A generic DFU 1.1 bootloader (the simulator's own plain-DFU device, not a product): pid.codes'
 * test IDs 1209:0001 in DFU mode and 1209:0002 for its application with a DFU run-time interface;
 * 128 KiB in 1 KiB pages, manifestation tolerant, uploads allowed. Timing is that of a typical
 * Cortex-M0 flash: 20 ms page erase, 32-bit words in 40 µs.
 */
const GENERIC_DFU: DfuPart = {
  id: 'dfu-generic',
  name: 'Generic USB DFU 1.1 device (128 KiB)',
  boards: ['webprog DFU test device'],
  vendorId: 0x1209,
  productId: 0x0001,
  deviceVersion: 0x0100,
  strings: { manufacturer: 'webprog', product: 'DFU 1.1 test device', serial: 'WP-DFU-0001' },
  packetSize: 64,
  dfuVersion: BCD_DFU_1_1,
  attributes: DFU_FUNCTIONAL.bitCanDnload | DFU_FUNCTIONAL.bitCanUpload | DFU_FUNCTIONAL.bitManifestationTolerant,
  detachTimeoutMs: 1000,
  transferSize: 1024,
  alts: ['Flash'],
  plainMemory: { base: 0, size: 128 * 1024, pageSize: 1024 },
  runtime: { productId: 0x0002, deviceVersion: 0x0100, product: 'DFU test application' },
  timing: { eraseMs: { 1024: 20 }, massEraseMs: 40, programUnit: 4, programUs: 40, manifestMs: 10 },
};

export const DFU_PARTS: readonly DfuPart[] = [STM32F40X, STM32F10X_CL, GENERIC_DFU];

export function findDfuPart(id: string): DfuPart | undefined {
  return DFU_PARTS.find((p) => p.id === id);
}

/** The part a device is, by its IDs and its first alternate setting's name (one VID:PID serves every STM32). */
export function matchDfuPart(vendorId: number, productId: number, altNames: string[]): DfuPart | undefined {
  const norm = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
  return DFU_PARTS.find(
    (p) => p.vendorId === vendorId && p.productId === productId && (p.dfuVersion !== BCD_DFUSE || norm(p.alts[0]) === norm(altNames[0])),
  );
}
