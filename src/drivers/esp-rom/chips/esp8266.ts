import type { EspChip } from './common';

/** ESP8266 (esptool targets/esp8266.py). Its ROM has no compression, MD5 or baud change: always use the stub. */
export const esp8266: EspChip = {
  id: 'esp8266',
  name: 'ESP8266',
  magicValues: [0xfff0c101],
  imageChipId: null,
  securityInfo: 'none',
  bootloaderOffset: 0x0,
  romStatusBytes: 2,
  romHasFlashExtensions: false,
  spi: { base: 0x60000200, usr: 0x1c, usr1: 0x20, usr2: 0x24, w0: 0x40 },
  flashSizeCodes: { '512KB': 0x00, '256KB': 0x10, '1MB': 0x20, '2MB': 0x30, '4MB': 0x40, '2MB-c1': 0x50, '4MB-c1': 0x60, '8MB': 0x80, '16MB': 0x90 },
  flashFreqCodes: { '80m': 0xf, '40m': 0x0, '26m': 0x1, '20m': 0x2 },
  stub: 'esp8266',
  usb: { serialJtag: false, otg: false },
  uf2Family: 0x7eab61ed,
};
