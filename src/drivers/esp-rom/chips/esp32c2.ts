import { FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-C2 / ESP8684 (esptool targets/esp32c2.py): its own flash frequency codes. */
export const esp32c2: EspChip = {
  id: 'esp32c2',
  name: 'ESP32-C2',
  magicValues: [0x6f51306f, 0x7c41a06f, 0x0c21e06f],
  imageChipId: 12,
  securityInfo: 'full',
  macEfuse: 0x6000_8840,
  bootloaderOffset: 0x0,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x60002000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: { '60m': 0xf, '30m': 0x0, '20m': 0x1, '15m': 0x2 },
  stub: 'esp32c2',
  usb: { serialJtag: false, otg: false },
  uf2Family: 0x2b88d29c,
};
