import { describe, expect, it } from 'vitest';
import { readImage } from '../core/image/index';
import { DRIVERS } from '../drivers/registry';
import { prepareFirmware } from '../core/placement/index';
import { sampleFor } from './samples';

describe('"Try it" samples', () => {
  it('exist for every programmer and part, and parse as what they claim to be', () => {
    for (const { meta } of DRIVERS) {
      for (const target of meta.targets) {
        const flash = target.memories.find((m) => m.name === 'flash') ?? target.memories[0]!;
        const sample = sampleFor(meta.id, target.id, flash.base);
        const image = readImage(new Uint8Array(sample.file.bytes), { name: sample.file.name });
        const bytes = image.segments.reduce((n, s) => n + s.data.length, 0);
        expect(bytes, `${meta.id}/${target.id}`).toBeGreaterThan(0);
        expect(bytes, `${meta.id}/${target.id} fits`).toBeLessThanOrEqual(flash.size);
        if (meta.id === 'esp-rom') expect(image.meta?.chip, target.id).toBe(target.name);
      }
    }
  });

  it('give the Uno a real blink program at address 0', () => {
    const sample = sampleFor('stk500v1', 'm328p', 0);
    expect(sample.realHardware).toBe(true);
    const image = readImage(new Uint8Array(sample.file.bytes), { name: sample.file.name });
    expect(image.format).toBe('ihex');
    const code = image.segments[0]!;
    expect(code.address).toBe(0);
    // ldi r16,0x20; out DDRB,r16; out PINB,r16 …; rjmp back to the toggle
    expect(Array.from(code.data.subarray(0, 6))).toEqual([0x00, 0xe2, 0x04, 0xb9, 0x03, 0xb9]);
    expect(Array.from(code.data.subarray(-2))).toEqual([0xf5, 0xcf]);
  });

  it('start a Cortex-M sample at the flash base, in Thumb mode', () => {
    const bytes = new DataView(sampleFor('stm32-usart', 'f103c8', 0x0800_0000).file.bytes);
    expect(bytes.getUint32(4, true)).toBe(0x0800_0009);
    expect(bytes.getUint16(8, true)).toBe(0xe7fe);
  });
});

describe('"Try it" samples at the front door', () => {
  it('are accepted and placed by the desk check for every programmer and part', () => {
    for (const { meta } of DRIVERS) {
      for (const target of meta.targets) {
        const flash = target.memories.find((m) => m.name === 'flash') ?? target.memories[0]!;
        const { file } = sampleFor(meta.id, target.id, flash.base);
        const { verdict } = prepareFirmware([{ name: file.name, bytes: new Uint8Array(file.bytes) }], { driver: meta, targetId: target.id });
        expect(verdict.ok, `${meta.id}/${target.id}: ${verdict.ok ? '' : verdict.refusal.message}`).toBe(true);
        if (meta.id === 'esp-rom') expect(verdict.placements[0]).toMatchObject({ kind: 'esp-app', address: 0x10000 });
        else expect(verdict.placements[0]!.address).toBe(flash.base);
      }
    }
  });
});

describe('"Try it" blink on other Arduino AVR boards', () => {
  it('toggles the pin-13 LED of a Mega (PB7) and a Leonardo (PC7)', () => {
    const code = (driver: string, part: string) => readImage(new Uint8Array(sampleFor(driver, part, 0).file.bytes), { name: 'blink.hex' }).segments[0]!.data;
    // ldi r16,0x80; out DDRB(0x04),r16; out PINB(0x03),r16
    expect(Array.from(code('stk500v2', 'm2560').subarray(0, 6))).toEqual([0x00, 0xe8, 0x04, 0xb9, 0x03, 0xb9]);
    // ldi r16,0x80; out DDRC(0x07),r16; out PINC(0x06),r16
    expect(Array.from(code('avr109', 'm32u4').subarray(0, 6))).toEqual([0x00, 0xe8, 0x07, 0xb9, 0x06, 0xb9]);
  });
});
