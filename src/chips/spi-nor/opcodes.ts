/**
 * SPI NOR command set shared by the 25-series parts (JEDEC JESD216 and the Winbond W25Q128JV
 * datasheet, section 8 "Instructions"; Macronix and GigaDevice use the same codes). Names follow
 * the datasheets.
 */
export const SpiNorOp = {
  /** Write Enable: sets WEL; required before every program, erase and status write. */
  WREN: 0x06,
  WRDI: 0x04,
  /** Volatile SR Write Enable (Winbond 50h). */
  EWSR: 0x50,
  RDSR: 0x05,
  RDSR2: 0x35,
  /** Read SR3 (Winbond) / configuration register (Macronix RDCR). */
  RDSR3: 0x15,
  WRSR: 0x01,
  WRSR2: 0x31,
  WRSR3: 0x11,
  READ: 0x03,
  FAST_READ: 0x0b,
  /** Page Program: 1..pageSize bytes, the address wraps inside the page. */
  PP: 0x02,
  SE_4K: 0x20,
  BE_32K: 0x52,
  BE_64K: 0xd8,
  CE_60: 0x60,
  CE_C7: 0xc7,
  RDID: 0x9f,
  /** Read Manufacturer / Device ID (legacy, 3 address bytes then 2 ID bytes). */
  REMS: 0x90,
  /** Release from Deep Power-down / Device ID. */
  RES: 0xab,
  DP: 0xb9,
  RDSFDP: 0x5a,
  RSTEN: 0x66,
  RST: 0x99,
  EN4B: 0xb7,
  EX4B: 0xe9,
  READ4B: 0x13,
  FAST_READ4B: 0x0c,
  PP4B: 0x12,
  SE4B: 0x21,
  BE32K4B: 0x5c,
  BE4B: 0xdc,
} as const;

/** Status register 1 bits (W25Q128JV 7.1; the same positions on every 25-series part). */
export const SR1 = {
  /** Write In Progress / BUSY. */
  WIP: 0x01,
  /** Write Enable Latch. */
  WEL: 0x02,
  /** Status Register Protect 0: with WP# low, WRSR is ignored. */
  SRP0: 0x80,
} as const;

/** Status register 2 (Winbond/GigaDevice): QE keeps the WP#/HOLD# pins as IO2/IO3; CMP flips the BP range. */
export const SR2 = {
  SRL: 0x01,
  QE: 0x02,
  CMP: 0x40,
} as const;
