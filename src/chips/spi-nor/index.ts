import { SPI_NOR_CHIPS } from './table';
import type { SpiNorChip } from './types';

export * from './types';
export { SPI_NOR_CHIPS } from './table';

/** A part by its id or one of its aliases, case-insensitively. */
export function findSpiNorChip(name: string): SpiNorChip | undefined {
  const key = name.trim().toUpperCase();
  return SPI_NOR_CHIPS.find((c) => c.id.toUpperCase() === key || c.aliases.some((a) => a.toUpperCase() === key));
}

/**
 * The parts answering with these RDID bytes, best match first: a part whose variant bytes match
 * beats one without them; parts whose variant bytes differ are left out.
 */
export function chipsByRdid(rdid: ArrayLike<number>): SpiNorChip[] {
  const jedecId = ((rdid[0] ?? 0) << 16) | ((rdid[1] ?? 0) << 8) | (rdid[2] ?? 0);
  return SPI_NOR_CHIPS.filter((c) => c.jedecId === jedecId && (!c.idExtra || c.idExtra.every((b, i) => rdid[3 + i] === b))).sort(
    (a, b) => (b.idExtra ? 1 : 0) - (a.idExtra ? 1 : 0),
  );
}

/** '0xEF4015' style: how datasheets and flashrom print a JEDEC ID. */
export function jedecHex(id: number): string {
  return id.toString(16).padStart(6, '0');
}

/** Does this RDID answer mean nobody is there (MISO floating high or stuck low)? */
export function isNoChipId(rdid: ArrayLike<number>): boolean {
  const first3 = [rdid[0], rdid[1], rdid[2]];
  return first3.every((b) => b === 0xff) || first3.every((b) => b === 0x00);
}

export function isLowVoltage(chip: SpiNorChip): boolean {
  return chip.voltage[1] < 2700;
}
