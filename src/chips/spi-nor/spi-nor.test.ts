import { describe, expect, it } from 'vitest';
import { planErase } from './erase-plan';
import { chipsByRdid, findSpiNorChip, isNoChipId, SPI_NOR_CHIPS } from './index';
import { chipFromSfdp, encodeSfdp, readSfdp } from './sfdp';
import { KiB, MiB } from './types';

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

describe('SPI NOR chip table', () => {
  it('has at least 150 parts from the ten vendors the issue names', () => {
    expect(SPI_NOR_CHIPS.length).toBeGreaterThanOrEqual(150);
    const vendors = new Set(SPI_NOR_CHIPS.map((c) => c.vendor));
    for (const v of ['Winbond', 'Macronix', 'GigaDevice', 'Micron', 'ISSI', 'Cypress', 'XMC', 'Puya', 'EON', 'Adesto']) {
      expect(vendors.has(v as never), v).toBe(true);
    }
  });

  it('is consistent: unique names, power-of-two sizes, erase types that tile the part, sane timings', () => {
    const names = new Map<string, string>();
    for (const c of SPI_NOR_CHIPS) {
      for (const n of [c.id, ...c.aliases]) {
        const key = n.toUpperCase();
        expect(names.get(key), `${n} used by ${names.get(key)} and ${c.id}`).toBeUndefined();
        names.set(key, c.id);
      }
      expect(isPow2(c.size), c.id).toBe(true);
      expect(c.jedecId).toBeGreaterThan(0);
      expect(c.jedecId).toBeLessThan(1 << 24);
      expect(isNoChipId([c.jedecId >> 16, (c.jedecId >> 8) & 0xff, c.jedecId & 0xff]), c.id).toBe(false);
      expect(c.erase.length, c.id).toBeGreaterThan(0);
      c.erase.forEach((e, i) => {
        expect(isPow2(e.size) && c.size % e.size === 0, `${c.id} erase ${e.size}`).toBe(true);
        if (i > 0) expect(e.size).toBeGreaterThan(c.erase[i - 1]!.size);
        expect(e.maxMs).toBeGreaterThanOrEqual(e.typMs);
      });
      expect(c.program.maxMs).toBeGreaterThanOrEqual(c.program.typMs);
      expect(c.pageSize).toBe(256);
      // Parts above 16 MiB need a way to reach the rest; native ones need 4-byte erase opcodes.
      if (c.size > 16 * MiB) expect(c.addressing, c.id).not.toBe('3');
      if (c.addressing === '4-native') expect(c.erase.every((e) => e.opcode4b !== undefined), c.id).toBe(true);
    }
  });

  it('tells parts sharing a JEDEC ID apart by their variant bytes, and finds parts by alias', () => {
    expect(chipsByRdid([0x01, 0x20, 0x18, 0x4d, 0x00, 0x80])[0]!.id).toBe('S25FL128S-256K');
    expect(chipsByRdid([0x01, 0x20, 0x18, 0x4d, 0x01, 0x80])[0]!.id).toBe('S25FL128S-64K');
    expect(chipsByRdid([0xef, 0x40, 0x15, 0xef, 0x40, 0x15]).map((c) => c.id)).toEqual(['W25Q16']);
    expect(findSpiNorChip('w25q16jv')?.id).toBe('W25Q16');
    expect(findSpiNorChip('MX25L6445E')?.id).toBe('MX25L6406E');
    expect(findSpiNorChip('nope')).toBeUndefined();
  });
});

describe('SFDP (JESD216)', () => {
  it('round-trips every table part that has SFDP: size, page, erase types, 4-byte opcodes', async () => {
    for (const chip of SPI_NOR_CHIPS.filter((c) => c.sfdp)) {
      const area = encodeSfdp(chip);
      const info = await readSfdp(async (a, n) => area.slice(a, a + n));
      expect(info, chip.id).not.toBeNull();
      expect(info!.size, chip.id).toBe(chip.size);
      expect(info!.pageSize).toBe(chip.pageSize);
      expect(info!.erase.map((e) => [e.size, e.opcode]), chip.id).toEqual(chip.erase.slice(0, 4).map((e) => [e.size, e.opcode]));
      const rebuilt = chipFromSfdp([chip.jedecId >> 16, (chip.jedecId >> 8) & 0xff, chip.jedecId & 0xff], info!);
      expect(rebuilt.addressing, chip.id).toBe(chip.addressing === '4-native' ? '4-native' : chip.size > 16 * MiB ? '4-enter' : '3');
      for (const [i, e] of rebuilt.erase.entries()) {
        // Times survive the 5-bit count + unit encoding within one unit step.
        expect(e.typMs).toBeGreaterThanOrEqual(chip.erase[i]!.typMs);
        expect(e.typMs).toBeLessThanOrEqual(chip.erase[i]!.typMs * 1.2 + 16);
        if (chip.addressing === '4-native') expect(e.opcode4b).toBe(chip.erase[i]!.opcode4b);
      }
      expect(rebuilt.program.typMs).toBeGreaterThanOrEqual(chip.program.typMs);
    }
  });

  it('reads density above 2 Gbit as a power of two and rejects a missing signature', async () => {
    const area = encodeSfdp({ ...findSpiNorChip('MT25QL02G')!, size: 512 * MiB });
    const info = await readSfdp(async (a, n) => area.slice(a, a + n));
    expect(info?.size).toBe(512 * MiB);
    expect(await readSfdp(async (_a, n) => new Uint8Array(n).fill(0xff))).toBeNull();
  });
});

describe('erase planner', () => {
  const w25q16 = findSpiNorChip('W25Q16')!;
  const all = () => true;

  it('erases a whole aligned 64 KiB block with one command', () => {
    const ops = planErase(0x10000, 0x20000, w25q16.erase, all);
    expect(ops.map((o) => [o.address, o.type.size])).toEqual([[0x10000, 64 * KiB]]);
  });

  it('uses 32 KiB and 4 KiB erases where a range is not 64 KiB aligned, never outside it', () => {
    const ops = planErase(0x7000, 0x19000, w25q16.erase, all);
    expect(ops.map((o) => [o.address, o.type.size / KiB])).toEqual([
      [0x7000, 4],
      [0x8000, 32],
      [0x10000, 32],
      [0x18000, 4],
    ]);
  });

  it('erases only the dirty sectors when that is quicker than the whole block', () => {
    const dirty = new Set([0x1000, 0x5000]);
    const ops = planErase(0, 0x10000, w25q16.erase, (a) => dirty.has(a));
    expect(ops.map((o) => [o.address, o.type.size / KiB])).toEqual([
      [0x1000, 4],
      [0x5000, 4],
    ]);
    // Most of the block dirty: one 64 KiB erase (150 ms) beats twelve 4 KiB ones (540 ms).
    const many = planErase(0, 0x10000, w25q16.erase, (a) => a < 0xc000);
    expect(many.map((o) => o.type.size / KiB)).toEqual([64]);
  });
});
