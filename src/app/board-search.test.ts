import { describe, expect, it } from 'vitest';
import { DRIVERS } from '../drivers/registry';
import { MAX_ROWS_PER_FAMILY, familyOf, pickerGroups } from './board-search';
import { deviceChoices } from './state/catalog.svelte';

// The real registry's metadata, as the worker lists it to the page.
const choices = deviceChoices(DRIVERS.map((d) => d.meta));

describe('board picker groups', () => {
  it('lists every family once, with the SPI-flash parts folded behind one row', () => {
    const groups = pickerGroups(choices, '');
    expect(groups.map((g) => g.family.label)).toEqual(['Arduino and AVR', 'ESP32 and ESP8266', 'STM32', 'SPI flash chip', 'Other']);
    const spi = groups.find((g) => g.family.id === 'spi-flash')!;
    expect(spi.rows).toEqual([{ kind: 'family', family: spi.family, count: choices.filter((c) => c.driverId === 'serprog').length }]);
    // Every other choice is listed exactly once.
    const listed = groups.flatMap((g) => g.rows).filter((r) => r.kind === 'choice');
    expect(listed.length).toBe(choices.filter((c) => c.driverId !== 'serprog').length);
  });

  it('puts STM32 parts reached over USB DFU beside the UART ones', () => {
    const dfuF4 = choices.find((c) => c.driverId === 'usb-dfu' && c.targetName.startsWith('STM32'))!;
    expect(familyOf(dfuF4).id).toBe('stm32');
    expect(familyOf({ driverId: 'usb-dfu', targetName: 'Generic USB DFU 1.1 device' }).id).toBe('other');
  });

  it('matches every typed word, across families, and cuts long results', () => {
    const blue = pickerGroups(choices, 'blue PILL').flatMap((g) => g.rows);
    expect(blue.map((r) => r.kind === 'choice' && r.choice.label)).toEqual(['Blue Pill']);
    const winbond = pickerGroups(choices, 'winbond');
    expect(winbond.map((g) => g.family.id)).toEqual(['spi-flash']);
    expect(winbond[0]!.rows.length).toBe(MAX_ROWS_PER_FAMILY);
    expect(winbond[0]!.hidden).toBeGreaterThan(0);
    expect(pickerGroups(choices, 'no such board')).toEqual([]);
  });

  it('lists an opened family whole', () => {
    const opened = pickerGroups(choices, '', 'spi-flash');
    expect(opened.length).toBe(1);
    expect(opened[0]!.rows.length).toBe(choices.filter((c) => c.driverId === 'serprog').length);
    expect(opened[0]!.hidden).toBe(0);
  });
});
