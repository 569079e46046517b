import { FlashError } from '../shared/errors';

/**
 * Classic and modern AVR parts as plain data. Sizes and signatures from avrdude.conf and the
 * datasheets; page-write times are the datasheets' tWD_FLASH / tWD_EEPROM (typical).
 */
export interface AvrPart {
  /** avrdude's -p name, which users already type. */
  id: string;
  name: string;
  signature: readonly [number, number, number];
  flashSize: number;
  flashPageSize: number;
  eepromSize: number;
  eepromPageSize: number;
  /** Self-programming time of one flash page (erase and write each take about this). */
  flashPageWriteMs: number;
  boards: readonly string[];
}

const CLASSIC_PAGE_MS = 4.1; // ATmega328P datasheet 28.8: tWD_FLASH 3.7..4.5 ms

export const AVR_PARTS: readonly AvrPart[] = [
  { id: 'm328p', name: 'ATmega328P', signature: [0x1e, 0x95, 0x0f], flashSize: 32768, flashPageSize: 128, eepromSize: 1024, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Arduino Uno', 'Arduino Nano', 'Arduino Pro Mini'] },
  { id: 'm328', name: 'ATmega328', signature: [0x1e, 0x95, 0x14], flashSize: 32768, flashPageSize: 128, eepromSize: 1024, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: [] },
  { id: 'm328pb', name: 'ATmega328PB', signature: [0x1e, 0x95, 0x16], flashSize: 32768, flashPageSize: 128, eepromSize: 1024, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: [] },
  { id: 'm168p', name: 'ATmega168P', signature: [0x1e, 0x94, 0x0b], flashSize: 16384, flashPageSize: 128, eepromSize: 512, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: [] },
  { id: 'm168', name: 'ATmega168', signature: [0x1e, 0x94, 0x06], flashSize: 16384, flashPageSize: 128, eepromSize: 512, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Arduino Diecimila', 'Arduino Nano (ATmega168)'] },
  { id: 'm88p', name: 'ATmega88P', signature: [0x1e, 0x93, 0x0f], flashSize: 8192, flashPageSize: 64, eepromSize: 512, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: [] },
  { id: 'm8', name: 'ATmega8', signature: [0x1e, 0x93, 0x07], flashSize: 8192, flashPageSize: 64, eepromSize: 512, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Arduino NG (ATmega8)'] },
  { id: 'm644p', name: 'ATmega644P', signature: [0x1e, 0x96, 0x0a], flashSize: 65536, flashPageSize: 256, eepromSize: 2048, eepromPageSize: 8, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Sanguino'] },
  { id: 'm1284p', name: 'ATmega1284P', signature: [0x1e, 0x97, 0x05], flashSize: 131072, flashPageSize: 256, eepromSize: 4096, eepromPageSize: 8, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['MightyCore ATmega1284P'] },
  { id: 'm1280', name: 'ATmega1280', signature: [0x1e, 0x97, 0x03], flashSize: 131072, flashPageSize: 256, eepromSize: 4096, eepromPageSize: 8, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Arduino Mega (ATmega1280)'] },
  { id: 'm2560', name: 'ATmega2560', signature: [0x1e, 0x98, 0x01], flashSize: 262144, flashPageSize: 256, eepromSize: 4096, eepromPageSize: 8, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Arduino Mega 2560'] },
  { id: 'm32u4', name: 'ATmega32U4', signature: [0x1e, 0x95, 0x87], flashSize: 32768, flashPageSize: 128, eepromSize: 1024, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Arduino Leonardo', 'Arduino Micro'] },
  { id: 't85', name: 'ATtiny85', signature: [0x1e, 0x93, 0x0b], flashSize: 8192, flashPageSize: 64, eepromSize: 512, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: ['Digispark-class ATtiny85'] },
  { id: 't84', name: 'ATtiny84', signature: [0x1e, 0x93, 0x0c], flashSize: 8192, flashPageSize: 64, eepromSize: 512, eepromPageSize: 4, flashPageWriteMs: CLASSIC_PAGE_MS, boards: [] },
];

export function findAvrPart(id: string): AvrPart | undefined {
  const key = id.toLowerCase();
  return AVR_PARTS.find((p) => p.id === key || p.name.toLowerCase() === key);
}

export function findAvrPartBySignature(sig: ArrayLike<number>): AvrPart | undefined {
  return AVR_PARTS.find((p) => p.signature.every((b, i) => b === sig[i]));
}

export function signatureHex(sig: ArrayLike<number>): string {
  return Array.from(sig, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The part a bootloader reported, checked against the user's choice before anything is written:
 * an unknown choice, a signature that differs from it, or a signature nobody knows each refuse.
 */
export function resolveAvrPart(signature: ArrayLike<number>, targetId: string | undefined): AvrPart {
  const found = findAvrPartBySignature(signature);
  const wanted = targetId ? findAvrPart(targetId) : undefined;
  if (targetId && !wanted) {
    throw new FlashError('not-found', `Unknown part "${targetId}".`, {
      hint: 'Use one of the parts listed by the driver (for example m328p for an Uno, m2560 for a Mega 2560).',
    });
  }
  const sigHex = signatureHex(signature);
  if (wanted && signatureHex(wanted.signature) !== sigHex) {
    throw new FlashError(
      'wrong-target',
      `The board reports ${found ? found.name : 'an unknown chip'} (signature ${sigHex}), but ${wanted.name} was selected.`,
      {
        hint: found
          ? `Select ${found.name} as the part, or connect the board you meant to flash.`
          : 'Check the wiring and the selected board; nothing was written.',
        details: { expected: signatureHex(wanted.signature), actual: sigHex },
      },
    );
  }
  if (!found) {
    throw new FlashError('wrong-target', `The board reports a chip webprog does not know (signature ${sigHex}).`, {
      details: { actual: sigHex },
    });
  }
  return found;
}
