import { planErase, type EraseOp } from '../../chips/spi-nor/erase-plan';
import { SpiNorOp, SR1, SR2 } from '../../chips/spi-nor/opcodes';
import { MiB, type SpiNorChip } from '../../chips/spi-nor/types';
import type { AbortSignalLike, Clock } from '../../core/io/clock';
import { FlashError } from '../../shared/errors';
import type { LogFn } from '../types';
import type { SpiTransaction } from './client';

/** Anything that runs SPI transactions in order: the serprog client, or another programmer later. */
export interface SpiBus {
  transfer(ops: readonly SpiTransaction[]): Promise<Uint8Array[]>;
  /** Largest write phase (opcode + address + data) and read phase one transaction may have. */
  readonly maxWrite: number;
  readonly maxRead: number;
}

export interface NorEnv {
  clock: Clock;
  signal: AbortSignalLike;
  log: LogFn;
}

export interface ProtectionState {
  sr1: number;
  sr2: number;
  protected: boolean;
}

/** Read chunk when the programmer does not say (serprog.md §3 step 5: cap reads to something sane). */
const DEFAULT_READ_CHUNK = 4096;
/** Extra wait on top of the datasheet maximum before a busy part is reported as stuck. */
const BUSY_MARGIN_MS = 2000;
/** Calibration: status samples of this many line bytes each taken after the first page program. */
const SAMPLE_BYTES = 24;
const SAMPLES = 32;
const SPECULATIVE_ROUNDS = 4;
/** Padding never grows past this (a part this slow is better served one page at a time). */
const MAX_PAD_BYTES = 8192;

const tx = (...bytes: number[]): SpiTransaction => ({ write: Uint8Array.from(bytes), readLength: 0 });
const rdsr = (): SpiTransaction => ({ write: Uint8Array.of(SpiNorOp.RDSR), readLength: 1 });

/** Wakes a part from deep power-down (RES) and reads its RDID bytes (3 + variant bytes). */
export async function readJedecId(bus: SpiBus, length = 6): Promise<Uint8Array> {
  const [, id] = await bus.transfer([tx(SpiNorOp.RES), { write: Uint8Array.of(SpiNorOp.RDID), readLength: length }]);
  return id!;
}

/** RDSFDP: 3-byte address and 8 dummy clocks, whatever the part's addressing mode (JESD216 6.1). */
export function sfdpReader(bus: SpiBus): (address: number, length: number) => Promise<Uint8Array> {
  return async (address, length) => {
    const [data] = await bus.transfer([{ write: Uint8Array.of(SpiNorOp.RDSFDP, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff, 0), readLength: length }]);
    return data!;
  };
}

/**
 * Program, erase, read and protection of one identified SPI NOR part over an SpiBus.
 *
 * Page programming is pipelined: each page goes out as WREN, RDSR, PP without waiting, and the
 * RDSR tells afterwards whether that WREN found the part idle (WIP 0, WEL 1). A page whose check
 * failed was ignored by the part (it ignores WREN while busy and PP without WEL) and is sent again.
 * Between pages a status read padded with dummy bytes gives the part its program time on the
 * line; the padding is measured once on the first page (status samples after it) and grows when
 * pages still find the part busy.
 */
export class NorFlash {
  /** Line bytes that cover one page program, once measured. */
  private padBytes: number | null = null;
  private fourByteMode = false;
  /** Smallest erase units known erased and not programmed since (skips re-erasing them). */
  private readonly blank: Uint8Array;
  private readonly unit: number;

  constructor(
    private readonly bus: SpiBus,
    readonly chip: SpiNorChip,
    private readonly env: NorEnv,
  ) {
    this.unit = chip.erase[0]?.size ?? chip.size;
    this.blank = new Uint8Array(Math.ceil(chip.size / this.unit));
  }

  /** Bytes of address after the opcode: 4 on parts above 16 MiB (native opcodes or EN4B mode). */
  private get addressBytes(): number {
    return this.chip.size > 16 * MiB ? 4 : 3;
  }

  private addressed(op: number, address: number, extra: ArrayLike<number> = []): Uint8Array {
    const n = this.addressBytes;
    const out = new Uint8Array(1 + n + extra.length);
    out[0] = op;
    for (let i = 0; i < n; i++) out[1 + i] = Math.floor(address / 256 ** (n - 1 - i)) & 0xff;
    out.set(extra, 1 + n);
    return out;
  }

  /** EN4B for parts that need the mode (WREN first, which some of them require). */
  async prepare(): Promise<void> {
    if (this.chip.addressing === '4-enter' && !this.fourByteMode) {
      await this.bus.transfer([tx(SpiNorOp.WREN), tx(SpiNorOp.EN4B), tx(SpiNorOp.WRDI)]);
      this.fourByteMode = true;
    }
  }

  /** Leaves 4-byte mode, so a board booting from this part finds it as it expects. */
  async finish(): Promise<void> {
    if (this.fourByteMode) {
      await this.bus.transfer([tx(SpiNorOp.EX4B)]);
      this.fourByteMode = false;
    }
  }

  async read(address: number, length: number): Promise<Uint8Array> {
    await this.prepare();
    const chunk = Math.min(this.bus.maxRead || DEFAULT_READ_CHUNK, DEFAULT_READ_CHUNK * 16);
    const op = this.chip.addressing === '4-native' ? SpiNorOp.READ4B : SpiNorOp.READ;
    const ops: SpiTransaction[] = [];
    for (let at = 0; at < length; at += chunk) {
      ops.push({ write: this.addressed(op, address + at), readLength: Math.min(chunk, length - at) });
    }
    const parts = await this.bus.transfer(ops);
    const out = new Uint8Array(length);
    parts.forEach((p, i) => out.set(p, i * chunk));
    // What was just read is the truth about those units: a later write skips erasing blank ones
    // (skip-unchanged reads everything first, so on a blank part nothing is erased).
    for (let u = Math.ceil(address / this.unit) * this.unit; u + this.unit <= address + length; u += this.unit) {
      const bytes = out.subarray(u - address, u - address + this.unit);
      this.blank[u / this.unit] = bytes.every((b) => b === 0xff) ? 1 : 0;
    }
    return out;
  }

  async protection(): Promise<ProtectionState> {
    const ops = [rdsr()];
    if (this.chip.protect.cmp) ops.push({ write: Uint8Array.of(SpiNorOp.RDSR2), readLength: 1 });
    const [s1, s2] = await this.bus.transfer(ops);
    const sr1 = s1![0]!;
    const sr2 = s2?.[0] ?? 0;
    const bp = sr1 & this.chip.protect.bpMask;
    return { sr1, sr2, protected: bp !== 0 || (this.chip.protect.cmp && (sr2 & SR2.CMP) !== 0) };
  }

  /** Clears the block-protect bits (and CMP), then checks that they really cleared. */
  async unprotect(): Promise<ProtectionState> {
    const before = await this.protection();
    const sr1 = before.sr1 & ~this.chip.protect.bpMask & ~(SR1.WIP | SR1.WEL);
    const write = this.chip.protect.cmp ? [SpiNorOp.WRSR, sr1, before.sr2 & ~SR2.CMP & ~SR2.SRL] : [SpiNorOp.WRSR, sr1];
    await this.bus.transfer([tx(SpiNorOp.WREN), tx(...write)]);
    await this.waitReady(10, 100, 'writing the status register');
    const after = await this.protection();
    if (after.protected) {
      const locked = (after.sr1 & SR1.SRP0) !== 0;
      throw new FlashError('write-protected', `${this.chip.id} kept its write protection (status ${statusText(after)}).`, {
        hint: locked
          ? 'The status register is locked by the WP# pin (SRP0 is set): pull WP# high (check the socket adapter or clip wiring) and try again.'
          : 'The part ignores status writes: check the WP# pin and the contact of the clip or socket.',
        details: { sr1: after.sr1, sr2: after.sr2 },
      });
    }
    this.env.log('info', `Block protection cleared on ${this.chip.id} (status ${statusText(before)} → ${statusText(after)}).`);
    return after;
  }

  /**
   * Erases what [address, address+length) needs, with the quickest aligned erase set; units known
   * to be blank since this session erased them are left alone.
   */
  async eraseRange(address: number, length: number, onlyDirty = true): Promise<EraseOp[]> {
    await this.prepare();
    const ops = planErase(address, address + length, this.chip.erase, (a) => !onlyDirty || this.blank[a / this.unit] === 0);
    for (const op of ops) {
      const opcode = this.chip.addressing === '4-native' ? op.type.opcode4b! : op.type.opcode;
      await this.writeEnabled(this.addressed(opcode, op.address), `erasing ${op.type.size / 1024} KiB at ${hexAddress(op.address)}`);
      await this.waitReady(op.type.typMs, op.type.maxMs, `erasing ${op.type.size / 1024} KiB at ${hexAddress(op.address)}`);
      this.blank.fill(1, op.address / this.unit, (op.address + op.type.size) / this.unit);
    }
    return ops;
  }

  /** Chip erase, or every block when the part has none (multi-die parts). */
  async eraseChip(): Promise<void> {
    await this.prepare();
    const ce = this.chip.chipErase;
    if (!ce) {
      await this.eraseRange(0, this.chip.size, false);
      return;
    }
    await this.writeEnabled(Uint8Array.of(ce.opcode), 'erasing the whole chip');
    await this.waitReady(ce.typMs, ce.maxMs, 'erasing the whole chip');
    this.blank.fill(1);
  }

  /** Programs `data` at `address` (already erased), page by page; pages that are all FFh are left out. */
  async program(address: number, data: Uint8Array): Promise<void> {
    await this.prepare();
    for (let off = 0; off < data.length; off += this.unit) {
      if (data.subarray(off, off + this.unit).some((b) => b !== 0xff)) this.blank[Math.floor((address + off) / this.unit)] = 0;
    }
    let pending = this.chunks(address, data);
    if (pending.length === 0) return;
    if (this.padBytes === null) {
      this.padBytes = await this.calibrate(pending[0]!);
      pending = pending.slice(1);
    }
    for (let round = 0; pending.length > 0; round++) {
      if (round >= SPECULATIVE_ROUNDS) {
        for (const c of pending) await this.programOne(c);
        break;
      }
      // The part is idle here (erase or the previous round waited), so the first page needs no padding.
      const ops: SpiTransaction[] = [];
      const checks: number[] = [];
      pending.forEach((c, i) => {
        if (i > 0) ops.push(...this.padding(this.padBytes!));
        ops.push(tx(SpiNorOp.WREN));
        checks.push(ops.length);
        ops.push(rdsr());
        ops.push({ write: c.frame, readLength: 0 });
      });
      const results = await this.bus.transfer(ops);
      const failed = pending.filter((_, i) => {
        const s = results[checks[i]!]![0]!;
        return (s & SR1.WIP) !== 0 || (s & SR1.WEL) === 0;
      });
      if (failed.length > 0) {
        this.padBytes = Math.min(MAX_PAD_BYTES, Math.ceil(this.padBytes! * 1.5) + 16);
        this.env.log('debug', `${failed.length} of ${pending.length} pages found the part busy; padding now ${this.padBytes} bytes.`);
      }
      pending = failed;
      await this.waitReady(this.chip.program.typMs, this.chip.program.maxMs, 'programming');
    }
  }

  /** Status reads carrying `bytes` dummy bytes in all, each within the programmer's write limit. */
  private padding(bytes: number): SpiTransaction[] {
    const ops: SpiTransaction[] = [];
    const most = Math.max(1, (this.bus.maxWrite || Infinity) - 1);
    for (let left = bytes; left > 0; left -= most) {
      const write = new Uint8Array(1 + Math.min(most, left));
      write[0] = SpiNorOp.RDSR;
      ops.push({ write, readLength: 1 });
    }
    return ops;
  }

  /**
   * Programs one page while sampling the status on the line after it: the first idle sample tells
   * how many line bytes a page program takes on this programmer, link and part.
   */
  private async calibrate(first: { address: number; frame: Uint8Array }): Promise<number> {
    const samples = Array.from({ length: SAMPLES }, () => this.padding(SAMPLE_BYTES - 1)[0]!);
    const results = await this.bus.transfer([tx(SpiNorOp.WREN), rdsr(), { write: first.frame, readLength: 0 }, ...samples]);
    const check = results[1]![0]!;
    if ((check & SR1.WEL) === 0 || (check & SR1.WIP) !== 0) {
      await this.waitReady(this.chip.program.typMs, this.chip.program.maxMs, 'programming');
      await this.programOne(first);
    }
    const busySamples = results.slice(3).findIndex((r) => (r[0]! & SR1.WIP) === 0);
    const busy = busySamples < 0 ? SAMPLES : busySamples;
    await this.waitReady(this.chip.program.typMs, this.chip.program.maxMs, 'programming');
    // Each sample is 7 bytes of O_SPIOP header plus SAMPLE_BYTES on the line; 20 % margin for
    // pages that program slower (the retry rounds catch the rest).
    const pad = Math.ceil(busy * (7 + SAMPLE_BYTES) * 1.2);
    this.env.log('debug', `Page program measured at ${busy} status samples: padding ${pad} bytes between pages.`);
    return pad;
  }

  /** One page, the careful way: WREN, check WEL, PP, wait until done. */
  private async programOne(c: { address: number; frame: Uint8Array }): Promise<void> {
    await this.writeEnabled(c.frame, `programming ${hexAddress(c.address)}`);
    await this.waitReady(this.chip.program.typMs, this.chip.program.maxMs, `programming ${hexAddress(c.address)}`);
  }

  /** PP frames for the non-blank pages of `data`, split to the page and the programmer's write limit. */
  private chunks(address: number, data: Uint8Array): { address: number; frame: Uint8Array }[] {
    const op = this.chip.addressing === '4-native' ? SpiNorOp.PP4B : SpiNorOp.PP;
    const limit = Math.max(1, Math.min(this.chip.pageSize, (this.bus.maxWrite || Infinity) - 1 - this.addressBytes));
    const out: { address: number; frame: Uint8Array }[] = [];
    for (let off = 0; off < data.length; ) {
      const a = address + off;
      const pageEnd = a - (a % this.chip.pageSize) + this.chip.pageSize;
      const n = Math.min(limit, pageEnd - a, data.length - off);
      const bytes = data.subarray(off, off + n);
      if (bytes.some((b) => b !== 0xff)) out.push({ address: a, frame: this.addressed(op, a, bytes) });
      off += n;
    }
    return out;
  }

  /** WREN, RDSR (must show WEL), then the write-type command, in one pipelined go. */
  private async writeEnabled(command: Uint8Array, what: string): Promise<void> {
    const [, status] = await this.bus.transfer([tx(SpiNorOp.WREN), rdsr(), { write: command, readLength: 0 }]);
    const s = status![0]!;
    if ((s & SR1.WEL) === 0 || (s & SR1.WIP) !== 0) {
      throw new FlashError('nak', `${this.chip.id} did not accept Write Enable before ${what} (status ${hex2(s)}).`, {
        hint: 'Check the contact of the clip or socket (MOSI, CS#) and that WP#/HOLD# are not pulled low.',
        details: { status: s },
      });
    }
  }

  /** Polls RDSR until WIP clears: first after most of the typical time, then often. */
  async waitReady(typMs: number, maxMs: number, what: string): Promise<number> {
    const { clock, signal } = this.env;
    const started = clock.now();
    const deadline = started + maxMs + BUSY_MARGIN_MS;
    if (typMs >= 2) await clock.sleep(typMs * 0.85, signal);
    const interval = Math.min(20, typMs / 40);
    for (;;) {
      const [status] = await this.bus.transfer([rdsr()]);
      const s = status![0]!;
      if ((s & SR1.WIP) === 0) return s;
      if (clock.now() > deadline) {
        throw new FlashError('timeout', `${this.chip.id} stayed busy ${what} for ${Math.round(clock.now() - started)} ms (datasheet maximum ${maxMs} ms).`, {
          hint: 'The part may be worn out or not the one selected; check the contact and try once more.',
          details: { status: s, maxMs },
        });
      }
      if (interval >= 0.5) await clock.sleep(interval, signal);
    }
  }
}

export function statusText(p: ProtectionState): string {
  return p.sr2 ? `SR1=${hex2(p.sr1)} SR2=${hex2(p.sr2)}` : `SR1=${hex2(p.sr1)}`;
}

function hex2(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0').toUpperCase();
}

function hexAddress(a: number): string {
  return '0x' + a.toString(16).padStart(6, '0').toUpperCase();
}

