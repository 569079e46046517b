import { buildEspImage } from '../../src/core/image/esp-image-build';
import { concatBytes } from '../../src/core/bytes/concat';

/**
 * Hand-built firmware files for tests and the fuzzer, written field by field from the format
 * descriptions and not with the writers under test.
 */

export { buildEspImage, concatBytes as concat };

export interface ElfLoad {
  type?: number; // PT_LOAD unless told
  paddr: number;
  vaddr?: number;
  data: Uint8Array;
  /** Bytes of zero-fill after the file data (.bss). */
  bss?: number;
}

/** A minimal executable ELF: header, program headers, then each segment's bytes. */
export function buildElf(opts: { is64?: boolean; bigEndian?: boolean; machine?: number; entry?: number; type?: number; loads: ElfLoad[] }): Uint8Array {
  const is64 = opts.is64 ?? false;
  const le = !(opts.bigEndian ?? false);
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phoff = ehsize;
  let dataAt = phoff + phentsize * opts.loads.length;
  const size = dataAt + opts.loads.reduce((t, l) => t + l.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const word = (at: number, n: number) => (is64 ? v.setBigUint64(at, BigInt(n), le) : v.setUint32(at, n, le));
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  v.setUint16(16, opts.type ?? 2, le); // ET_EXEC
  v.setUint16(18, opts.machine ?? 40, le); // EM_ARM
  v.setUint32(20, 1, le);
  word(24, opts.entry ?? 0);
  word(is64 ? 32 : 28, opts.loads.length ? phoff : 0);
  v.setUint16(is64 ? 52 : 40, ehsize, le);
  v.setUint16(is64 ? 54 : 42, phentsize, le);
  v.setUint16(is64 ? 56 : 44, opts.loads.length, le);
  opts.loads.forEach((l, i) => {
    const ph = phoff + i * phentsize;
    v.setUint32(ph, l.type ?? 1, le);
    if (is64) {
      v.setUint32(ph + 4, 5, le);
      word(ph + 8, dataAt);
      word(ph + 16, l.vaddr ?? l.paddr);
      word(ph + 24, l.paddr);
      word(ph + 32, l.data.length);
      word(ph + 40, l.data.length + (l.bss ?? 0));
    } else {
      word(ph + 4, dataAt);
      word(ph + 8, l.vaddr ?? l.paddr);
      word(ph + 12, l.paddr);
      word(ph + 16, l.data.length);
      word(ph + 20, l.data.length + (l.bss ?? 0));
      v.setUint32(ph + 24, 5, le);
    }
    out.set(l.data, dataAt);
    dataAt += l.data.length;
  });
  return out;
}


/** One raw 512-byte UF2 block. */
export function buildUf2Block(b: {
  flags?: number;
  address: number;
  data: Uint8Array;
  blockNo: number;
  numBlocks: number;
  familyOrSize?: number;
}): Uint8Array {
  const out = new Uint8Array(512);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x0a324655, true);
  v.setUint32(4, 0x9e5d5157, true);
  v.setUint32(8, b.flags ?? 0, true);
  v.setUint32(12, b.address, true);
  v.setUint32(16, b.data.length, true);
  v.setUint32(20, b.blockNo, true);
  v.setUint32(24, b.numBlocks, true);
  v.setUint32(28, b.familyOrSize ?? 0, true);
  out.set(b.data, 32);
  v.setUint32(508, 0x0ab16f30, true);
  return out;
}


/**
 * An ESP-IDF image of one kind: an application carries esp_app_desc_t (magic 0xABCD5432) at the start of
 * its first segment, a bootloader esp_bootloader_desc_t (magic byte 0x50); `bodyBytes` pads it to a size.
 */
export function buildEspKind(kind: 'app' | 'bootloader', chipId: number | null, bodyBytes = 256): Uint8Array {
  const desc = new Uint8Array(Math.max(bodyBytes, 8));
  if (kind === 'app') new DataView(desc.buffer).setUint32(0, 0xabcd5432, true);
  else desc[0] = 0x50;
  for (let i = 8; i < desc.length; i++) desc[i] = (i * 7) & 0xff;
  return buildEspImage({ chipId, segments: [{ address: kind === 'app' ? 0x3f400020 : 0x3fff0000, data: desc }] });
}

/** An ESP-IDF partition table binary: 32-byte entries (magic AA 50), then 0xFF to the end of its 0xC00 bytes. */
export function buildPartitionTable(entries: { label: string; type: number; subtype: number; offset: number; size: number }[]): Uint8Array {
  const out = new Uint8Array(0xc00).fill(0xff);
  const v = new DataView(out.buffer);
  entries.forEach((e, i) => {
    const at = i * 32;
    out.set([0xaa, 0x50, e.type, e.subtype], at);
    v.setUint32(at + 4, e.offset, true);
    v.setUint32(at + 8, e.size, true);
    out.fill(0, at + 12, at + 28);
    out.set([...e.label].map((c) => c.charCodeAt(0)), at + 12);
    v.setUint32(at + 28, 0, true);
  });
  return out;
}
