import { badImage, cannotWrite, offsetText } from './ascii';
import { flatSegments } from './flat-address';
import { createImage, DEFAULT_MEMORY, hex, type FirmwareImage, type Segment } from './memory-image';

/** Block layout and flags, microsoft/uf2 README "File format" and uf2.h. */
export const UF2 = {
  BLOCK_SIZE: 512,
  MAGIC_START0: 0x0a324655, // "UF2\n"
  MAGIC_START1: 0x9e5d5157,
  MAGIC_END: 0x0ab16f30,
  MAX_PAYLOAD: 476,
  FLAG_NOT_MAIN_FLASH: 0x00000001,
  FLAG_FILE_CONTAINER: 0x00001000,
  FLAG_FAMILY_ID_PRESENT: 0x00002000,
  FLAG_MD5_PRESENT: 0x00004000,
  FLAG_EXTENSION_TAGS_PRESENT: 0x00008000,
} as const;

/** Family IDs, microsoft/uf2 utils/uf2families.json. */
export const UF2_FAMILY = {
  RP2040: 0xe48bff56,
  RP2XXX_ABSOLUTE: 0xe48bff57,
  RP2XXX_DATA: 0xe48bff58,
  RP2350_ARM_S: 0xe48bff59,
  RP2350_RISCV: 0xe48bff5a,
  RP2350_ARM_NS: 0xe48bff5b,
  SAMD21: 0x68ed2b88,
  SAMD51: 0x55114460,
  NRF52840: 0xada52840,
  STM32F0: 0x647824b6,
  STM32F1: 0x5ee21072,
  STM32F4: 0x57755a57,
  STM32G0: 0x300f5633,
  ESP32: 0x1c5f21b0,
  ESP32S2: 0xbfdd4eee,
  ESP32S3: 0xc47e5767,
  ESP32C3: 0xd42ba06c,
  ESP32C6: 0x540ddf62,
  ESP8266: 0x7eab61ed,
  ATMEGA32: 0x16573617,
  CH32V2_V3: 0x699b62ec,
} as const;

const FORMAT = 'UF2';
const PAGE = 256; // payload per block that every UF2 bootloader accepts (RP2040 accepts only this)

export function familyName(id: number): string {
  for (const [name, value] of Object.entries(UF2_FAMILY)) if (value === id) return name;
  return hex(id, 8);
}

/** Memory name for one family's blocks when a file carries several families. */
export function familyMemory(id: number): string {
  return `family:${hex(id, 8)}`;
}

export interface Uf2ReadOptions {
  /** Keep only blocks of this family (blocks without a family ID are kept too). */
  familyId?: number;
}

/**
 * Reads the main-flash blocks of a UF2 file. Blocks flagged not-main-flash or file-container are skipped.
 * With one family (or a `familyId` filter) the data is in 'flash'; a file that concatenates several
 * families keeps each in its own memory 'family:0x…' so the caller picks the one its target runs.
 *
 * Checks: every block's three magic numbers, payload size, and that each run of blocks counts
 * 0..numBlocks-1 without gaps, so a truncated file is rejected, not half-flashed.
 */
export function parseUf2(bytes: Uint8Array, opts: Uf2ReadOptions = {}): FirmwareImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  const fail = (offset: number, message: string, details: Record<string, number> = {}) =>
    badImage(FORMAT, offsetText(offset), message, { offset, ...details });
  if (bytes.length === 0) throw fail(0, 'the file is empty; expected 512-byte blocks.');
  if (bytes.length % UF2.BLOCK_SIZE !== 0) {
    const last = bytes.length - (bytes.length % UF2.BLOCK_SIZE);
    throw fail(last, `the file is ${bytes.length} bytes, not a whole number of 512-byte blocks: the last block is cut short.`);
  }

  const byFamily = new Map<number | undefined, Segment[]>();
  let expectNo = 0; // next blockNo in the current run
  let runTotal = 0; // numBlocks the current run declared
  for (let at = 0; at < bytes.length; at += UF2.BLOCK_SIZE) {
    const block = at / UF2.BLOCK_SIZE;
    const magic = (o: number, want: number, name: string) => {
      if (u32(at + o) !== want) throw fail(at + o, `block ${block}: ${name} is ${hex(u32(at + o), 8)}, expected ${hex(want, 8)}.`);
    };
    magic(0, UF2.MAGIC_START0, 'magicStart0');
    magic(4, UF2.MAGIC_START1, 'magicStart1');
    magic(508, UF2.MAGIC_END, 'magicEnd');
    const flags = u32(at + 8);
    const targetAddr = u32(at + 12);
    const payloadSize = u32(at + 16);
    const blockNo = u32(at + 20);
    const numBlocks = u32(at + 24);
    const familyOrSize = u32(at + 28);
    if (payloadSize > UF2.MAX_PAYLOAD) throw fail(at + 16, `block ${block}: payloadSize is ${payloadSize}; at most ${UF2.MAX_PAYLOAD}.`);

    if (expectNo === runTotal) {
      // A new run (the file itself, or the next of several concatenated files) starts at block 0.
      if (blockNo !== 0 || numBlocks === 0) {
        throw fail(at + 20, `block ${block}: blockNo ${blockNo} of ${numBlocks}; expected block 0 to start a file.`);
      }
      expectNo = 0;
      runTotal = numBlocks;
    }
    if (blockNo !== expectNo || numBlocks !== runTotal) {
      throw fail(at + 20, `block ${block}: blockNo ${blockNo} of ${numBlocks}; expected block ${expectNo} of ${runTotal}.`, {
        expected: expectNo,
        actual: blockNo,
      });
    }
    expectNo++;

    if (flags & (UF2.FLAG_NOT_MAIN_FLASH | UF2.FLAG_FILE_CONTAINER)) continue;
    const family = flags & UF2.FLAG_FAMILY_ID_PRESENT ? familyOrSize : undefined;
    if (opts.familyId !== undefined && family !== undefined && family !== opts.familyId) continue;
    if (payloadSize === 0) continue;
    const list = byFamily.get(family) ?? [];
    list.push({ memory: DEFAULT_MEMORY, address: targetAddr, data: bytes.slice(at + 32, at + 32 + payloadSize), origin: `block ${block}` });
    byFamily.set(family, list);
  }
  if (expectNo !== runTotal) {
    throw fail(bytes.length, `the file ends after block ${expectNo - 1} of a run declaring ${runTotal} blocks: it is cut short.`, {
      expected: runTotal,
      actual: expectNo,
    });
  }

  const families = [...byFamily.keys()].filter((f): f is number => f !== undefined);
  const several = families.length > 1;
  const segments: Segment[] = [];
  for (const [family, list] of byFamily) {
    const memory = several && family !== undefined ? familyMemory(family) : DEFAULT_MEMORY;
    for (const s of list) segments.push({ ...s, memory });
  }
  const image = createImage('uf2', segments);
  if (families.length === 1) image.meta = { familyId: families[0]!, family: familyName(families[0]!) };
  else if (several) image.meta = { families: families.map(familyName).join(',') };
  return image;
}

export interface Uf2WriteOptions {
  /** Family ID for every block; default: the image's own (meta.familyId), else none. */
  familyId?: number;
  /** Byte for the unused part of a 256-byte page; 0xFF unless told. */
  fill?: number;
  /** Write only this memory. */
  memory?: string;
}

/**
 * Writes 256-byte page-aligned blocks, as uf2conv and picotool do. Memories named 'family:0x…' (from a
 * multi-family file) keep their own family ID.
 */
export function writeUf2(image: FirmwareImage, opts: Uf2WriteOptions = {}): Uint8Array {
  const fill = opts.fill ?? 0xff;
  const ownFamily = typeof image.meta?.familyId === 'number' ? image.meta.familyId : undefined;
  const defaultFamily = opts.familyId ?? ownFamily;

  // One page list per family; each family becomes its own run of blocks, as concatenated files are.
  const groups: { family: number | undefined; pages: Map<number, Uint8Array> }[] = [];
  const familyMemories = new Set(image.segments.map((s) => s.memory).filter((m) => /^family:0x[0-9A-F]{8}$/i.test(m)));
  const addPages = (family: number | undefined, segments: Segment[]) => {
    const pages = new Map<number, Uint8Array>();
    for (const seg of segments) {
      for (let addr = seg.address; addr < seg.address + seg.data.length; ) {
        const pageAddr = addr - (addr % PAGE);
        if (pageAddr + PAGE > 0x1_0000_0000) throw cannotWrite(FORMAT, `cannot address ${hex(addr, 8)} (above 4 GiB).`);
        let page = pages.get(pageAddr);
        if (!page) pages.set(pageAddr, (page = new Uint8Array(PAGE).fill(fill)));
        const take = Math.min(pageAddr + PAGE, seg.address + seg.data.length) - addr;
        page.set(seg.data.subarray(addr - seg.address, addr - seg.address + take), addr - pageAddr);
        addr += take;
      }
    }
    groups.push({ family, pages });
  };
  if (opts.memory === undefined && familyMemories.size > 0) {
    for (const m of familyMemories) addPages(Number(m.slice('family:'.length)), image.segments.filter((s) => s.memory === m));
    const rest = image.segments.filter((s) => !familyMemories.has(s.memory));
    if (rest.length > 0) addPages(defaultFamily, flatSegments({ ...image, segments: rest }));
  } else {
    addPages(defaultFamily, flatSegments(image, opts.memory));
  }

  const total = groups.reduce((t, g) => t + g.pages.size, 0);
  const out = new Uint8Array(total * UF2.BLOCK_SIZE);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const { family, pages } of groups) {
    const addrs = [...pages.keys()].sort((a, b) => a - b);
    addrs.forEach((addr, blockNo) => {
      view.setUint32(at, UF2.MAGIC_START0, true);
      view.setUint32(at + 4, UF2.MAGIC_START1, true);
      view.setUint32(at + 8, family === undefined ? 0 : UF2.FLAG_FAMILY_ID_PRESENT, true);
      view.setUint32(at + 12, addr, true);
      view.setUint32(at + 16, PAGE, true);
      view.setUint32(at + 20, blockNo, true);
      view.setUint32(at + 24, addrs.length, true);
      view.setUint32(at + 28, family ?? 0, true); // fileSize 0 when there is no family: unknown, as uf2conv writes
      out.set(pages.get(addr)!, at + 32);
      view.setUint32(at + 508, UF2.MAGIC_END, true);
      at += UF2.BLOCK_SIZE;
    });
  }
  return out;
}
