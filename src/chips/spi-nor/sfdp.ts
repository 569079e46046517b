import { jedecHex } from './index';
import { MiB, type Addressing, type EraseType, type SpiNorChip } from './types';

/*
 * Serial Flash Discoverable Parameters (JEDEC JESD216, revisions up to D): what a part says about
 * itself when it is not in the table. Field positions as in JESD216B section 6:
 * - 6.2 SFDP header at 0: "SFDP" signature (50444653h little-endian), minor, major, NPH (headers - 1);
 * - 6.3 parameter headers from 8, 8 bytes each: ID LSB, minor, major, length in DWORDs, 24-bit
 *   pointer, ID MSB. FF00h = Basic Flash Parameter Table, FF84h = 4-byte Address Instruction Table;
 * - 6.4 BFPT DWORDs 1, 2, 8-11 (uniform 4 KiB erase, address bytes, density, erase types, erase,
 *   program and chip-erase times, page size);
 * - 6.6 4BAIT DWORD 1 (which 4-byte opcodes exist) and DWORD 2 (the erase types' 4-byte opcodes).
 * `encodeSfdp` writes the same fields for the simulator, so parser and encoder are checked against
 * each other and against flashrom's reading of the simulated part.
 */

export const SFDP_SIGNATURE = 0x50444653;
export const BFPT_ID = 0xff00;
export const FOUR_BAIT_ID = 0xff84;

export interface SfdpInfo {
  revision: { major: number; minor: number };
  size: number;
  pageSize: number;
  addressBytes: '3' | '3or4' | '4';
  /** Erase types with a size and opcode, smallest first, with times when DWORD 10 exists. */
  erase: { size: number; opcode: number; typMs?: number; maxMs?: number; opcode4b?: number }[];
  program?: { typMs: number; maxMs: number };
  chipEraseTypMs?: number;
  /** From the 4BAIT: native READ4B / PP4B. */
  read4b: boolean;
  pp4b: boolean;
}

const u32 = (b: Uint8Array, at: number) => ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;

/**
 * Reads and parses the SFDP tables through `read(address, length)` (RDSFDP). Returns null when the
 * part has no valid SFDP signature or no Basic Flash Parameter Table.
 */
export async function readSfdp(read: (address: number, length: number) => Promise<Uint8Array>): Promise<SfdpInfo | null> {
  const header = await read(0, 8);
  if (u32(header, 0) !== SFDP_SIGNATURE) return null;
  const count = (header[6] ?? 0) + 1;
  const headers = await read(8, 8 * count);
  let bfpt: Uint8Array | null = null;
  let fourBait: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const h = headers.subarray(8 * i, 8 * i + 8);
    const id = ((h[7] ?? 0) << 8) | (h[0] ?? 0);
    const dwords = h[3] ?? 0;
    const pointer = (h[4] ?? 0) | ((h[5] ?? 0) << 8) | ((h[6] ?? 0) << 16);
    // The first BFPT header is mandatory; later ones (newer revisions) supersede it.
    if (id === BFPT_ID && dwords >= 9) bfpt = await read(pointer, 4 * Math.min(dwords, 20));
    if (id === FOUR_BAIT_ID && dwords >= 2) fourBait = await read(pointer, 8);
  }
  if (!bfpt) return null;
  return parseTables(header, bfpt, fourBait);
}

function parseTables(header: Uint8Array, bfpt: Uint8Array, fourBait: Uint8Array | null): SfdpInfo | null {
  const dw = (n: number) => u32(bfpt, 4 * (n - 1));
  const d1 = dw(1);
  const d2 = dw(2);
  const size = d2 & 0x80000000 ? 2 ** ((d2 & 0x7fffffff) - 3) : ((d2 >>> 0) + 1) / 8;
  if (!Number.isFinite(size) || size < 1024 || size > 2 ** 32) return null;
  const addressBits = (d1 >>> 17) & 3;
  const addressBytes = addressBits === 0 ? '3' : addressBits === 1 ? '3or4' : '4';

  const types: SfdpInfo['erase'] = [];
  const d8 = dw(8);
  const d9 = dw(9);
  const raw = [d8 & 0xffff, d8 >>> 16, d9 & 0xffff, d9 >>> 16];
  const d10 = bfpt.length >= 40 ? dw(10) : 0;
  const eraseMultiplier = 2 * ((d10 & 0xf) + 1);
  const eraseTimeFields = [(d10 >>> 4) & 0x7f, (d10 >>> 11) & 0x7f, (d10 >>> 18) & 0x7f, (d10 >>> 25) & 0x7f];
  const four = fourBait ? u32(fourBait, 0) : 0;
  const four2 = fourBait ? u32(fourBait, 4) : 0;
  raw.forEach((field, i) => {
    const exponent = field & 0xff;
    const opcode = field >>> 8;
    if (exponent === 0) return;
    const t: SfdpInfo['erase'][number] = { size: 2 ** exponent, opcode };
    if (d10) {
      const f = eraseTimeFields[i]!;
      const unit = [1, 16, 128, 1000][(f >>> 5) & 3]!;
      t.typMs = ((f & 0x1f) + 1) * unit;
      t.maxMs = t.typMs * eraseMultiplier;
    }
    if (four & (1 << (9 + i))) t.opcode4b = (four2 >>> (8 * i)) & 0xff;
    types.push(t);
  });
  types.sort((a, b) => a.size - b.size);

  const info: SfdpInfo = {
    revision: { major: header[5] ?? 0, minor: header[4] ?? 0 },
    size,
    pageSize: 256,
    addressBytes,
    erase: types,
    read4b: Boolean(four & 1),
    pp4b: Boolean(four & (1 << 6)),
  };
  if (bfpt.length >= 44) {
    const d11 = dw(11);
    info.pageSize = 2 ** ((d11 >>> 4) & 0xf) || 256;
    const ppTyp = (((d11 >>> 8) & 0x1f) + 1) * ((d11 >>> 13) & 1 ? 0.064 : 0.008);
    info.program = { typMs: ppTyp, maxMs: ppTyp * 2 * ((d11 & 0xf) + 1) };
    const ce = (d11 >>> 24) & 0x7f;
    info.chipEraseTypMs = ((ce & 0x1f) + 1) * [16, 256, 4000, 64000][(ce >>> 5) & 3]!;
  }
  return info;
}

/** A chip record for a part that is not in the table, from its SFDP; conservative where SFDP is silent. */
export function chipFromSfdp(rdid: ArrayLike<number>, info: SfdpInfo): SpiNorChip {
  const jedecId = ((rdid[0] ?? 0) << 16) | ((rdid[1] ?? 0) << 8) | (rdid[2] ?? 0);
  const big = info.size > 16 * MiB;
  const native = big && info.read4b && info.pp4b;
  const addressing: Addressing = !big ? '3' : native ? '4-native' : '4-enter';
  let erase: EraseType[] = info.erase.map((e) => {
    const typMs = e.typMs ?? defaultEraseMs(e.size);
    const t: EraseType = { size: e.size, opcode: e.opcode, typMs, maxMs: e.maxMs ?? typMs * 10 };
    if (e.opcode4b !== undefined) t.opcode4b = e.opcode4b;
    return t;
  });
  if (native) erase = erase.filter((e) => e.opcode4b !== undefined);
  const chip: SpiNorChip = {
    id: `SFDP-${jedecHex(jedecId).toUpperCase()}`,
    vendor: 'Winbond',
    aliases: [],
    jedecId,
    size: info.size,
    pageSize: info.pageSize,
    erase,
    program: info.program ?? { typMs: 1, maxMs: 5 },
    voltage: [2700, 3600],
    addressing,
    sfdp: true,
    protect: { bpMask: 0x1c, cmp: false },
    maxReadMHz: 33,
  };
  if (info.chipEraseTypMs) chip.chipErase = { opcode: 0xc7, typMs: info.chipEraseTypMs, maxMs: info.chipEraseTypMs * 6 };
  return chip;
}

function defaultEraseMs(size: number): number {
  return size <= 4096 ? 100 : size <= 32768 ? 500 : 1000;
}

/** Encodes a time as JESD216 count+unit: the smallest unit whose 5-bit count fits, rounded up. */
function encodeTime(ms: number, units: readonly number[]): number {
  for (let u = 0; u < units.length; u++) {
    const count = Math.ceil(ms / units[u]!) - 1;
    if (count <= 0x1f) return (u << 5) | Math.max(0, count);
  }
  return ((units.length - 1) << 5) | 0x1f;
}

/** The SFDP area (header, BFPT rev 1.6 with 16 DWORDs, 4BAIT when the part has 4-byte opcodes). */
export function encodeSfdp(chip: SpiNorChip): Uint8Array {
  const out = new Uint8Array(0x100).fill(0xff);
  const put32 = (at: number, v: number) => {
    for (let i = 0; i < 4; i++) out[at + i] = (v >>> (8 * i)) & 0xff;
  };
  const fourByte = chip.addressing === '4-native';
  const BFPT_AT = 0x30;
  const BAIT_AT = 0x80;
  put32(0, SFDP_SIGNATURE);
  out.set([0x06, 0x01, fourByte ? 1 : 0, 0xff], 4);
  out.set([0x00, 0x06, 0x01, 16, BFPT_AT, 0, 0, 0xff], 8);
  if (fourByte) out.set([0x84, 0x00, 0x01, 2, BAIT_AT, 0, 0, 0xff], 16);

  const types = chip.erase.slice(0, 4);
  const four = types.find((t) => t.size === 4096);
  const addressBits = chip.size <= 16 * MiB ? 0 : 1; // 3- or 4-byte addresses
  const d1 = (0xff << 23) | (addressBits << 17) | ((four ? four.opcode : 0xff) << 8) | (1 << 2) | (four ? 0b01 : 0b11);
  const bits = chip.size * 8;
  const d2 = bits <= 2 ** 31 ? bits - 1 : 0x80000000 | Math.log2(bits);
  const typeField = (t?: EraseType) => (t ? (t.opcode << 8) | Math.log2(t.size) : 0);
  const d8 = typeField(types[0]) | (typeField(types[1]) << 16);
  const d9 = typeField(types[2]) | (typeField(types[3]) << 16);
  const eraseUnits = [1, 16, 128, 1000] as const;
  const maxRatio = Math.max(1, ...types.map((t) => t.maxMs / t.typMs));
  let d10 = Math.min(15, Math.max(0, Math.ceil(maxRatio / 2) - 1));
  types.forEach((t, i) => {
    d10 |= encodeTime(t.typMs, eraseUnits) << (4 + 7 * i);
  });
  const ppField = encodeTime(chip.program.typMs, [0.008, 0.064]);
  const ppMult = Math.min(15, Math.max(0, Math.ceil(chip.program.maxMs / chip.program.typMs / 2) - 1));
  const ceField = chip.chipErase ? encodeTime(chip.chipErase.typMs, [16, 256, 4000, 64000]) : 0x7f;
  const d11 = (ceField << 24) | (ppField << 8) | (Math.log2(chip.pageSize) << 4) | ppMult;
  const dwords = [d1, d2, 0, 0, 0, 0, 0, d8, d9, d10 >>> 0, d11 >>> 0, 0, 0, 0, 0, 0];
  dwords.forEach((v, i) => put32(BFPT_AT + 4 * i, v >>> 0));

  if (fourByte) {
    let b1 = 1 | (1 << 1) | (1 << 6); // READ4B, FAST_READ4B, PP4B
    let b2 = 0;
    types.forEach((t, i) => {
      if (t.opcode4b === undefined) return;
      b1 |= 1 << (9 + i);
      b2 |= t.opcode4b << (8 * i);
    });
    put32(BAIT_AT, b1);
    put32(BAIT_AT + 4, b2 >>> 0);
  }
  return out;
}
