import { FLASH_FREQ_CODES_CLASSIC, FLASH_SIZE_CODES_ESP32, SPI_OFFSETS_S2_AND_LATER, type EspChip } from './common';

/** ESP32-S2 (esptool targets/esp32s2.py): GET_SECURITY_INFO has no chip_id, so the magic value decides. */
export const esp32s2: EspChip = {
  id: 'esp32s2',
  name: 'ESP32-S2',
  magicValues: [0x000007c6],
  imageChipId: 2,
  securityInfo: 'short',
  macEfuse: 0x3f41_a044,
  bootloaderOffset: 0x1000,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x3f402000, ...SPI_OFFSETS_S2_AND_LATER },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: FLASH_FREQ_CODES_CLASSIC,
  stub: 'esp32s2',
  usb: { serialJtag: false, otg: true },
  portProbe: { address: 0x3ffffd14, usbOtg: 2 },
  uf2Family: 0xbfdd4eee,
};
