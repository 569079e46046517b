import type { DeviceChoice } from './state/catalog.svelte';

/*
 * The board picker's list: choices grouped by the family people know them by (Arduino, ESP, STM32,
 * SPI flash…), filtered by what was typed. SPI-flash part numbers (hundreds) stay folded behind one
 * "SPI flash chip" row until the user opens that family or types a part number, so a newcomer sees
 * a short list of boards first.
 */

export interface BoardFamily {
  id: string;
  label: string;
  /** A family of many interchangeable parts, folded behind one row until opened or searched. */
  folded: boolean;
}

const FAMILIES: readonly BoardFamily[] = [
  { id: 'arduino', label: 'Arduino and AVR', folded: false },
  { id: 'esp', label: 'ESP32 and ESP8266', folded: false },
  { id: 'stm32', label: 'STM32', folded: false },
  { id: 'spi-flash', label: 'SPI flash chip', folded: true },
  { id: 'other', label: 'Other', folded: false },
];

/** The family a choice belongs to: by protocol, and for USB DFU by the part it names. */
export function familyOf(choice: Pick<DeviceChoice, 'driverId' | 'targetName'>): BoardFamily {
  const id = (() => {
    switch (choice.driverId) {
      case 'stk500v1':
        return 'arduino';
      case 'esp-rom':
        return 'esp';
      case 'stm32-usart':
        return 'stm32';
      case 'serprog':
        return 'spi-flash';
      default:
        return /^STM32/i.test(choice.targetName) ? 'stm32' : 'other';
    }
  })();
  return FAMILIES.find((f) => f.id === id)!;
}

/** The chosen board as the picker's field shows it (the text the old <option>s had). */
export function choiceTitle(c: DeviceChoice): string {
  return c.board ? `${c.label} — ${c.targetName}` : c.label;
}

/** How a choice reads in the list: the board, then what it is and how it is reached. */
export function choiceText(c: DeviceChoice): { name: string; detail: string } {
  const via = c.link === 'usb' ? 'USB DFU' : shortProtocol(c.driverId);
  if (c.board) return { name: c.board, detail: `${c.targetName} · ${via}` };
  return { name: c.targetId === undefined ? c.label : c.targetName, detail: c.targetId === undefined ? via : `any board · ${via}` };
}

function shortProtocol(driverId: string): string {
  switch (driverId) {
    case 'stk500v1':
      return 'serial bootloader';
    case 'esp-rom':
      return 'ROM loader';
    case 'stm32-usart':
      return 'UART bootloader';
    case 'serprog':
      return 'serprog programmer';
    default:
      return driverId;
  }
}

export type PickerRow =
  | { kind: 'choice'; choice: DeviceChoice; family: BoardFamily }
  /** Opens a folded family: "SPI flash chip — 382 parts". */
  | { kind: 'family'; family: BoardFamily; count: number };

export interface PickerGroup {
  family: BoardFamily;
  rows: PickerRow[];
  /** Matching choices not listed (a long search result is cut; typing more narrows it). */
  hidden: number;
}

/** At most this many rows of one family are drawn for a search; the rest are counted. */
export const MAX_ROWS_PER_FAMILY = 60;

/** Lower-cased words of everything a user might type for a choice. */
function haystack(c: DeviceChoice, family: BoardFamily): string {
  return `${c.label} ${c.board ?? ''} ${c.targetName} ${c.targetId ?? ''} ${c.driverLabel} ${family.label}`.toLowerCase();
}

/**
 * The groups to draw for `query` (every word must match somewhere), with folded families shown as one
 * row unless `open` names them or the query matches their parts.
 */
export function pickerGroups(choices: DeviceChoice[], query: string, open: string | null = null): PickerGroup[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map<string, PickerGroup & { all: DeviceChoice[] }>();
  for (const family of FAMILIES) groups.set(family.id, { family, rows: [], hidden: 0, all: [] });
  for (const c of choices) {
    const family = familyOf(c);
    if (open !== null && family.id !== open) continue;
    if (words.length > 0) {
      const text = haystack(c, family);
      if (!words.every((w) => text.includes(w))) continue;
    }
    groups.get(family.id)!.all.push(c);
  }
  const out: PickerGroup[] = [];
  for (const g of groups.values()) {
    if (g.all.length === 0) continue;
    if (g.family.folded && words.length === 0 && open !== g.family.id) {
      out.push({ family: g.family, rows: [{ kind: 'family', family: g.family, count: g.all.length }], hidden: 0 });
      continue;
    }
    // The unfiltered list and an opened family are listed whole; a search is cut so the list stays short.
    const shown = words.length === 0 || open === g.family.id ? g.all : g.all.slice(0, MAX_ROWS_PER_FAMILY);
    out.push({ family: g.family, rows: shown.map((choice) => ({ kind: 'choice', choice, family: g.family })), hidden: g.all.length - shown.length });
  }
  return out;
}
