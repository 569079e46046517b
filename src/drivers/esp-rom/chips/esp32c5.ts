import { FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-C5 (esptool targets/esp32c5.py): bootloader at 0x2000. */
export const esp32c5: EspChip = {
  id: 'esp32c5',
  name: 'ESP32-C5',
  magicValues: [0x1101406f, 0x63e1406f, 0x5fd1406f],
  imageChipId: 23,
  securityInfo: 'full',
  macEfuse: 0x600b_4044,
  bootloaderOffset: 0x2000,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x60003000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: { '80m': 0xf, '40m': 0x0, '20m': 0x2 },
  stub: 'esp32c5',
  usb: { serialJtag: true, otg: false },
  portProbe: { address: 0x4085f514, usbSerialJtag: 3 },
  uf2Family: 0xf71c0343,
};
