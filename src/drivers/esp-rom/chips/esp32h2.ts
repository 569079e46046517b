import { FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-H2 (esptool targets/esp32h2.py): flash clock derived from a 48 MHz source. */
export const esp32h2: EspChip = {
  id: 'esp32h2',
  name: 'ESP32-H2',
  magicValues: [0xd7b73e80, 0x97e30068],
  imageChipId: 16,
  securityInfo: 'full',
  macEfuse: 0x600b_0844,
  bootloaderOffset: 0x0,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x60003000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: { '48m': 0xf, '24m': 0x0, '16m': 0x1, '12m': 0x2 },
  stub: 'esp32h2',
  usb: { serialJtag: true, otg: false },
  portProbe: { address: 0x4084fefc, usbSerialJtag: 3 },
  uf2Family: 0x332726f6,
};
