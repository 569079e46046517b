import { badImage, offsetText } from './ascii';
import { splitAvrAddress } from './flat-address';
import { createImage, hex, type FirmwareImage, type Segment } from './memory-image';

/** ELF identification and header constants, System V gABI (ELF-64 Object File Format 1.5; TIS ELF 1.2 ch. 1). */
export const ELF = {
  MAGIC: [0x7f, 0x45, 0x4c, 0x46], // "\x7fELF"
  EI_CLASS: 4,
  EI_DATA: 5,
  ELFCLASS32: 1,
  ELFCLASS64: 2,
  ELFDATA2LSB: 1,
  ELFDATA2MSB: 2,
  ET_REL: 1,
  PT_LOAD: 1,
  /** e_phnum value meaning "the real count is in section header 0's sh_info" (gABI, Extended Program Header Numbering). */
  PN_XNUM: 0xffff,
  EM_AVR: 83,
} as const;

/** e_machine values worth naming in a summary (gABI e_machine table). */
const MACHINES: Record<number, string> = {
  3: 'x86',
  8: 'MIPS',
  20: 'PowerPC',
  40: 'ARM',
  62: 'x86-64',
  83: 'AVR',
  94: 'Xtensa',
  105: 'MSP430',
  183: 'AArch64',
  243: 'RISC-V',
};

const FORMAT = 'ELF';

/**
 * Reads the bytes an ELF file asks to be loaded: every PT_LOAD segment's file bytes at its physical
 * (load) address, as objcopy -O binary/ihex does. Zero-fill beyond p_filesz (.bss, NOBITS) is not
 * programmed. For AVR (e_machine 83), avr-gcc's flat address windows become named memories
 * (EEPROM at 0x810000, fuses 0x820000, lock 0x830000, signature 0x840000).
 */
export function parseElf(bytes: Uint8Array): FirmwareImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (offset: number, message: string) => badImage(FORMAT, offsetText(offset), message, { offset });
  if (bytes.length < 16 || ELF.MAGIC.some((m, i) => bytes[i] !== m)) throw fail(0, 'expected the ELF magic 7F 45 4C 46.');
  const cls = bytes[ELF.EI_CLASS];
  const data = bytes[ELF.EI_DATA];
  if (cls !== ELF.ELFCLASS32 && cls !== ELF.ELFCLASS64) throw fail(ELF.EI_CLASS, `EI_CLASS is ${cls}; expected 1 (32-bit) or 2 (64-bit).`);
  if (data !== ELF.ELFDATA2LSB && data !== ELF.ELFDATA2MSB) throw fail(ELF.EI_DATA, `EI_DATA is ${data}; expected 1 (little-endian) or 2 (big-endian).`);
  const is64 = cls === ELF.ELFCLASS64;
  const le = data === ELF.ELFDATA2LSB;
  const headerSize = is64 ? 64 : 52;
  if (bytes.length < headerSize) throw fail(bytes.length, `the file ends inside the ${headerSize}-byte ELF header.`);

  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  /** A 64-bit field as a number; addresses past 2^53 cannot be programmed by anything we drive. */
  const u64 = (at: number, what: string) => {
    const v = view.getBigUint64(at, le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(at, `${what} ${v.toString(16)} is beyond 2^53.`);
    return Number(v);
  };
  const word = (at: number, what: string) => (is64 ? u64(at, what) : u32(at));

  const type = u16(16);
  const machine = u16(18);
  const entry = word(24, 'e_entry');
  const phoff = word(is64 ? 32 : 28, 'e_phoff');
  const shoff = word(is64 ? 40 : 32, 'e_shoff');
  const phentsize = u16(is64 ? 54 : 42);
  let phnum = u16(is64 ? 56 : 44);
  if (phnum === ELF.PN_XNUM) {
    const shInfo = shoff + (is64 ? 44 : 28);
    if (shoff === 0 || shInfo + 4 > bytes.length) throw fail(is64 ? 56 : 44, 'e_phnum is PN_XNUM but section header 0 is missing.');
    phnum = u32(shInfo);
  }
  if (phnum === 0) {
    const why = type === ELF.ET_REL ? ' It is an object file (ET_REL): link it into an executable first.' : '';
    throw fail(is64 ? 56 : 44, `the file has no program headers, so nothing says what to load.${why}`);
  }
  const minEntSize = is64 ? 56 : 32;
  if (phentsize < minEntSize) throw fail(is64 ? 54 : 42, `e_phentsize is ${phentsize}; expected at least ${minEntSize}.`);
  if (phoff + phnum * phentsize > bytes.length) {
    throw fail(phoff, `the ${phnum} program headers of ${phentsize} bytes run past the end of the file (${bytes.length} bytes).`);
  }

  const avr = machine === ELF.EM_AVR;
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (u32(ph) !== ELF.PT_LOAD) continue;
    const offset = word(ph + (is64 ? 8 : 4), 'p_offset');
    const paddr = word(ph + (is64 ? 24 : 12), 'p_paddr');
    const filesz = word(ph + (is64 ? 32 : 16), 'p_filesz');
    if (filesz === 0) continue; // all NOBITS (.bss, .noinit): nothing to program
    if (offset + filesz > bytes.length) {
      throw fail(ph, `program header ${i} loads ${filesz} bytes from file offset ${hex(offset)}, past the end of the file (${bytes.length} bytes).`);
    }
    const origin = `program header ${i}`;
    const content = bytes.slice(offset, offset + filesz);
    if (avr) segments.push(...avrSegments(paddr, content, origin));
    else segments.push({ memory: 'flash', address: paddr, data: content, origin });
  }
  const image = createImage('elf', segments, entry);
  image.meta = {
    class: is64 ? 'ELF64' : 'ELF32',
    endian: le ? 'little' : 'big',
    machine: MACHINES[machine] ?? `e_machine ${machine}`,
  };
  return image;
}

/** Splits an AVR load at avr-gcc's 64 KiB memory windows (a segment may, in theory, straddle two). */
function avrSegments(flat: number, data: Uint8Array, origin: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  while (at < data.length) {
    const { memory, address } = splitAvrAddress(flat + at);
    // Flash runs up to the SRAM window; every other memory is one 64 KiB window; above them all, no limit.
    const here = flat + at;
    const windowEnd = memory !== 'flash' ? 0x10000 - address : here < 0x800000 ? 0x800000 - here : Infinity;
    const take = Math.min(data.length - at, windowEnd);
    out.push({ memory, address, data: data.subarray(at, at + take), origin });
    at += take;
  }
  return out;
}
