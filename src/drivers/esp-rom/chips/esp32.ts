import { FLASH_FREQ_CODES_CLASSIC, FLASH_SIZE_CODES_ESP32, type EspChip } from './common';

/** ESP32 (esptool targets/esp32.py): bootloader at 0x1000, detected by magic value only. */
export const esp32: EspChip = {
  id: 'esp32',
  name: 'ESP32',
  magicValues: [0x00f01d83],
  imageChipId: 0,
  securityInfo: 'none',
  macEfuse: 0x3ff5_a004,
  bootloaderOffset: 0x1000,
  romStatusBytes: 4,
  romHasFlashExtensions: true,
  spi: { base: 0x3ff42000, usr: 0x1c, usr1: 0x20, usr2: 0x24, mosiDlen: 0x28, misoDlen: 0x2c, w0: 0x80 },
  flashSizeCodes: FLASH_SIZE_CODES_ESP32,
  flashFreqCodes: FLASH_FREQ_CODES_CLASSIC,
  stub: 'esp32',
  usb: { serialJtag: false, otg: false },
  uf2Family: 0x1c5f21b0,
};
