import { KiB, MiB, type Addressing, type EraseType, type SpiNorChip, type SpiNorVendor } from './types';

/*
 * The SPI NOR parts webprog knows, grouped by family. IDs, sizes and erase layouts are the public
 * facts found in flashrom's flashchips data and the vendors' datasheets; timings are the families'
 * datasheet typical and maximum values, rounded (per-part datasheets differ by a few percent).
 *
 * Rules the records follow:
 * - one record per JEDEC ID unless variant bytes (`idExtra`) tell the parts apart;
 * - only erase types that every part under that ID erases the same way are listed (old Macronix
 *   and EON parts erase 64 KiB with 52h, so 52h is left out for them);
 * - a part above 16 MiB lists, in '4-native' mode, only erase types that have a 4-byte opcode.
 */

interface Family {
  vendor: SpiNorVendor;
  /** Candidate erase types; a part keeps those not larger than itself. */
  erase: readonly EraseType[];
  program: { typMs: number; maxMs: number };
  /** Typical chip erase time per MiB; the maximum is `chipEraseMaxFactor` times it. 0: no chip erase. */
  chipEraseMsPerMiB: number;
  chipEraseMaxFactor: number;
  voltage: readonly [number, number];
  sfdp: boolean;
  protect: { bpMask: number; cmp: boolean };
  maxReadMHz: number;
}

const er = (size: number, opcode: number, typMs: number, maxMs: number, opcode4b?: number): EraseType =>
  opcode4b === undefined ? { size, opcode, typMs, maxMs } : { size, opcode, typMs, maxMs, opcode4b };

const V33 = [2700, 3600] as const;
const V18 = [1650, 1950] as const;
const VWIDE = [1650, 3600] as const;
const V23 = [2300, 3600] as const;

interface PartOptions {
  aliases?: string[];
  addressing?: Addressing;
  idExtra?: number[];
  voltage?: readonly [number, number];
  /** Replaces the family's erase list (after the size filter). */
  erase?: readonly EraseType[];
  chipErase?: false;
  sfdp?: boolean;
}

function part(f: Family, id: string, jedecId: number, size: number, o: PartOptions = {}): SpiNorChip {
  const addressing: Addressing = o.addressing ?? (size > 16 * MiB ? '4-enter' : '3');
  let erase = (o.erase ?? f.erase).filter((e) => e.size <= size);
  if (addressing === '4-native') erase = erase.filter((e) => e.opcode4b !== undefined);
  const biggest = erase[erase.length - 1];
  const ceTyp = Math.max(Math.round((f.chipEraseMsPerMiB * size) / MiB), biggest?.typMs ?? 0);
  const chip: SpiNorChip = {
    id,
    vendor: f.vendor,
    aliases: o.aliases ?? [],
    jedecId,
    size,
    pageSize: 256,
    erase,
    program: f.program,
    voltage: o.voltage ?? f.voltage,
    addressing,
    sfdp: o.sfdp ?? f.sfdp,
    protect: f.protect,
    maxReadMHz: f.maxReadMHz,
  };
  if (f.chipEraseMsPerMiB > 0 && o.chipErase !== false) {
    chip.chipErase = { opcode: 0xc7, typMs: ceTyp, maxMs: ceTyp * f.chipEraseMaxFactor };
  }
  if (o.idExtra) chip.idExtra = o.idExtra;
  return chip;
}

// ---- families -------------------------------------------------------------------------------

/** Winbond W25Q (BV/CV/DV/FV/JV): tPP 0.4 ms, tSE 45 ms, tBE1 120 ms, tBE2 150 ms, tCE ~2.5 s/MiB. */
const WINBOND_Q: Family = {
  vendor: 'Winbond',
  erase: [er(4 * KiB, 0x20, 45, 400, 0x21), er(32 * KiB, 0x52, 120, 1600), er(64 * KiB, 0xd8, 150, 2000, 0xdc)],
  program: { typMs: 0.4, maxMs: 3 },
  chipEraseMsPerMiB: 2500,
  chipEraseMaxFactor: 5,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x1c, cmp: true },
  maxReadMHz: 50,
};
const WINBOND_QW: Family = { ...WINBOND_Q, voltage: V18 };
/** Winbond W25X: the older dual-output series, slower program and erase. */
const WINBOND_X: Family = {
  vendor: 'Winbond',
  erase: [er(4 * KiB, 0x20, 150, 300), er(64 * KiB, 0xd8, 1000, 2000)],
  program: { typMs: 1.5, maxMs: 3 },
  chipEraseMsPerMiB: 8000,
  chipEraseMaxFactor: 2.5,
  voltage: V33,
  sfdp: false,
  protect: { bpMask: 0x1c, cmp: false },
  maxReadMHz: 50,
};
const W_X_32K: readonly EraseType[] = [er(4 * KiB, 0x20, 150, 300), er(32 * KiB, 0x52, 500, 1000), er(64 * KiB, 0xd8, 1000, 2000)];

/** Macronix MX25L..05/06E generation: 52h erases 64 KiB there, so it is not listed. */
const MACRONIX_E: Family = {
  vendor: 'Macronix',
  erase: [er(4 * KiB, 0x20, 60, 300), er(64 * KiB, 0xd8, 700, 2000)],
  program: { typMs: 1.4, maxMs: 5 },
  chipEraseMsPerMiB: 6000,
  chipEraseMaxFactor: 2,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x3c, cmp: false },
  maxReadMHz: 33,
};
/** Macronix MX25L..33F/35F/45G and the MX25U/MX25V/MX25R lines with a true 32 KiB erase. */
const MACRONIX_F: Family = {
  vendor: 'Macronix',
  erase: [er(4 * KiB, 0x20, 40, 200, 0x21), er(32 * KiB, 0x52, 150, 1000, 0x5c), er(64 * KiB, 0xd8, 300, 2000, 0xdc)],
  program: { typMs: 0.6, maxMs: 3 },
  chipEraseMsPerMiB: 3500,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x3c, cmp: false },
  maxReadMHz: 50,
};
const MACRONIX_U: Family = { ...MACRONIX_F, voltage: [1650, 2000] };
const MACRONIX_R: Family = {
  ...MACRONIX_F,
  erase: [er(4 * KiB, 0x20, 60, 240), er(32 * KiB, 0x52, 250, 1500), er(64 * KiB, 0xd8, 500, 3000)],
  program: { typMs: 0.85, maxMs: 4 },
  chipEraseMsPerMiB: 4000,
  voltage: VWIDE,
  maxReadMHz: 33,
};
const MACRONIX_V: Family = { ...MACRONIX_R, voltage: V23, chipEraseMsPerMiB: 3000 };

/** GigaDevice GD25Q/GD25LQ/GD25VQ: tPP 0.6 ms, tSE 50 ms, tBE32 150 ms, tBE64 250 ms. */
const GIGADEVICE: Family = {
  vendor: 'GigaDevice',
  erase: [er(4 * KiB, 0x20, 50, 400, 0x21), er(32 * KiB, 0x52, 150, 800, 0x5c), er(64 * KiB, 0xd8, 250, 1200, 0xdc)],
  program: { typMs: 0.6, maxMs: 2.4 },
  chipEraseMsPerMiB: 2500,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x7c, cmp: true },
  maxReadMHz: 50,
};
const GIGADEVICE_L: Family = { ...GIGADEVICE, voltage: V18 };
const GIGADEVICE_V: Family = { ...GIGADEVICE, voltage: V23 };

/** Micron N25Q / MT25Q (and Numonyx): 4 KiB subsector, 64 KiB sector, BP3 in bit 6. */
const MICRON: Family = {
  vendor: 'Micron',
  erase: [er(4 * KiB, 0x20, 50, 400, 0x21), er(64 * KiB, 0xd8, 150, 1000, 0xdc)],
  program: { typMs: 0.5, maxMs: 5 },
  chipEraseMsPerMiB: 2400,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x5c, cmp: false },
  maxReadMHz: 54,
};
const MICRON_U: Family = { ...MICRON, voltage: V18 };
/** ST / Numonyx M25P: sector erase only (64 KiB, 32 KiB on the two smallest, 256 KiB on M25P128). */
const ST_M25P: Family = {
  vendor: 'Micron',
  erase: [er(64 * KiB, 0xd8, 600, 3000)],
  program: { typMs: 0.8, maxMs: 5 },
  chipEraseMsPerMiB: 6500,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: false,
  protect: { bpMask: 0x1c, cmp: false },
  maxReadMHz: 20,
};
const ST_M25PX: Family = { ...ST_M25P, erase: [er(4 * KiB, 0x20, 70, 150), er(64 * KiB, 0xd8, 500, 3000)], chipEraseMsPerMiB: 6000, maxReadMHz: 33 };

/** XMC XM25QH (3 V) / XM25QU (1.8 V), common on ESP32 modules. */
const XMC: Family = {
  vendor: 'XMC',
  erase: [er(4 * KiB, 0x20, 45, 300, 0x21), er(32 * KiB, 0x52, 120, 800), er(64 * KiB, 0xd8, 150, 1200, 0xdc)],
  program: { typMs: 0.5, maxMs: 2.4 },
  chipEraseMsPerMiB: 2500,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x7c, cmp: true },
  maxReadMHz: 50,
};
const XMC_U: Family = { ...XMC, voltage: V18 };

/** ISSI IS25LP (3 V) / IS25WP (1.8 V): BP0-BP3 in bits 2-5. */
const ISSI: Family = {
  vendor: 'ISSI',
  erase: [er(4 * KiB, 0x20, 45, 300, 0x21), er(32 * KiB, 0x52, 120, 500, 0x5c), er(64 * KiB, 0xd8, 150, 1000, 0xdc)],
  program: { typMs: 0.2, maxMs: 0.8 },
  chipEraseMsPerMiB: 2500,
  chipEraseMaxFactor: 3,
  voltage: V23,
  sfdp: true,
  protect: { bpMask: 0x3c, cmp: false },
  maxReadMHz: 50,
};
const ISSI_W: Family = { ...ISSI, voltage: V18 };
const ISSI_LQ: Family = { ...ISSI, erase: [er(4 * KiB, 0x20, 45, 300), er(64 * KiB, 0xd8, 150, 1000)] };

/** Cypress / Spansion (now Infineon) S25FL-K: Winbond-like, no 32 KiB erase. */
const CYPRESS_K: Family = {
  vendor: 'Cypress',
  erase: [er(4 * KiB, 0x20, 60, 450), er(64 * KiB, 0xd8, 500, 2000)],
  program: { typMs: 0.7, maxMs: 3 },
  chipEraseMsPerMiB: 3000,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x1c, cmp: true },
  maxReadMHz: 50,
};
/** S25FL-L: uniform 4/32/64 KiB with native 4-byte opcodes on the 256 Mbit part. */
const CYPRESS_L: Family = {
  ...CYPRESS_K,
  erase: [er(4 * KiB, 0x20, 50, 400, 0x21), er(32 * KiB, 0x52, 200, 1000, 0x53), er(64 * KiB, 0xd8, 275, 1300, 0xdc)],
  program: { typMs: 0.45, maxMs: 1.35 },
  protect: { bpMask: 0x1c, cmp: false },
};
/** S25FL-S: 64 KiB or 256 KiB uniform sectors, told apart by RDID byte 4 (sector architecture). */
const CYPRESS_S: Family = {
  ...CYPRESS_K,
  erase: [er(64 * KiB, 0xd8, 130, 650, 0xdc)],
  program: { typMs: 0.25, maxMs: 0.75 },
  chipEraseMsPerMiB: 2000,
  protect: { bpMask: 0x1c, cmp: false },
};
const CYPRESS_S_256K: readonly EraseType[] = [er(256 * KiB, 0xd8, 520, 2600, 0xdc)];
/** S25FL-A/P: the older 64 KiB-sector parts. */
const SPANSION_A: Family = {
  ...CYPRESS_K,
  erase: [er(64 * KiB, 0xd8, 500, 3000)],
  program: { typMs: 1.5, maxMs: 3 },
  chipEraseMsPerMiB: 8000,
  sfdp: false,
  protect: { bpMask: 0x1c, cmp: false },
  maxReadMHz: 33,
};

/** Puya P25Q/P25D: page erase plus very fast sector and block erase. */
const PUYA: Family = {
  vendor: 'Puya',
  erase: [er(4 * KiB, 0x20, 8, 30), er(32 * KiB, 0x52, 10, 30), er(64 * KiB, 0xd8, 12, 30)],
  program: { typMs: 0.5, maxMs: 2 },
  chipEraseMsPerMiB: 15,
  chipEraseMaxFactor: 4,
  voltage: V23,
  sfdp: true,
  protect: { bpMask: 0x7c, cmp: true },
  maxReadMHz: 55,
};

/** EON EN25Q/EN25QH: 52h erases 64 KiB on several of them, so only 20h and D8h are listed. */
const EON_Q: Family = {
  vendor: 'EON',
  erase: [er(4 * KiB, 0x20, 60, 300), er(64 * KiB, 0xd8, 400, 2000)],
  program: { typMs: 0.8, maxMs: 3 },
  chipEraseMsPerMiB: 4500,
  chipEraseMaxFactor: 3,
  voltage: V33,
  sfdp: true,
  protect: { bpMask: 0x3c, cmp: false },
  maxReadMHz: 50,
};
const EON_S: Family = { ...EON_Q, voltage: V18 };
const EON_F: Family = {
  ...EON_Q,
  erase: [er(4 * KiB, 0x20, 150, 300), er(64 * KiB, 0xd8, 800, 2000)],
  program: { typMs: 1.5, maxMs: 5 },
  chipEraseMsPerMiB: 8000,
  chipEraseMaxFactor: 2.5,
  sfdp: false,
  maxReadMHz: 33,
};
const EON_P: Family = { ...EON_F, erase: [er(64 * KiB, 0xd8, 1000, 3000)] };

/** Adesto / Atmel AT25DF: sectors start protected; a status write of 0 is the global unprotect. */
const ADESTO_DF: Family = {
  vendor: 'Adesto',
  erase: [er(4 * KiB, 0x20, 50, 200), er(32 * KiB, 0x52, 250, 600), er(64 * KiB, 0xd8, 400, 950)],
  program: { typMs: 1, maxMs: 5 },
  chipEraseMsPerMiB: 4000,
  chipEraseMaxFactor: 2,
  voltage: V33,
  sfdp: false,
  protect: { bpMask: 0x0c, cmp: false },
  maxReadMHz: 50,
};
/** Adesto AT25SF/AT25SL: Winbond-compatible status registers. */
const ADESTO_SF: Family = {
  ...ADESTO_DF,
  erase: [er(4 * KiB, 0x20, 60, 300), er(32 * KiB, 0x52, 250, 1300), er(64 * KiB, 0xd8, 450, 2000)],
  program: { typMs: 0.4, maxMs: 2.5 },
  chipEraseMsPerMiB: 3000,
  sfdp: true,
  protect: { bpMask: 0x1c, cmp: true },
};

/** The GigaDevice-compatible second sources: Boya, XTX, Fudan, Zbit. */
const BOYA: Family = { ...GIGADEVICE, vendor: 'Boya', voltage: V23 };
const XTX: Family = { ...GIGADEVICE, vendor: 'XTX', voltage: V23 };
const FUDAN: Family = { ...GIGADEVICE, vendor: 'Fudan', voltage: V23 };
const ZBIT: Family = { ...GIGADEVICE, vendor: 'Zbit', voltage: V23 };

// ---- parts ----------------------------------------------------------------------------------

const M = MiB;
const K = KiB;

export const SPI_NOR_CHIPS: readonly SpiNorChip[] = [
  // Winbond W25Q, 3 V, "IQ/IN" (ID 40xx) and "IM" (ID 70xx, QPI-capable) variants
  part(WINBOND_Q, 'W25Q16', 0xef4015, 2 * M, { aliases: ['W25Q16BV', 'W25Q16CV', 'W25Q16DV', 'W25Q16FV', 'W25Q16JV', 'W25Q16JV-IQ'] }),
  part(WINBOND_Q, 'W25Q32', 0xef4016, 4 * M, { aliases: ['W25Q32BV', 'W25Q32CV', 'W25Q32DV', 'W25Q32FV', 'W25Q32JV', 'W25Q32JV-IQ'] }),
  part(WINBOND_Q, 'W25Q64', 0xef4017, 8 * M, { aliases: ['W25Q64BV', 'W25Q64CV', 'W25Q64FV', 'W25Q64JV', 'W25Q64JV-IQ'] }),
  part(WINBOND_Q, 'W25Q128', 0xef4018, 16 * M, { aliases: ['W25Q128BV', 'W25Q128FV', 'W25Q128JV', 'W25Q128JV-IQ'] }),
  part(WINBOND_Q, 'W25Q256', 0xef4019, 32 * M, { aliases: ['W25Q256FV', 'W25Q256JV', 'W25Q256JV-IQ'], addressing: '4-enter' }),
  part(WINBOND_Q, 'W25Q512JV', 0xef4020, 64 * M, { aliases: ['W25Q512JV-IQ'], addressing: '4-native' }),
  part(WINBOND_Q, 'W25Q01JV', 0xef4021, 128 * M, { aliases: ['W25Q01JV-IQ'], addressing: '4-native' }),
  part(WINBOND_Q, 'W25Q40', 0xef4013, 512 * K, { aliases: ['W25Q40BV', 'W25Q40CL'] }),
  part(WINBOND_Q, 'W25Q80', 0xef4014, 1 * M, { aliases: ['W25Q80BV', 'W25Q80DV', 'W25Q80RV'] }),
  part(WINBOND_Q, 'W25Q16JV-M', 0xef7015, 2 * M, { aliases: ['W25Q16JV-IM', 'W25Q16JV-DTR'] }),
  part(WINBOND_Q, 'W25Q32JV-M', 0xef7016, 4 * M, { aliases: ['W25Q32JV-IM'] }),
  part(WINBOND_Q, 'W25Q64JV-M', 0xef7017, 8 * M, { aliases: ['W25Q64JV-IM'] }),
  part(WINBOND_Q, 'W25Q128JV-M', 0xef7018, 16 * M, { aliases: ['W25Q128JV-IM', 'W25Q128JV-PM'] }),
  part(WINBOND_Q, 'W25Q256JV-M', 0xef7019, 32 * M, { aliases: ['W25Q256JV-IM'], addressing: '4-native' }),
  part(WINBOND_Q, 'W25Q512JV-M', 0xef7020, 64 * M, { aliases: ['W25Q512JV-IM'], addressing: '4-native' }),
  // Winbond W25Q, 1.8 V
  part(WINBOND_QW, 'W25Q20BW', 0xef5012, 256 * K, { aliases: ['W25Q20EW'] }),
  part(WINBOND_QW, 'W25Q40BW', 0xef5013, 512 * K),
  part(WINBOND_QW, 'W25Q80BW', 0xef5014, 1 * M),
  part(WINBOND_QW, 'W25Q40EW', 0xef6013, 512 * K),
  part(WINBOND_QW, 'W25Q80EW', 0xef6014, 1 * M),
  part(WINBOND_QW, 'W25Q16DW', 0xef6015, 2 * M, { aliases: ['W25Q16FW', 'W25Q16JW', 'W25Q16JW-IQ'] }),
  part(WINBOND_QW, 'W25Q32DW', 0xef6016, 4 * M, { aliases: ['W25Q32BW', 'W25Q32FW', 'W25Q32JW', 'W25Q32JW-IQ'] }),
  part(WINBOND_QW, 'W25Q64FW', 0xef6017, 8 * M, { aliases: ['W25Q64DW', 'W25Q64JW', 'W25Q64JW-IQ'] }),
  part(WINBOND_QW, 'W25Q128FW', 0xef6018, 16 * M, { aliases: ['W25Q128JW', 'W25Q128JW-IQ'] }),
  part(WINBOND_QW, 'W25Q256JW', 0xef6019, 32 * M, { aliases: ['W25Q256JW-IQ'], addressing: '4-native' }),
  part(WINBOND_QW, 'W25Q32JW-M', 0xef8016, 4 * M, { aliases: ['W25Q32JW-IM'] }),
  part(WINBOND_QW, 'W25Q64JW-M', 0xef8017, 8 * M, { aliases: ['W25Q64JW-IM'] }),
  part(WINBOND_QW, 'W25Q128JW-M', 0xef8018, 16 * M, { aliases: ['W25Q128JW-IM'] }),
  part(WINBOND_QW, 'W25Q256JW-M', 0xef8019, 32 * M, { aliases: ['W25Q256JW-IM'], addressing: '4-native' }),
  // Winbond W25X
  part(WINBOND_X, 'W25X05', 0xef3010, 64 * K, { erase: W_X_32K, chipErase: false }),
  part(WINBOND_X, 'W25X10', 0xef3011, 128 * K),
  part(WINBOND_X, 'W25X20', 0xef3012, 256 * K),
  part(WINBOND_X, 'W25X40', 0xef3013, 512 * K),
  part(WINBOND_X, 'W25X80', 0xef3014, 1 * M),
  part(WINBOND_X, 'W25X16', 0xef3015, 2 * M, { erase: W_X_32K }),
  part(WINBOND_X, 'W25X32', 0xef3016, 4 * M, { erase: W_X_32K }),
  part(WINBOND_X, 'W25X64', 0xef3017, 8 * M, { erase: W_X_32K }),

  // Macronix MX25L, 3 V
  part(MACRONIX_E, 'MX25L512E', 0xc22010, 64 * K, { aliases: ['MX25L512', 'MX25V512', 'MX25V512C'] }),
  part(MACRONIX_E, 'MX25L1006E', 0xc22011, 128 * K, { aliases: ['MX25L1005', 'MX25L1005C'] }),
  part(MACRONIX_E, 'MX25L2006E', 0xc22012, 256 * K, { aliases: ['MX25L2005', 'MX25L2005C'] }),
  part(MACRONIX_E, 'MX25L4006E', 0xc22013, 512 * K, { aliases: ['MX25L4005', 'MX25L4005A', 'MX25L4005C'] }),
  part(MACRONIX_E, 'MX25L8006E', 0xc22014, 1 * M, { aliases: ['MX25L8005', 'MX25L8008E', 'MX25V8005'] }),
  part(MACRONIX_E, 'MX25L1606E', 0xc22015, 2 * M, { aliases: ['MX25L1605A', 'MX25L1605D', 'MX25L1608D', 'MX25L1608E', 'MX25L1673E'] }),
  part(MACRONIX_E, 'MX25L3206E', 0xc22016, 4 * M, { aliases: ['MX25L3205D', 'MX25L3208D', 'MX25L3208E', 'MX25L3233F', 'MX25L3273E'] }),
  part(MACRONIX_E, 'MX25L6406E', 0xc22017, 8 * M, { aliases: ['MX25L6405D', 'MX25L6408E', 'MX25L6433F', 'MX25L6436E', 'MX25L6445E', 'MX25L6465E', 'MX25L6473E', 'MX25L6473F'] }),
  part(MACRONIX_E, 'MX25L12835F', 0xc22018, 16 * M, { aliases: ['MX25L12805D', 'MX25L12833F', 'MX25L12845E', 'MX25L12865E', 'MX25L12873F', 'MX25L12850F'] }),
  part(MACRONIX_F, 'MX25L25635F', 0xc22019, 32 * M, { aliases: ['MX25L25645G', 'MX25L25673G'], addressing: '4-native' }),
  part(MACRONIX_F, 'MX25L51245G', 0xc2201a, 64 * M, { aliases: ['MX66L51235F'], addressing: '4-native' }),
  part(MACRONIX_F, 'MX66L1G45G', 0xc2201b, 128 * M, { addressing: '4-native' }),
  part(MACRONIX_E, 'MX25L1633E', 0xc22415, 2 * M, { aliases: ['MX25L1635D'] }),
  part(MACRONIX_E, 'MX25L1635E', 0xc22515, 2 * M, { aliases: ['MX25L1636E'] }),
  part(MACRONIX_E, 'MX25L3235D', 0xc25e16, 4 * M),
  part(MACRONIX_F, 'MX25L3255E', 0xc29e16, 4 * M),
  part(MACRONIX_F, 'MX25L6495F', 0xc29517, 8 * M),
  // Macronix MX25U, 1.8 V
  part(MACRONIX_U, 'MX25U8032E', 0xc22534, 1 * M),
  part(MACRONIX_U, 'MX25U1635E', 0xc22535, 2 * M, { aliases: ['MX25U1635F'] }),
  part(MACRONIX_U, 'MX25U3235F', 0xc22536, 4 * M, { aliases: ['MX25U3235E'] }),
  part(MACRONIX_U, 'MX25U6435F', 0xc22537, 8 * M, { aliases: ['MX25U6435E'] }),
  part(MACRONIX_U, 'MX25U12835F', 0xc22538, 16 * M, { aliases: ['MX25U12873F'] }),
  part(MACRONIX_U, 'MX25U25635F', 0xc22539, 32 * M, { aliases: ['MX25U25643G', 'MX25U25645G'], addressing: '4-native' }),
  part(MACRONIX_U, 'MX25U51245G', 0xc2253a, 64 * M, { addressing: '4-native' }),
  // Macronix MX25R (ultra low power, 1.65-3.6 V) and MX25V
  part(MACRONIX_R, 'MX25R512F', 0xc22810, 64 * K),
  part(MACRONIX_R, 'MX25R1035F', 0xc22811, 128 * K),
  part(MACRONIX_R, 'MX25R2035F', 0xc22812, 256 * K),
  part(MACRONIX_R, 'MX25R4035F', 0xc22813, 512 * K),
  part(MACRONIX_R, 'MX25R8035F', 0xc22814, 1 * M),
  part(MACRONIX_R, 'MX25R1635F', 0xc22815, 2 * M),
  part(MACRONIX_R, 'MX25R3235F', 0xc22816, 4 * M),
  part(MACRONIX_R, 'MX25R6435F', 0xc22817, 8 * M),
  part(MACRONIX_V, 'MX25V4035F', 0xc22313, 512 * K),
  part(MACRONIX_V, 'MX25V8035F', 0xc22314, 1 * M),
  part(MACRONIX_V, 'MX25V1635F', 0xc22315, 2 * M),

  // GigaDevice GD25Q, 3 V
  part(GIGADEVICE, 'GD25Q512', 0xc84010, 64 * K, { aliases: ['GD25Q512MC'], erase: [er(4 * KiB, 0x20, 50, 400), er(32 * KiB, 0x52, 150, 800)] }),
  part(GIGADEVICE, 'GD25Q10', 0xc84011, 128 * K, { aliases: ['GD25Q10B', 'GD25Q10C'] }),
  part(GIGADEVICE, 'GD25Q20', 0xc84012, 256 * K, { aliases: ['GD25Q20B', 'GD25Q20C'] }),
  part(GIGADEVICE, 'GD25Q40', 0xc84013, 512 * K, { aliases: ['GD25Q40B', 'GD25Q40C', 'GD25Q41B'] }),
  part(GIGADEVICE, 'GD25Q80', 0xc84014, 1 * M, { aliases: ['GD25Q80B', 'GD25Q80C'] }),
  part(GIGADEVICE, 'GD25Q16', 0xc84015, 2 * M, { aliases: ['GD25Q16B', 'GD25Q16C', 'GD25Q16E'] }),
  part(GIGADEVICE, 'GD25Q32', 0xc84016, 4 * M, { aliases: ['GD25Q32B', 'GD25Q32C', 'GD25Q32E'] }),
  part(GIGADEVICE, 'GD25Q64', 0xc84017, 8 * M, { aliases: ['GD25Q64B', 'GD25Q64C', 'GD25Q64E', 'GD25B64C'] }),
  part(GIGADEVICE, 'GD25Q128', 0xc84018, 16 * M, { aliases: ['GD25Q128B', 'GD25Q128C', 'GD25Q128E', 'GD25Q127C', 'GD25B128E', 'GD25R128E'] }),
  part(GIGADEVICE, 'GD25Q256', 0xc84019, 32 * M, { aliases: ['GD25Q256D', 'GD25Q256E', 'GD25B256E', 'GD25R256E'], addressing: '4-native' }),
  part(GIGADEVICE, 'GD25F256F', 0xc84319, 32 * M, { addressing: '4-native' }),
  part(GIGADEVICE, 'GD25T80', 0xc83114, 1 * M, { erase: [er(4 * KiB, 0x20, 50, 400), er(64 * KiB, 0xd8, 250, 1200)] }),
  // GigaDevice GD25LQ/LB, 1.8 V, and GD25VQ/WQ, wide range
  part(GIGADEVICE_L, 'GD25LQ40', 0xc86013, 512 * K, { aliases: ['GD25LQ40B', 'GD25LQ40C'] }),
  part(GIGADEVICE_L, 'GD25LQ80', 0xc86014, 1 * M, { aliases: ['GD25LQ80B', 'GD25LQ80C'] }),
  part(GIGADEVICE_L, 'GD25LQ16', 0xc86015, 2 * M, { aliases: ['GD25LQ16C', 'GD25LQ16E'] }),
  part(GIGADEVICE_L, 'GD25LQ32', 0xc86016, 4 * M, { aliases: ['GD25LQ32C', 'GD25LQ32D', 'GD25LQ32E'] }),
  part(GIGADEVICE_L, 'GD25LQ64', 0xc86017, 8 * M, { aliases: ['GD25LQ64B', 'GD25LQ64C', 'GD25LQ64E'] }),
  part(GIGADEVICE_L, 'GD25LQ128', 0xc86018, 16 * M, { aliases: ['GD25LQ128C', 'GD25LQ128D', 'GD25LQ128E', 'GD25LB128E', 'GD25LR128E'] }),
  part(GIGADEVICE_L, 'GD25LQ255E', 0xc86019, 32 * M, { aliases: ['GD25LB256F', 'GD25LR256F'], addressing: '4-native' }),
  part(GIGADEVICE_L, 'GD25LB256E', 0xc86719, 32 * M, { aliases: ['GD25LR256E'], addressing: '4-native' }),
  part(GIGADEVICE_L, 'GD25LB512ME', 0xc8671a, 64 * M, { aliases: ['GD25LR512ME'], addressing: '4-native' }),
  part(GIGADEVICE_L, 'GD25LF128E', 0xc86318, 16 * M),
  part(GIGADEVICE_V, 'GD25VQ21B', 0xc84212, 256 * K),
  part(GIGADEVICE_V, 'GD25VQ40C', 0xc84213, 512 * K, { aliases: ['GD25VQ41B'] }),
  part(GIGADEVICE_V, 'GD25VQ80C', 0xc84214, 1 * M),
  part(GIGADEVICE_V, 'GD25VQ16C', 0xc84215, 2 * M),
  part(GIGADEVICE, 'GD25WQ80E', 0xc86514, 1 * M, { voltage: VWIDE }),

  // Micron N25Q / MT25Q (3 V "L" = BAxx, 1.8 V "U" = BBxx)
  part(MICRON_U, 'N25Q016', 0x20bb15, 2 * M, { aliases: ['N25Q016A'] }),
  part(MICRON, 'N25Q032', 0x20ba16, 4 * M, { aliases: ['N25Q032A', 'N25Q032A13E'] }),
  part(MICRON_U, 'N25Q032-1.8V', 0x20bb16, 4 * M, { aliases: ['N25Q032A11E'] }),
  part(MICRON, 'N25Q064', 0x20ba17, 8 * M, { aliases: ['N25Q064A', 'N25Q064A13E', 'MT25QL64'] }),
  part(MICRON_U, 'N25Q064-1.8V', 0x20bb17, 8 * M, { aliases: ['N25Q064A11E', 'MT25QU64'] }),
  part(MICRON, 'N25Q128', 0x20ba18, 16 * M, { aliases: ['N25Q128A', 'N25Q128A13E', 'MT25QL128', 'MT25QL128ABA'] }),
  part(MICRON_U, 'N25Q128-1.8V', 0x20bb18, 16 * M, { aliases: ['N25Q128A11E', 'MT25QU128', 'MT25QU128ABA'] }),
  part(MICRON, 'N25Q256', 0x20ba19, 32 * M, { aliases: ['N25Q256A', 'N25Q256A13E', 'MT25QL256', 'MT25QL256ABA'], addressing: '4-native' }),
  part(MICRON_U, 'N25Q256-1.8V', 0x20bb19, 32 * M, { aliases: ['N25Q256A11E', 'MT25QU256', 'MT25QU256ABA'], addressing: '4-native' }),
  // Multi-die MT25Q parts have die erase (C4h) instead of chip erase: webprog erases them block by block.
  part(MICRON, 'MT25QL512', 0x20ba20, 64 * M, { aliases: ['MT25QL512ABB', 'N25Q512A'], addressing: '4-native', chipErase: false }),
  part(MICRON_U, 'MT25QU512', 0x20bb20, 64 * M, { aliases: ['MT25QU512ABB', 'N25Q512A11G'], addressing: '4-native', chipErase: false }),
  part(MICRON, 'MT25QL01G', 0x20ba21, 128 * M, { aliases: ['N25Q00AA13G'], addressing: '4-native', chipErase: false }),
  part(MICRON_U, 'MT25QU01G', 0x20bb21, 128 * M, { aliases: ['N25Q00AA11G'], addressing: '4-native', chipErase: false }),
  part(MICRON, 'MT25QL02G', 0x20ba22, 256 * M, { addressing: '4-native', chipErase: false }),
  part(MICRON_U, 'MT25QU02G', 0x20bb22, 256 * M, { addressing: '4-native', chipErase: false }),
  // ST / Numonyx M25P, M25PX
  part(ST_M25P, 'M25P05', 0x202010, 64 * K, { aliases: ['M25P05-A'], erase: [er(32 * KiB, 0xd8, 600, 3000)] }),
  part(ST_M25P, 'M25P10', 0x202011, 128 * K, { aliases: ['M25P10-A'], erase: [er(32 * KiB, 0xd8, 600, 3000)] }),
  part(ST_M25P, 'M25P20', 0x202012, 256 * K),
  part(ST_M25P, 'M25P40', 0x202013, 512 * K),
  part(ST_M25P, 'M25P80', 0x202014, 1 * M),
  part(ST_M25P, 'M25P16', 0x202015, 2 * M),
  part(ST_M25P, 'M25P32', 0x202016, 4 * M),
  part(ST_M25P, 'M25P64', 0x202017, 8 * M),
  part(ST_M25P, 'M25P128', 0x202018, 16 * M, { erase: [er(256 * KiB, 0xd8, 1600, 4000)] }),
  part(ST_M25PX, 'M25PX80', 0x207114, 1 * M),
  part(ST_M25PX, 'M25PX16', 0x207115, 2 * M),
  part(ST_M25PX, 'M25PX32', 0x207116, 4 * M),
  part(ST_M25PX, 'M25PX64', 0x207117, 8 * M),
  part(ST_M25PX, 'M25PE10', 0x208011, 128 * K),
  part(ST_M25PX, 'M25PE20', 0x208012, 256 * K),
  part(ST_M25PX, 'M25PE40', 0x208013, 512 * K),
  part(ST_M25PX, 'M25PE80', 0x208014, 1 * M),
  part(ST_M25PX, 'M25PE16', 0x208015, 2 * M),

  // XMC (manufacturer ID 20h, shared with ST/Micron)
  part(XMC, 'XM25QH80B', 0x204014, 1 * M),
  part(XMC, 'XM25QH16C', 0x204015, 2 * M, { aliases: ['XM25QH16D', 'XM25QH16B'] }),
  part(XMC, 'XM25QH32C', 0x204016, 4 * M, { aliases: ['XM25QH32D', 'XM25QH32B'] }),
  part(XMC, 'XM25QH64C', 0x204017, 8 * M, { aliases: ['XM25QH64D'] }),
  part(XMC, 'XM25QH128C', 0x204018, 16 * M, { aliases: ['XM25QH128D'] }),
  part(XMC, 'XM25QH256C', 0x204019, 32 * M, { aliases: ['XM25QH256D'], addressing: '4-enter' }),
  part(XMC, 'XM25QH512C', 0x204020, 64 * M, { aliases: ['XM25QH512D'], addressing: '4-native' }),
  part(XMC, 'XM25QH64A', 0x207017, 8 * M),
  part(XMC, 'XM25QH128A', 0x207018, 16 * M),
  part(XMC_U, 'XM25QU80B', 0x205014, 1 * M),
  part(XMC_U, 'XM25QU16C', 0x205015, 2 * M),
  part(XMC_U, 'XM25QU32C', 0x205016, 4 * M),
  part(XMC_U, 'XM25QU64C', 0x204117, 8 * M, { aliases: ['XM25LU64C'] }),
  part(XMC_U, 'XM25QU128C', 0x204118, 16 * M, { aliases: ['XM25QU128D'] }),
  part(XMC_U, 'XM25QU256C', 0x204119, 32 * M, { aliases: ['XM25QU256D'], addressing: '4-enter' }),
  part(XMC, 'XM25RH128C', 0x204318, 16 * M),

  // ISSI IS25LP (2.3-3.6 V), IS25WP (1.8 V), IS25LQ
  part(ISSI, 'IS25LP080D', 0x9d6014, 1 * M),
  part(ISSI, 'IS25LP016', 0x9d6015, 2 * M, { aliases: ['IS25LP016D'] }),
  part(ISSI, 'IS25LP032', 0x9d6016, 4 * M, { aliases: ['IS25LP032D'] }),
  part(ISSI, 'IS25LP064', 0x9d6017, 8 * M, { aliases: ['IS25LP064A', 'IS25LP064D'] }),
  part(ISSI, 'IS25LP128', 0x9d6018, 16 * M, { aliases: ['IS25LP128F'] }),
  part(ISSI, 'IS25LP256', 0x9d6019, 32 * M, { aliases: ['IS25LP256D', 'IS25LP256E'], addressing: '4-native' }),
  part(ISSI_W, 'IS25WP020', 0x9d7012, 256 * K),
  part(ISSI_W, 'IS25WP040', 0x9d7013, 512 * K, { aliases: ['IS25WP040D'] }),
  part(ISSI_W, 'IS25WP080', 0x9d7014, 1 * M, { aliases: ['IS25WP080D'] }),
  part(ISSI_W, 'IS25WP016', 0x9d7015, 2 * M, { aliases: ['IS25WP016D'] }),
  part(ISSI_W, 'IS25WP032', 0x9d7016, 4 * M, { aliases: ['IS25WP032D'] }),
  part(ISSI_W, 'IS25WP064', 0x9d7017, 8 * M, { aliases: ['IS25WP064A', 'IS25WP064D'] }),
  part(ISSI_W, 'IS25WP128', 0x9d7018, 16 * M, { aliases: ['IS25WP128F'] }),
  part(ISSI_W, 'IS25WP256', 0x9d7019, 32 * M, { aliases: ['IS25WP256D', 'IS25WP256E'], addressing: '4-native' }),
  part(ISSI_LQ, 'IS25LQ016', 0x9d1445, 2 * M, { aliases: ['IS25LQ016B'] }),
  part(ISSI, 'IS25LQ032', 0x9d4016, 4 * M, { aliases: ['IS25LQ032B'] }),
  part(ISSI_W, 'IS25WQ040', 0x9d1253, 512 * K),

  // Cypress / Spansion / Infineon
  part(SPANSION_A, 'S25FL004A', 0x010212, 512 * K),
  part(SPANSION_A, 'S25FL008A', 0x010213, 1 * M),
  part(SPANSION_A, 'S25FL016A', 0x010214, 2 * M),
  part(SPANSION_A, 'S25FL032P', 0x010215, 4 * M, { aliases: ['S25FL032A'] }),
  part(SPANSION_A, 'S25FL064P', 0x010216, 8 * M, { aliases: ['S25FL064A'] }),
  part(CYPRESS_K, 'S25FL204K', 0x014013, 512 * K),
  part(CYPRESS_K, 'S25FL208K', 0x014014, 1 * M),
  part(CYPRESS_K, 'S25FL116K', 0x014015, 2 * M, { aliases: ['S25FL216K'] }),
  part(CYPRESS_K, 'S25FL132K', 0x014016, 4 * M),
  part(CYPRESS_K, 'S25FL164K', 0x014017, 8 * M),
  part(CYPRESS_L, 'S25FL064L', 0x016017, 8 * M),
  part(CYPRESS_L, 'S25FL128L', 0x016018, 16 * M),
  part(CYPRESS_L, 'S25FL256L', 0x016019, 32 * M, { addressing: '4-native' }),
  part(CYPRESS_S, 'S25FL128S-64K', 0x012018, 16 * M, { aliases: ['S25FL127S', 'S25FL128S'], idExtra: [0x4d, 0x01] }),
  part(CYPRESS_S, 'S25FL128S-256K', 0x012018, 16 * M, { idExtra: [0x4d, 0x00], erase: CYPRESS_S_256K }),
  part(CYPRESS_S, 'S25FL256S-64K', 0x010219, 32 * M, { aliases: ['S25FL256S'], idExtra: [0x4d, 0x01], addressing: '4-native' }),
  part(CYPRESS_S, 'S25FL256S-256K', 0x010219, 32 * M, { idExtra: [0x4d, 0x00], erase: CYPRESS_S_256K, addressing: '4-native' }),
  part(CYPRESS_S, 'S25FL512S', 0x010220, 64 * M, { erase: CYPRESS_S_256K, addressing: '4-native' }),

  // Puya
  part(PUYA, 'P25Q06H', 0x854010, 64 * K),
  part(PUYA, 'P25Q11H', 0x854011, 128 * K),
  part(PUYA, 'P25Q21H', 0x854012, 256 * K),
  part(PUYA, 'P25Q40H', 0x856013, 512 * K, { aliases: ['P25Q40SH', 'P25D40H'] }),
  part(PUYA, 'P25Q80H', 0x856014, 1 * M, { aliases: ['P25D80H', 'P25Q80SH'] }),
  part(PUYA, 'P25Q16H', 0x856015, 2 * M, { aliases: ['P25Q16SH', 'P25D16H'] }),
  part(PUYA, 'P25Q32H', 0x856016, 4 * M, { aliases: ['P25Q32SH', 'P25D32SH'] }),
  part(PUYA, 'P25Q64H', 0x856017, 8 * M, { aliases: ['P25Q64SH'] }),
  part(PUYA, 'P25Q128H', 0x856018, 16 * M, { aliases: ['P25Q128SH'] }),

  // EON (now ESMT)
  part(EON_F, 'EN25F05', 0x1c3110, 64 * K, { erase: [er(4 * KiB, 0x20, 150, 300), er(32 * KiB, 0x52, 500, 1000)] }),
  part(EON_F, 'EN25F10', 0x1c3111, 128 * K, { erase: [er(4 * KiB, 0x20, 150, 300), er(32 * KiB, 0x52, 500, 1000)] }),
  part(EON_F, 'EN25F20', 0x1c3112, 256 * K),
  part(EON_F, 'EN25F40', 0x1c3113, 512 * K),
  part(EON_F, 'EN25F80', 0x1c3114, 1 * M),
  part(EON_F, 'EN25F16', 0x1c3115, 2 * M),
  part(EON_F, 'EN25F32', 0x1c3116, 4 * M),
  part(EON_F, 'EN25F64', 0x1c3117, 8 * M),
  part(EON_P, 'EN25P16', 0x1c2015, 2 * M),
  part(EON_P, 'EN25P32', 0x1c2016, 4 * M),
  part(EON_P, 'EN25P64', 0x1c2017, 8 * M),
  part(EON_Q, 'EN25Q40', 0x1c3013, 512 * K),
  part(EON_Q, 'EN25Q80', 0x1c3014, 1 * M, { aliases: ['EN25Q80A'] }),
  part(EON_Q, 'EN25Q16', 0x1c3015, 2 * M),
  part(EON_Q, 'EN25Q32', 0x1c3016, 4 * M, { aliases: ['EN25Q32A', 'EN25Q32B'] }),
  part(EON_Q, 'EN25Q64', 0x1c3017, 8 * M),
  part(EON_Q, 'EN25Q128', 0x1c3018, 16 * M),
  part(EON_Q, 'EN25QH16', 0x1c7015, 2 * M),
  part(EON_Q, 'EN25QH32', 0x1c7016, 4 * M, { aliases: ['EN25QH32B'] }),
  part(EON_Q, 'EN25QH64', 0x1c7017, 8 * M, { aliases: ['EN25QH64A'] }),
  part(EON_Q, 'EN25QH128', 0x1c7018, 16 * M, { aliases: ['EN25QH128A'] }),
  part(EON_Q, 'EN25QX128A', 0x1c7118, 16 * M),
  part(EON_S, 'EN25S20', 0x1c3812, 256 * K),
  part(EON_S, 'EN25S40', 0x1c3813, 512 * K),
  part(EON_S, 'EN25S80', 0x1c3814, 1 * M),
  part(EON_S, 'EN25S16', 0x1c3815, 2 * M, { erase: [er(4 * KiB, 0x20, 60, 300)] }),
  part(EON_S, 'EN25S32', 0x1c3816, 4 * M),
  part(EON_S, 'EN25S64', 0x1c3817, 8 * M),

  // Adesto / Atmel
  part(ADESTO_DF, 'AT25DF021', 0x1f4300, 256 * K),
  part(ADESTO_DF, 'AT25DF021A', 0x1f4301, 256 * K),
  part(ADESTO_DF, 'AT25DF041A', 0x1f4401, 512 * K),
  part(ADESTO_DF, 'AT25DF081', 0x1f4502, 1 * M),
  part(ADESTO_DF, 'AT25DF081A', 0x1f4501, 1 * M, { aliases: ['AT26DF081A'] }),
  part(ADESTO_DF, 'AT25DF161', 0x1f4602, 2 * M),
  part(ADESTO_DF, 'AT25DL161', 0x1f4603, 2 * M, { voltage: V18 }),
  part(ADESTO_DF, 'AT25DQ161', 0x1f8600, 2 * M),
  part(ADESTO_DF, 'AT26DF161', 0x1f4600, 2 * M),
  part(ADESTO_DF, 'AT26DF161A', 0x1f4601, 2 * M),
  part(ADESTO_DF, 'AT25DF321', 0x1f4700, 4 * M),
  part(ADESTO_DF, 'AT25DF321A', 0x1f4701, 4 * M),
  part(ADESTO_DF, 'AT25DF641', 0x1f4800, 8 * M, { aliases: ['AT25DF641A'] }),
  part(ADESTO_SF, 'AT25SF041', 0x1f8401, 512 * K),
  part(ADESTO_SF, 'AT25SF081', 0x1f8501, 1 * M),
  part(ADESTO_SF, 'AT25SF161', 0x1f8601, 2 * M),
  part(ADESTO_SF, 'AT25SF321', 0x1f8701, 4 * M),
  part(ADESTO_SF, 'AT25SF128A', 0x1f8901, 16 * M),
  part(ADESTO_SF, 'AT25SL128A', 0x1f4218, 16 * M, { voltage: V18 }),

  // GigaDevice-compatible second sources
  part(BOYA, 'BY25D20', 0x684012, 256 * K, { aliases: ['BY25Q20BS'] }),
  part(BOYA, 'BY25D40', 0x684013, 512 * K, { aliases: ['BY25Q40BS'] }),
  part(BOYA, 'BY25D80', 0x684014, 1 * M, { aliases: ['BY25D80A', 'BG25D80A', 'BY25Q80BS'] }),
  part(BOYA, 'BY25D16', 0x684015, 2 * M, { aliases: ['BY25D16A', 'BY25Q16BS'] }),
  part(BOYA, 'BY25Q32', 0x684016, 4 * M, { aliases: ['BY25Q32BS', 'BY25Q32AL'] }),
  part(BOYA, 'BY25Q64', 0x684017, 8 * M, { aliases: ['BY25Q64AS'] }),
  part(BOYA, 'BY25Q128', 0x684018, 16 * M, { aliases: ['BY25Q128AS'] }),
  part(XTX, 'XT25F02E', 0x0b4012, 256 * K, { erase: [er(4 * KiB, 0x20, 50, 400), er(64 * KiB, 0xd8, 250, 1200)] }),
  part(XTX, 'XT25F64B', 0x0b4017, 8 * M),
  part(XTX, 'XT25F128B', 0x0b4018, 16 * M),
  part(FUDAN, 'FM25Q04', 0xa14013, 512 * K),
  part(FUDAN, 'FM25Q08', 0xa14014, 1 * M),
  part(FUDAN, 'FM25Q16', 0xa14015, 2 * M),
  part(FUDAN, 'FM25Q32', 0xa14016, 4 * M),
  part(FUDAN, 'FM25Q64', 0xa14017, 8 * M),
  part(FUDAN, 'FM25Q128', 0xa14018, 16 * M),
  part(ZBIT, 'ZB25VQ16', 0x0e4015, 2 * M),
];
