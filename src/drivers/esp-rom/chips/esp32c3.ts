import { FLASH_FREQ_CODES_CLASSIC, FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-C3 (esptool targets/esp32c3.py); RTC_CNTL base 0x60008000. */
export const esp32c3: EspChip = {
  id: 'esp32c3',
  name: 'ESP32-C3',
  magicValues: [0x6921506f, 0x1b31506f, 0x4881606f, 0x4361606f],
  imageChipId: 5,
  securityInfo: 'full',
  macEfuse: 0x6000_8844,
  bootloaderOffset: 0x0,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x60002000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: FLASH_FREQ_CODES_CLASSIC,
  stub: 'esp32c3',
  usb: { serialJtag: true, otg: false },
  watchdog: { wdtConfig0: 0x60008090, wdtWprotect: 0x600080a8, swdConf: 0x600080ac, swdWprotect: 0x600080b0, swdAutoFeed: 1 << 31, swdKey: 0x8f1d312a },
  portProbe: { address: 0x3fcdf07c, usbSerialJtag: 3 },
  uf2Family: 0xd42ba06c,
};
