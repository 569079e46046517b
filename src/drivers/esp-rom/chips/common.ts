/** The chip record type and the constants several families share (no imports: chip files depend on it). */

/**
 * One Espressif chip family as plain data (esptool `targets/<chip>.py`, esptool-js `targets/<chip>.ts`).
 * Behaviour is never switched on the chip name: code reads these fields.
 */
export interface EspChip {
  /** Short id for the CLI and the ESP Web Tools manifest family, lower-case: 'esp32c3'. */
  id: string;
  /** As Espressif writes it and as ESP Web Tools manifests name it: 'ESP32-C3'. */
  name: string;
  /** READ_REG 0x40001000 values across silicon revisions (esptool CHIP_DETECT_MAGIC_VALUE). */
  magicValues: readonly number[];
  /** esp_chip_id_t (image header byte 12, GET_SECURITY_INFO chip_id); null on the ESP8266. */
  imageChipId: number | null;
  /** How its ROM answers GET_SECURITY_INFO: not at all, 12 bytes without chip_id (S2), or 20 bytes. */
  securityInfo: 'none' | 'short' | 'full';
  /**
   * The factory MAC in eFuse: READ_REG of this word and the next; the MAC is their big-endian bytes
   * (next word first) without the first two (esptool read_mac, MAC_EFUSE_REG). Absent on the ESP8266.
   */
  macEfuse?: number;
  /** Flash offset of the 2nd-stage bootloader (esptool BOOTLOADER_FLASH_OFFSET). */
  bootloaderOffset: number;
  /** Status bytes at the end of a ROM response: 2 on the ESP8266, 4 on ESP32 and later. */
  romStatusBytes: 2 | 4;
  /** ESP32 and later ROMs know SPI_ATTACH, CHANGE_BAUDRATE, FLASH_DEFL_* and SPI_FLASH_MD5. */
  romHasFlashExtensions: boolean;
  /** SPI controller registers for the JEDEC ID read (esptool SPI_REG_BASE and *_OFFS). */
  spi: { base: number; usr: number; usr1: number; usr2: number; w0: number; mosiDlen?: number; misoDlen?: number };
  /** Image header byte 3, high nibble (esptool FLASH_SIZES). */
  flashSizeCodes: Readonly<Record<string, number>>;
  /** Image header byte 3, low nibble (esptool FLASH_FREQUENCY). */
  flashFreqCodes: Readonly<Record<string, number>>;
  /** Stub image names in ./stubs (the first whose condition holds is used). */
  stub: string;
  /** Native USB: USB-Serial/JTAG (PID 0x1001) and/or the ROM's USB-OTG CDC (PID = image chip id). */
  usb: { serialJtag: boolean; otg: boolean };
  /** RTC watchdog registers to disable on USB-Serial/JTAG, where the chip has no EN wire (esptool disable_watchdogs). */
  watchdog?: { wdtConfig0: number; wdtWprotect: number; swdConf: number; swdWprotect: number; swdAutoFeed: number; swdKey: number };
  /**
   * Which port the ROM talks on: the byte at `address` (ROM .bss UARTDEV_BUF_NO) equals `usbOtg` or
   * `usbSerialJtag` when that native USB port is in use (esptool targets UARTDEV_BUF_NO*).
   */
  portProbe?: { address: number; usbOtg?: number; usbSerialJtag?: number };
  /** UF2 family id, for firmware files in that format. */
  uf2Family: number;
}

/** Write-protect key of the RTC watchdog registers (esptool RTC_CNTL_WDT_WKEY). */
export const RTC_WDT_WKEY = 0x50d83aa1;

export const FLASH_SIZE_CODES_ESP32: Readonly<Record<string, number>> = {
  '1MB': 0x00,
  '2MB': 0x10,
  '4MB': 0x20,
  '8MB': 0x30,
  '16MB': 0x40,
  '32MB': 0x50,
  '64MB': 0x60,
  '128MB': 0x70,
};

export const FLASH_FREQ_CODES_CLASSIC: Readonly<Record<string, number>> = { '80m': 0xf, '40m': 0x0, '26m': 0x1, '20m': 0x2 };

/** SPI register offsets shared by ESP32-S2 and every later chip (esptool SPI_*_OFFS). */
export const SPI_OFFSETS_S2_AND_LATER = { usr: 0x18, usr1: 0x1c, usr2: 0x20, mosiDlen: 0x24, misoDlen: 0x28, w0: 0x58 } as const;

