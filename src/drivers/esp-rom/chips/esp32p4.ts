import { FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/**
 * ESP32-P4 (esptool targets/esp32p4.py): bootloader at 0x2000, SPIMEM1 at 0x5008D000, LP_WDT at 0x50116000.
 * Silicon before v3.0 needs the "esp32p4-rev1" stub; this table carries the current one.
 */
export const esp32p4: EspChip = {
  id: 'esp32p4',
  name: 'ESP32-P4',
  magicValues: [0x0, 0x0addbad0, 0x7039ad9],
  imageChipId: 18,
  securityInfo: 'full',
  macEfuse: 0x5012_d044,
  bootloaderOffset: 0x2000,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x5008d000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: { '80m': 0xf, '40m': 0x0, '20m': 0x2 },
  stub: 'esp32p4',
  usb: { serialJtag: true, otg: true },
  watchdog: { wdtConfig0: 0x50116000, wdtWprotect: 0x50116018, swdConf: 0x5011601c, swdWprotect: 0x50116020, swdAutoFeed: 1 << 18, swdKey: 0x50d83aa1 },
  uf2Family: 0x3d308e94,
};
