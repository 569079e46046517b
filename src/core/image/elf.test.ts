import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { buildElf } from '../../../tests/support/image-fixtures';
import { parseElf } from './elf';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('parseElf', () => {
  it.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])('loads PT_LOAD segments by physical address (64-bit %s, big-endian %s)', (is64, bigEndian) => {
    const elf = buildElf({
      is64,
      bigEndian,
      entry: 0x08000101,
      loads: [
        { paddr: 0x08000000, data: bytes(1, 2, 3, 4) },
        // .data: runs from RAM, loaded from flash right after .text, with .bss behind it
        { paddr: 0x08000004, vaddr: 0x20000000, data: bytes(5, 6), bss: 100 },
        { paddr: 0x20000100, data: new Uint8Array(0), bss: 64 }, // all NOBITS: nothing to program
        { type: 4, paddr: 0x30000000, data: bytes(9) }, // PT_NOTE: not loaded
      ],
    });
    const img = parseElf(elf);
    expect(img.segments).toEqual([{ memory: 'flash', address: 0x08000000, data: bytes(1, 2, 3, 4, 5, 6) }]);
    expect(img.entry).toBe(0x08000101);
    expect(img.meta).toMatchObject({ class: is64 ? 'ELF64' : 'ELF32', endian: bigEndian ? 'big' : 'little', machine: 'ARM' });
  });

  it('puts AVR EEPROM, fuses, lock and signature in their own memories', () => {
    const img = parseElf(
      buildElf({
        machine: 83,
        loads: [
          { paddr: 0, data: bytes(0x0c, 0x94) },
          { paddr: 0x810000, data: bytes(0xee, 0xe1) },
          { paddr: 0x820000, data: bytes(0xff, 0xde, 0xfd) },
          { paddr: 0x830000, data: bytes(0xcf) },
          { paddr: 0x840000, data: bytes(0x1e, 0x95, 0x0f) },
        ],
      }),
    );
    expect(img.segments.map((s) => [s.memory, s.address, [...s.data]])).toEqual([
      ['eeprom', 0, [0xee, 0xe1]],
      ['flash', 0, [0x0c, 0x94]],
      ['fuse', 0, [0xff, 0xde, 0xfd]],
      ['lock', 0, [0xcf]],
      ['signature', 0, [0x1e, 0x95, 0x0f]],
    ]);
  });

  it('keeps 0x810000 as flash on other machines', () => {
    expect(parseElf(buildElf({ loads: [{ paddr: 0x810000, data: bytes(1) }] })).segments[0]!.memory).toBe('flash');
  });

  const rejects = (elf: Uint8Array): FlashError => {
    try {
      parseElf(elf);
    } catch (e) {
      expect(e).toBeInstanceOf(FlashError);
      return e as FlashError;
    }
    throw new Error('expected the file to be rejected');
  };

  it('rejects with the byte offset and what was expected', () => {
    const good = buildElf({ loads: [{ paddr: 0, data: bytes(1, 2, 3) }] });
    expect(rejects(bytes(0x7f, 0x45, 0x4c, 0x47)).message).toMatch(/offset 0x0: expected the ELF magic/);
    expect(rejects(good.slice(0, 40)).message).toMatch(/ends inside the 52-byte ELF header/);
    expect(rejects(good.slice(0, 60)).message).toMatch(/offset 0x34: the 1 program headers of 32 bytes run past the end/);
    expect(rejects(good.slice(0, good.length - 1)).message).toMatch(/program header 0 loads 3 bytes from file offset 0x0054, past the end/);
    expect(rejects(buildElf({ type: 1, loads: [] })).message).toMatch(/no program headers.*ET_REL/);
    const badClass = good.slice();
    badClass[4] = 3;
    expect(rejects(badClass).message).toMatch(/offset 0x4: EI_CLASS is 3/);
  });

  it('rejects overlapping segments that disagree, naming both program headers', () => {
    const elf = buildElf({ loads: [{ paddr: 0, data: bytes(1, 2) }, { paddr: 1, data: bytes(3) }] });
    expect(rejects(elf).message).toMatch(/0x02 \(program header 0\) and 0x03 \(program header 1\)/);
  });
});
