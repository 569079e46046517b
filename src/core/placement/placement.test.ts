import { describe, expect, it } from 'vitest';
import type { RawPlacement } from '../../shared/intake';
import type { TargetInfo } from '../../shared/model';
import { buildElf, buildEspImage, buildEspKind, buildPartitionTable, buildUf2Block } from '../../../tests/support/image-fixtures';
import { writeIntelHex } from '../image/intel-hex';
import { createImage } from '../image/memory-image';
import { checkContent, checkFit, checkIdentified, prepareFirmware } from './index';

const ascii = (s: string) => new TextEncoder().encode(s);
const code = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17) & 0xff);

const uno: TargetInfo = { id: 'm328p', name: 'ATmega328P', boards: ['Arduino Uno'], deviceId: '1e950f', memories: [{ name: 'flash', base: 0, size: 32768, pageSize: 128 }, { name: 'eeprom', base: 0, size: 1024, pageSize: 4 }] };
const stm: TargetInfo = { id: 'stm32f103c8', name: 'STM32F103C8', boards: [], memories: [{ name: 'flash', base: 0x08000000, size: 65536, pageSize: 1024 }] };
const esp32: TargetInfo = { id: 'esp32', name: 'ESP32', boards: [], memories: [{ name: 'flash', base: 0, size: 4 << 20, pageSize: 4096 }] };
const esp32c3: TargetInfo = { ...esp32, id: 'esp32c3', name: 'ESP32-C3' };
const ESP_RULE: RawPlacement = {
  kind: 'esp',
  chips: [
    { name: 'ESP8266', bootloader: 0, machine: 'Xtensa' },
    { name: 'ESP32', bootloader: 0x1000, machine: 'Xtensa' },
    { name: 'ESP32-C3', bootloader: 0, machine: 'RISC-V' },
    { name: 'ESP32-P4', bootloader: 0x2000, machine: 'RISC-V' },
  ],
};
const avr = { id: 'stk500v1', targets: [uno], placement: { kind: 'memory-base', machine: 'AVR' } as RawPlacement };
const stm32 = { id: 'stm32-usart', targets: [stm], placement: { kind: 'memory-base', machine: 'ARM' } as RawPlacement };
const esp = { id: 'esp-rom', targets: [esp32, esp32c3], placement: ESP_RULE };

describe('checkContent', () => {
  it.each([
    ['empty.bin', new Uint8Array(0), 'empty'],
    ['blank.hex', ascii('\n\n  \r\n'), 'empty'],
    ['notes.txt', ascii('Remember to order more boards.\nAnd coffee.\n'), 'text'],
    ['firmware.bin', ascii('<!DOCTYPE html>\n<html><head><title>GitHub</title></head></html>'), 'web-page'],
    ['app.hex', ascii('<html>\n<body>Not found</body></html>'), 'web-page'],
    ['app.hex', code(512), 'name-mismatch'],
    ['app.elf', ascii(':00000001FF\n'), 'name-mismatch'],
    ['fw.zip', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]), 'not-firmware'],
    ['readme.bin', ascii('This is a plain text README saved with the wrong name.\n'.repeat(20)), 'mostly-text'],
  ])('refuses %s (%s)', (name, bytes, reason) => {
    const r = checkContent(bytes, name);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.reason).toBe(reason);
      expect(r.refusal.message).toMatch(/^[A-Z].*\.$/);
      expect(r.refusal.message.split('. ').length).toBe(1); // one sentence
    }
  });

  it('says "This looks like a web page, not firmware" for a saved download page', () => {
    const r = checkContent(ascii('<!doctype html><html lang="en">'), 'blink.hex');
    expect(!r.ok && r.refusal.message).toBe('This looks like a web page, not firmware.');
  });

  it('lets a text-like binary through only with the explicit consent', () => {
    const bytes = ascii('CONFIG=1\n'.repeat(100));
    const first = checkContent(bytes, 'config.bin');
    expect(!first.ok && first.refusal.consent).toBe('text-as-firmware');
    expect(checkContent(bytes, 'config.bin', ['text-as-firmware']).ok).toBe(true);
  });

  it('accepts real firmware whatever its name says', () => {
    expect(checkContent(writeIntelHex(createImage('t', [{ memory: 'flash', address: 0, data: code(300) }])), 'blink.hex')).toEqual({ ok: true, format: 'ihex' });
    expect(checkContent(code(4096), 'app.bin')).toEqual({ ok: true, format: 'bin' });
    expect(checkContent(code(4096), 'app')).toEqual({ ok: true, format: 'bin' });
    expect(checkContent(buildEspKind('app', 0), 'app.bin')).toEqual({ ok: true, format: 'esp' });
  });
});

describe('prepareFirmware: placement', () => {
  const place = (name: string, bytes: Uint8Array, driver: typeof avr, targetId?: string, address?: number) =>
    prepareFirmware([{ name, bytes, ...(address === undefined ? {} : { address }) }], { driver, ...(targetId ? { targetId } : {}) });

  it('puts a raw STM32 .bin at the flash start, 0x08000000, without being told', () => {
    const r = place('app.bin', code(2048), stm32, 'stm32f103c8');
    expect(r.verdict.ok).toBe(true);
    expect(r.verdict.placements[0]).toMatchObject({ address: 0x08000000, source: 'default', kind: 'raw' });
    expect(r.image!.segments[0]!.address).toBe(0x08000000);
    // Also with no part chosen: every STM32 starts its flash there.
    expect(place('app.bin', code(2048), stm32).verdict.placements[0]!.address).toBe(0x08000000);
  });

  it('puts an ESP application at 0x10000, a bootloader at its chip offset, a partition table at 0x8000', () => {
    expect(place('app.bin', buildEspKind('app', 0), esp).verdict.placements[0]).toMatchObject({ kind: 'esp-app', address: 0x10000 });
    expect(place('bootloader.bin', buildEspKind('bootloader', 0), esp).verdict.placements[0]).toMatchObject({ kind: 'esp-bootloader', address: 0x1000 });
    expect(place('bootloader.bin', buildEspKind('bootloader', 5), esp).verdict.placements[0]).toMatchObject({ address: 0 });
    const table = buildPartitionTable([{ label: 'factory', type: 0, subtype: 0, offset: 0x20000, size: 0x100000 }]);
    expect(place('partitions.bin', table, esp).verdict.placements[0]).toMatchObject({ kind: 'esp-partition-table', address: 0x8000 });
  });

  it('puts the application at the factory partition of a partition table in the same job', () => {
    const table = buildPartitionTable([
      { label: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000 },
      { label: 'factory', type: 0, subtype: 0, offset: 0x20000, size: 0x100000 },
    ]);
    const r = prepareFirmware([{ name: 'partitions.bin', bytes: table }, { name: 'app.bin', bytes: buildEspKind('app', 0) }], { driver: esp, targetId: 'esp32' });
    expect(r.verdict.ok).toBe(true);
    expect(r.verdict.placements.map((p) => [p.address, p.source])).toEqual([[0x8000, 'default'], [0x20000, 'partition-table']]);
  });

  it('refuses an ESP application at 0x0 before anything opens, saying where it goes', () => {
    const r = place('app.bin', buildEspKind('app', 0), esp, 'esp32', 0);
    expect(r.verdict.ok).toBe(false);
    if (!r.verdict.ok) {
      expect(r.verdict.refusal.reason).toBe('misplaced-app');
      expect(r.verdict.refusal.hint).toContain('0x10000');
    }
    expect(r.image).toBeUndefined();
  });

  it('refuses a bootloader at another offset than its chip loads it from', () => {
    const r = place('bootloader.bin', buildEspKind('bootloader', 0), esp, 'esp32', 0);
    expect(!r.verdict.ok && r.verdict.refusal.reason).toBe('boot-area');
  });

  it('refuses an Uno HEX on an ESP32: it would land on the boot area', () => {
    const hex = writeIntelHex(createImage('t', [{ memory: 'flash', address: 0, data: code(3000) }]));
    const r = place('blink.hex', hex, esp, 'esp32');
    expect(!r.verdict.ok && r.verdict.refusal.reason).toBe('boot-area');
  });

  it('asks for an address for raw data on an ESP, and takes one', () => {
    const raw = code(8192);
    expect(!place('spiffs.bin', raw, esp, 'esp32').verdict.ok && place('spiffs.bin', raw, esp, 'esp32').verdict).toMatchObject({ refusal: { reason: 'needs-address' } });
    expect(place('spiffs.bin', raw, esp, 'esp32', 0x290000).verdict).toMatchObject({ ok: true, placements: [{ address: 0x290000, source: 'user' }] });
  });

  it('refuses images naming another chip or family', () => {
    expect(place('app.bin', buildEspKind('app', 5), esp, 'esp32').verdict).toMatchObject({ ok: false, refusal: { reason: 'wrong-chip' } });
    expect(place('app.bin', buildEspKind('app', 0), stm32, 'stm32f103c8').verdict).toMatchObject({ ok: false, refusal: { reason: 'wrong-chip' } });
    const uf2 = buildUf2Block({ flags: 0x2000, address: 0x10000000, data: code(256), blockNo: 0, numBlocks: 1, familyOrSize: 0xe48bff56 });
    expect(place('pico.uf2', uf2, avr, 'm328p').verdict).toMatchObject({ ok: false, refusal: { reason: 'wrong-family' } });
    const armElf = buildElf({ machine: 40, loads: [{ paddr: 0x08000000, data: code(64) }] });
    expect(place('blink.elf', armElf, avr, 'm328p').verdict).toMatchObject({ ok: false, refusal: { reason: 'wrong-machine' } });
  });

  it('checks an AVR ELF .signature against the part, or leaves it for identify', () => {
    const elf = (sig: number[]) => buildElf({ machine: 83, loads: [{ paddr: 0, data: code(256) }, { paddr: 0x840000, data: Uint8Array.from(sig) }] });
    expect(place('blink.elf', elf([0x0f, 0x95, 0x1e]), avr, 'm328p').verdict.ok).toBe(true);
    expect(place('blink.elf', elf([0x01, 0x98, 0x1e]), avr, 'm328p').verdict).toMatchObject({ ok: false, refusal: { reason: 'wrong-chip' } });
    const open = place('blink.elf', elf([0x01, 0x98, 0x1e]), avr);
    expect(open.verdict).toMatchObject({ ok: true, requires: { deviceId: '1e9801' } });
    expect(open.image!.segments.map((s) => s.memory)).toEqual(['flash']);
    expect(checkIdentified(open.verdict.ok ? open.verdict.requires : undefined, { id: '1e950f', name: 'ATmega328P' })).toMatchObject({ reason: 'wrong-chip', code: 'wrong-target' });
    expect(checkIdentified(open.verdict.ok ? open.verdict.requires : undefined, { id: '1e9801', name: 'ATmega2560' })).toBeNull();
  });

  it('leaves the chip an ESP image names to identify when no part is chosen', () => {
    const r = place('app.bin', buildEspKind('app', 5), esp);
    expect(r.verdict).toMatchObject({ ok: true, requires: { deviceName: 'ESP32-C3' } });
  });

  it('refuses a 39 KiB HEX on an Uno: it does not fit', () => {
    const hex = writeIntelHex(createImage('t', [{ memory: 'flash', address: 0, data: code(39 * 1024) }]));
    const r = place('big.hex', hex, avr, 'm328p');
    expect(r.verdict).toMatchObject({ ok: false, refusal: { reason: 'does-not-fit', code: 'image-out-of-range' } });
  });

  it('keeps the ESP8266 single image at 0x0', () => {
    const image = buildEspImage({ chipId: null, segments: [{ address: 0x40100000, data: code(40000) }] });
    expect(place('firmware.bin', image, esp).verdict.placements[0]).toMatchObject({ kind: 'esp-image', address: 0 });
  });
});

describe('checkFit', () => {
  it('is a pure function of spans and the part', () => {
    expect(checkFit([{ memory: 'flash', address: 0, length: 32768 }], uno, [uno])).toBeNull();
    expect(checkFit([{ memory: 'flash', address: 0, length: 32769 }], uno, [uno])?.reason).toBe('does-not-fit');
    expect(checkFit([{ memory: 'fuse', address: 0, length: 1 }], uno, [uno])?.reason).toBe('does-not-fit');
    expect(checkFit([{ memory: 'flash', address: 0x08000000, length: 1 << 20 }], undefined, [stm])?.message).toMatch(/^This firmware fits none/);
    expect(checkFit([{ memory: 'flash', address: 0, length: 64 << 20 }], esp32, [esp32], { sizeKnown: false })).toBeNull();
  });
});
