import { FLASH_FREQ_CODES_CLASSIC, FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-S3 (esptool targets/esp32s3.py); RTC_CNTL base 0x60008000. */
export const esp32s3: EspChip = {
  id: 'esp32s3',
  name: 'ESP32-S3',
  magicValues: [0x00000009],
  imageChipId: 9,
  securityInfo: 'full',
  macEfuse: 0x6000_7044,
  bootloaderOffset: 0x0,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x60002000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: FLASH_FREQ_CODES_CLASSIC,
  stub: 'esp32s3',
  usb: { serialJtag: true, otg: true },
  watchdog: { wdtConfig0: 0x60008098, wdtWprotect: 0x600080b0, swdConf: 0x600080b4, swdWprotect: 0x600080b8, swdAutoFeed: 1 << 31, swdKey: 0x8f1d312a },
  portProbe: { address: 0x3fcef14c, usbOtg: 3, usbSerialJtag: 4 },
  uf2Family: 0xc47e5767,
};
