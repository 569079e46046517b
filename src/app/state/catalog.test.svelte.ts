import { describe, expect, it } from 'vitest';
import type { ImageSummary } from '../../shared/api';
import type { DriverInfo } from '../../shared/model';
import { faultSpec, isFaultMode } from '../faults';
import { routeFromHash } from './app.svelte';
import { deviceChoices } from './catalog.svelte';
import { fitOf } from './firmware.svelte';

const avr: DriverInfo = {
  id: 'stk500v1',
  label: 'Arduino bootloader',
  link: 'serial',
  capabilities: { erase: false, read: true, eeprom: true },
  targets: [
    { id: 'm328p', name: 'ATmega328P', boards: ['Arduino Uno', 'Arduino Nano'], memories: [{ name: 'flash', base: 0, size: 32768, pageSize: 128 }] },
    { id: 'm328', name: 'ATmega328', boards: [], memories: [{ name: 'flash', base: 0, size: 32768, pageSize: 128 }] },
  ],
  tested: { probe: 'ok', read: 'ok', write: 'ok', erase: 'na' },
};
const stm: DriverInfo = {
  id: 'stm32',
  label: 'STM32 bootloader',
  link: 'serial',
  capabilities: { erase: true, read: true, eeprom: false },
  targets: [{ id: 'f103', name: 'STM32F103', boards: ['Blue Pill'], memories: [{ name: 'flash', base: 0x0800_0000, size: 65536, pageSize: 1024 }] }],
  tested: { probe: 'ok', read: 'ok', write: 'ok', erase: 'ok' },
};
const detect: DriverInfo = { ...stm, id: 'any', label: 'Some programmer', targets: [] };

function image(segments: { address: number; length: number; memory?: string }[]): ImageSummary {
  return {
    name: 'x.hex',
    fileSize: 1,
    fileSha256: '',
    format: 'ihex',
    segments: segments.map((s) => ({ memory: s.memory ?? 'flash', address: s.address, length: s.length })),
    totalBytes: 0,
    imageSha256: '',
    crc32: '',
  };
}

describe('device choices from registry metadata', () => {
  it('lists named boards first, then bare parts, then detecting drivers, each with a virtual twin', () => {
    const choices = deviceChoices([avr, detect, stm]);
    expect(choices.map((c) => c.label)).toEqual(['Arduino Uno', 'Arduino Nano', 'Blue Pill', 'ATmega328 (any board)', 'Some programmer (detect the chip)']);
    expect(choices[0]).toMatchObject({ key: 'stk500v1:m328p:Arduino Uno', virtualLabel: 'Arduino Uno (virtual)', targetId: 'm328p', link: 'serial' });
    expect(choices.at(-1)!.targetId).toBeUndefined();
    expect(new Set(choices.map((c) => c.key)).size).toBe(choices.length);
  });
});

describe('does the image fit', () => {
  const [uno] = deviceChoices([avr]);
  const [bluePill] = deviceChoices([stm]);

  it('measures against the part flash, from its base address', () => {
    expect(fitOf(image([{ address: 0, length: 8192 }]), uno)).toMatchObject({ ok: true, share: 0.25 });
    expect(fitOf(image([{ address: 0x0800_0000, length: 16384 }]), bluePill)).toMatchObject({ ok: true, share: 0.25 });
  });

  it('flags an image outside the flash', () => {
    expect(fitOf(image([{ address: 0, length: 40000 }]), uno)?.ok).toBe(false);
    expect(fitOf(image([{ address: 0, length: 100 }]), bluePill)?.ok).toBe(false);
  });

  it('has nothing to say without a known flash', () => {
    expect(fitOf(image([{ address: 0, length: 1 }]), deviceChoices([detect])[0])).toBeNull();
  });
});

describe('page addressing', () => {
  it('routes by hash, defaulting to the flash screen', () => {
    expect(routeFromHash('#/history')).toBe('history');
    expect(routeFromHash('#/library')).toBe('library');
    expect(routeFromHash('')).toBe('flash');
    expect(routeFromHash('#/nonsense')).toBe('flash');
  });

  it('takes only known fault modes from the URL', () => {
    expect(isFaultMode('disconnect')).toBe(true);
    expect(isFaultMode('toString')).toBe(false);
    expect(isFaultMode(null)).toBe(false);
    expect(faultSpec('none')).toBeUndefined();
    expect(faultSpec('disconnect')).toEqual({ seed: 1, disconnectAfterBytes: 600 });
  });
});
