import { asciiBytes } from '../core/bytes/ascii';
import { sha256 } from '../core/bytes/sha256';
import { buildEspImage } from '../core/image/esp-image-build';
import { createImage } from '../core/image/memory-image';
import { writeIntelHex } from '../core/image/intel-hex';
import { chipById } from '../drivers/esp-rom/chips/index';
import type { FirmwareFile } from '../shared/api';
import { FlashError } from '../shared/errors';

/*
 * "Try it" firmware: one small file per kind of virtual device, made here so a newcomer can flash
 * something without bringing a file. The AVR and Cortex-M ones are real programs (they run on a real
 * board: a blink, an idle loop); the ESP image and the SPI-flash data are well-formed but do nothing on
 * real silicon, so the page offers those for the virtual devices only.
 */

export interface Sample {
  file: FirmwareFile;
  /** Runs on a real board as well (false: well-formed, but only meant for the virtual device). */
  realHardware: boolean;
  /** One line about what it is. */
  about: string;
}

/** Where a board's LED sits: the I/O addresses of its port's DDR and PIN registers, and the bit. */
interface AvrLed {
  ddr: number;
  pin: number;
  bit: number;
  /** For the one-line description. */
  name: string;
}

/** Arduino's pin-13 LED per AVR part: PB5 on the Uno and its kin, PB7 on the Mega, PC7 on the Leonardo (32U4). */
function avrLed(targetId: string | undefined): AvrLed {
  if (targetId === 'm2560' || targetId === 'm1280') return { ddr: 0x04, pin: 0x03, bit: 7, name: 'pin 13 (PB7)' };
  if (targetId === 'm32u4') return { ddr: 0x07, pin: 0x06, bit: 7, name: 'pin 13 (PC7)' };
  return { ddr: 0x04, pin: 0x03, bit: 5, name: 'pin 13 (PB5)' };
}

/**
 * Blink at 16 MHz, hand-assembled for any megaAVR (the port registers sit at the same I/O addresses):
 *   ldi r16,mask / out DDRx,r16 / loop: out PINx,r16 (toggle) / three nested countdowns (~0.5 s) / rjmp loop
 */
function avrBlink(led: AvrLed): Uint8Array {
  const mask = 1 << led.bit;
  const ldi = [mask & 0x0f, 0xe0 | (mask >> 4)]; // ldi r16,K: 1110 KKKK 0000 KKKK
  const out = (io: number) => [io & 0x0f, 0xb9 | ((io & 0x30) >> 3)]; // out A,r16: 1011 1AA1 0000 AAAA
  return Uint8Array.from([
    ...ldi, ...out(led.ddr), ...out(led.pin),
    0x29, 0xe2, 0x30, 0xe0, 0x40, 0xe0, 0x4a, 0x95, 0xf1, 0xf7, 0x3a, 0x95, 0xd9, 0xf7, 0x2a, 0x95, 0xc1, 0xf7, 0xf5, 0xcf,
  ]);
}

/** A Cortex-M vector table (stack top, reset handler at +8 in Thumb mode) and `b .`: the smallest program that runs. */
function cortexIdle(flashBase: number): Uint8Array {
  const out = new Uint8Array(10);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x2000_1000, true); // 4 KiB of stack at the start of SRAM, which every STM32 has
  v.setUint32(4, (flashBase + 8) | 1, true);
  v.setUint16(8, 0xe7fe, true); // b .
  return out;
}

/** A string easy to spot in a read-back or the hex view. */
const GREETING = asciiBytes('webprog sample\0');

/** esp_app_desc_t.magic_word (esp_app_format.h): the first word of an application's first segment. */
const ESP_APP_DESC_MAGIC = 0xabcd5432;

/**
 * A well-formed ESP application image for `chip` (its image chip ID): a first (flash-mapped data) segment
 * starting with esp_app_desc_t (magic, version, project name), as ESP-IDF links every application, and
 * the greeting as data.
 */
function espApp(chipId: string): Uint8Array {
  const chip = chipById(chipId);
  if (!chip) throw new FlashError('unsupported', `No sample for ${chipId}.`);
  const desc = new Uint8Array(256); // sizeof(esp_app_desc_t)
  const view = new DataView(desc.buffer);
  view.setUint32(0, ESP_APP_DESC_MAGIC, true);
  desc.set(asciiBytes('1.0'), 16); // version[32]
  desc.set(asciiBytes('webprog-sample'), 48); // project_name[32]
  desc.set(GREETING, 160); // idf_ver[32], here the greeting
  return buildEspImage({ chipId: chip.imageChipId, entry: 0x4008_0000, segments: [{ address: 0x3f40_0020, data: desc }], sha256 });
}

/** 4 KiB of patterned data (not text: a data image, as a real SPI-flash dump would be). */
function spiData(): Uint8Array {
  const out = new Uint8Array(4096);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + (i >> 8)) & 0xff;
  out.set(GREETING, 0);
  return out;
}

function file(name: string, bytes: Uint8Array): FirmwareFile {
  return { name, bytes: bytes.slice().buffer };
}

/** The sample for a driver and part, or an error saying there is none. */
export function sampleFor(driverId: string, targetId: string | undefined, flashBase: number): Sample {
  switch (driverId) {
    case 'stk500v1':
    case 'stk500v2':
    case 'avr109': {
      const led = avrLed(targetId);
      const hex = writeIntelHex(createImage('ihex', [{ memory: 'flash', address: 0, data: avrBlink(led) }]));
      return { file: file('blink.hex', hex), realHardware: true, about: `Blinks the LED on ${led.name}: half a second on, half a second off.` };
    }
    case 'stm32-usart':
    case 'usb-dfu':
      return { file: file('idle-cortex-m.bin', cortexIdle(flashBase)), realHardware: true, about: 'A Cortex-M program that starts and waits: the smallest that runs.' };
    case 'esp-rom': {
      const chip = targetId ?? 'esp32';
      return { file: file(`hello-${chip}.bin`, espApp(chip)), realHardware: false, about: 'A well-formed application image for the virtual board.' };
    }
    case 'serprog':
      return { file: file('pattern-4k.bin', spiData()), realHardware: false, about: '4 KiB of test pattern for the virtual flash chip.' };
    default:
      throw new FlashError('unsupported', 'There is no sample for this board yet.', { hint: 'Choose a firmware file.' });
  }
}
