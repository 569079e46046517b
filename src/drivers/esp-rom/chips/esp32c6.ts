import { FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-C6 (esptool targets/esp32c6.py): 80 MHz is written as code 0x0 (ROM MSPI divider workaround). */
export const esp32c6: EspChip = {
  id: 'esp32c6',
  name: 'ESP32-C6',
  magicValues: [0x2ce0806f],
  imageChipId: 13,
  securityInfo: 'full',
  macEfuse: 0x600b_0844,
  bootloaderOffset: 0x0,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x60003000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: { '80m': 0x0, '40m': 0x0, '20m': 0x2 },
  stub: 'esp32c6',
  usb: { serialJtag: true, otg: false },
  portProbe: { address: 0x4087f580, usbSerialJtag: 3 },
  uf2Family: 0x540ddf62,
};
