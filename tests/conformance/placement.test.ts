import { describe, expect, it } from 'vitest';
import { buildElf, buildEspImage, buildEspKind, buildPartitionTable, buildUf2Block } from '../support/image-fixtures';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { createImage } from '../../src/core/image/memory-image';
import { prepareFirmware } from '../../src/core/placement/index';
import { DRIVERS } from '../../src/drivers/registry';
import type { TargetInfo } from '../../src/shared/model';

/**
 * The placement model over the whole registry: every driver × every image kind × with and without an
 * address. Whatever a driver is, a file either lands where its kind belongs (and inside the part), or
 * is refused with a reason; an ESP application never lands below 0x10000 and nothing that is not a
 * bootloader lands on an ESP's boot area.
 */
const code = (n: number, seed = 3) => Uint8Array.from({ length: n }, (_, i) => (i * 151 + seed * 29 + (i >> 7)) & 0xff);
const flashOf = (t: TargetInfo) => t.memories.find((m) => m.name === 'flash') ?? t.memories[0]!;

const KINDS: Record<string, (t: TargetInfo) => Uint8Array> = {
  raw: () => code(2048),
  'esp-app': () => buildEspKind('app', 0, 2048),
  'esp-bootloader': () => buildEspKind('bootloader', 0, 1024),
  'esp-partition-table': () => buildPartitionTable([{ label: 'factory', type: 0, subtype: 0, offset: 0x10000, size: 0x100000 }]),
  'esp8266-image': () => buildEspImage({ chipId: null, segments: [{ address: 0x40100000, data: code(2048) }] }),
  ihex: (t) => writeIntelHex(createImage('t', [{ memory: 'flash', address: flashOf(t).base, data: code(2048) }])),
  'elf-arm': (t) => buildElf({ machine: 40, loads: [{ paddr: flashOf(t).base, data: code(1024) }] }),
  'elf-avr': () => buildElf({ machine: 83, loads: [{ paddr: 0, data: code(1024) }] }),
  'uf2-rp2040': () => buildUf2Block({ flags: 0x2000, address: 0x10000000, data: code(256), blockNo: 0, numBlocks: 1, familyOrSize: 0xe48bff56 }),
};
const NAMES: Record<string, string> = { ihex: 'fw.hex', 'elf-arm': 'fw.elf', 'elf-avr': 'fw.elf', 'uf2-rp2040': 'fw.uf2' };

describe.each(DRIVERS.map((d) => [d.meta.id, d.meta] as const))('placement on %s', (_id, meta) => {
  const target = meta.targets[0]!;
  const flash = flashOf(target);
  const esp = meta.placement?.kind === 'esp';

  it.each(Object.keys(KINDS))('%s, with and without an address, lands where it belongs or is refused with a reason', (kind) => {
    const bytes = KINDS[kind]!(target);
    const name = NAMES[kind] ?? 'fw.bin';
    for (const address of [undefined, flash.base, flash.base + 0x20000]) {
      for (const targetId of [target.id, undefined]) {
        const { verdict, image } = prepareFirmware([{ name, bytes, ...(address === undefined ? {} : { address }) }], { driver: meta, ...(targetId ? { targetId } : {}) });
        if (!verdict.ok) {
          expect(verdict.refusal.reason).toMatch(/^[a-z-]+$/);
          expect(verdict.refusal.message).toMatch(/\.$/);
          expect(image).toBeUndefined();
          continue;
        }
        const placed = verdict.placements[0]!;
        const start = Math.min(...image!.segments.map((s) => s.address));
        expect(placed.address).toBe(start);
        if (address !== undefined && placed.kind !== 'addressed') expect(placed.address).toBe(address);
        if (esp && (placed.kind === 'esp-app' || placed.kind === 'raw' || placed.kind === 'addressed')) expect(start).toBeGreaterThanOrEqual(0x9000);
        if (esp && placed.kind === 'esp-app') expect(start % 0x10000).toBe(0);
        if (!esp && targetId) for (const s of image!.segments) expect(s.address + s.data.length).toBeLessThanOrEqual(flash.base + flash.size);
      }
    }
  });

  it('places a raw binary without an address at the flash start (non-ESP) or asks for one (ESP)', () => {
    const { verdict } = prepareFirmware([{ name: 'fw.bin', bytes: code(1024) }], { driver: meta, targetId: target.id });
    if (esp) expect(verdict).toMatchObject({ ok: false, refusal: { reason: 'needs-address' } });
    else expect(verdict).toMatchObject({ ok: true, placements: [{ address: flash.base, source: 'default' }] });
  });

  it('refuses an ESP image on a non-ESP programmer, and places it by kind on an ESP', () => {
    const { verdict } = prepareFirmware([{ name: 'app.bin', bytes: buildEspKind('app', 0, 1024) }], { driver: meta, targetId: target.id });
    if (!esp) expect(verdict).toMatchObject({ ok: false, refusal: { reason: 'wrong-chip' } });
    else if (target.name === 'ESP32') expect(verdict).toMatchObject({ ok: true, placements: [{ kind: 'esp-app', address: 0x10000 }] });
  });

  it.runIf(esp)('puts every chip\'s bootloader at that chip\'s offset', () => {
    for (const chip of meta.placement?.kind === 'esp' ? meta.placement.chips : []) {
      const t = meta.targets.find((x) => x.name === chip.name)!;
      const ids: Record<string, number | null> = { ESP8266: null, ESP32: 0, 'ESP32-S2': 2, 'ESP32-C3': 5, 'ESP32-S3': 9, 'ESP32-C2': 12, 'ESP32-C6': 13, 'ESP32-H2': 16, 'ESP32-P4': 18, 'ESP32-C5': 23 };
      if (!(chip.name in ids) || ids[chip.name] === null) continue;
      const { verdict } = prepareFirmware([{ name: 'bootloader.bin', bytes: buildEspKind('bootloader', ids[chip.name]!, 512) }], { driver: meta, targetId: t.id });
      // ESP-IDF docs (IDF_TARGET_BOOTLOADER_OFFSET) and esptool BOOTLOADER_FLASH_OFFSET.
      const documented = ['ESP32', 'ESP32-S2'].includes(chip.name) ? 0x1000 : ['ESP32-P4', 'ESP32-C5'].includes(chip.name) ? 0x2000 : 0;
      expect(verdict, chip.name).toMatchObject({ ok: true, placements: [{ kind: 'esp-bootloader', address: documented }] });
    }
  });
});
