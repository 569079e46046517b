import { encodeSfdp } from '../../chips/spi-nor/sfdp';
import { MiB, type EraseType, type SpiNorChip } from '../../chips/spi-nor/types';
import { SpiNorOp, SR1, SR2 } from '../../chips/spi-nor/opcodes';

/** Winbond W25Q128JV tW: a status register write takes 10 ms typical. */
const STATUS_WRITE_MS = 10;

export interface FlashModelOptions {
  /** Power up with block protection set (BP bits all ones). */
  protected?: boolean;
  /** SRP0 set and the WP# pin held low: status register writes are ignored. */
  wpLocked?: boolean;
  /** Answer RDSFDP with nothing (older parts). */
  noSfdp?: boolean;
  /** Report this RDID instead of the part's own (an unknown part that still has SFDP). */
  jedecId?: number;
  /** Power up in deep power-down: only RES (ABh) is heard until then. */
  deepPowerDown?: boolean;
}

export interface EraseRecord {
  address: number;
  size: number;
}

/**
 * One SPI NOR part at the level of CS-low transactions, with time: program and erase make it busy
 * for the datasheet-typical time, and while busy it only answers status reads, as a real part does.
 *
 * Invariants:
 * - programming only clears bits (new = old AND data); only erase sets them back to 1;
 * - PP, erase and status writes need WEL, which every one of them clears when it completes;
 * - a PP never leaves its page: the address wraps inside it and only the last `pageSize` bytes count;
 * - in 3-byte mode addresses wrap at 16 MiB; 4-byte opcodes and EN4B reach the rest;
 * - block protection makes PP and erase in the protected range do nothing (WEL still clears).
 */
export class FlashModel {
  readonly memory: Uint8Array;
  sr1 = 0;
  sr2 = 0;
  sr3 = 0;
  fourByteMode = false;
  busyUntil = 0;
  /** WP# pin level: false = held low (asserted). */
  wpPinHigh = true;
  deepPowerDown: boolean;
  /** Everything erased and programmed, for tests: which sectors a job really touched. */
  readonly erases: EraseRecord[] = [];
  pagesProgrammed = 0;
  chipErases = 0;
  /** Erase cycles per smallest erase unit: the wear a socket programmer's log would show. */
  readonly eraseCycles: Uint32Array;
  private welAtEnd = false;
  private volatileSrWrite = false;
  private readonly sfdp: Uint8Array | null;
  private readonly rdid: number[];

  constructor(
    readonly chip: SpiNorChip,
    opts: FlashModelOptions = {},
  ) {
    this.memory = new Uint8Array(chip.size).fill(0xff);
    this.sfdp = chip.sfdp && !opts.noSfdp ? encodeSfdp(chip) : null;
    const id = opts.jedecId ?? chip.jedecId;
    this.rdid = [(id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff, ...(chip.idExtra ?? [])];
    if (opts.protected || opts.wpLocked) this.sr1 |= chip.protect.bpMask;
    if (opts.wpLocked) {
      this.sr1 |= SR1.SRP0;
      this.wpPinHigh = false;
    }
    this.deepPowerDown = Boolean(opts.deepPowerDown);
    this.eraseCycles = new Uint32Array(Math.ceil(chip.size / smallestErase(chip)));
  }

  /**
   * One transaction: `tx` is clocked out with CS low, then `readLength` bytes are clocked in.
   * `start` is when CS fell, `byteMs` the SPI time of one byte; effects begin when CS rises.
   */
  transfer(tx: Uint8Array, readLength: number, start: number, byteMs: number): Uint8Array {
    const out = new Uint8Array(readLength).fill(0xff);
    const op = tx[0];
    if (op === undefined) return out;
    const end = start + (tx.length + readLength) * byteMs;
    // The output stream starts after the command's header (opcode, address, dummy). Write-phase bytes
    // beyond the header still advance it; header bytes clocked in the read phase (flashrom reads
    // RDSFDP's dummy byte instead of sending it) come back as FFh before the data.
    const stream = (header: number, byteAt: (i: number) => number) => {
      const lead = header - tx.length;
      for (let i = 0; i < readLength; i++) out[i] = i < lead ? 0xff : byteAt(i - lead) & 0xff;
    };

    if (this.deepPowerDown) {
      if (op === SpiNorOp.RES) {
        this.deepPowerDown = false;
        stream(4, () => this.electronicSignature());
      }
      return out;
    }
    if (start < this.busyUntil) {
      // Busy: only the status registers answer (W25Q128JV 8.1: "all other instructions are ignored").
      if (op === SpiNorOp.RDSR) stream(1, (i) => this.status1(start + (tx.length + i) * byteMs));
      else if (op === SpiNorOp.RDSR2) stream(1, () => this.sr2);
      else if (op === SpiNorOp.RDSR3) stream(1, () => this.sr3);
      return out;
    }
    this.settle(start);

    switch (op) {
      case SpiNorOp.RDID:
        stream(1, (i) => this.rdid[i % this.rdid.length]!);
        break;
      case SpiNorOp.REMS:
        stream(4, (i) => (i % 2 === 0 ? this.rdid[0]! : this.electronicSignature()));
        break;
      case SpiNorOp.RES:
        stream(4, () => this.electronicSignature());
        break;
      case SpiNorOp.RDSR:
        stream(1, (i) => this.status1(start + (tx.length + i) * byteMs));
        break;
      case SpiNorOp.RDSR2:
        stream(1, () => this.sr2);
        break;
      case SpiNorOp.RDSR3:
        stream(1, () => this.sr3);
        break;
      case SpiNorOp.RDSFDP: {
        const address = ((tx[1] ?? 0) << 16) | ((tx[2] ?? 0) << 8) | (tx[3] ?? 0);
        if (this.sfdp) stream(5, (i) => this.sfdp![address + i] ?? 0xff);
        break;
      }
      case SpiNorOp.READ:
      case SpiNorOp.FAST_READ:
      case SpiNorOp.READ4B:
      case SpiNorOp.FAST_READ4B: {
        const four = op === SpiNorOp.READ4B || op === SpiNorOp.FAST_READ4B;
        if (four && this.chip.addressing !== '4-native') break;
        const bytes = four || this.fourByteMode ? 4 : 3;
        const dummy = op === SpiNorOp.FAST_READ || op === SpiNorOp.FAST_READ4B ? 1 : 0;
        const address = this.address(tx, bytes);
        stream(1 + bytes + dummy, (i) => this.memory[(address + i) % this.memory.length]!);
        break;
      }
      case SpiNorOp.WREN:
        if (tx.length === 1) this.sr1 |= SR1.WEL;
        break;
      case SpiNorOp.WRDI:
        if (tx.length === 1) this.sr1 &= ~SR1.WEL;
        break;
      case SpiNorOp.EWSR:
        this.volatileSrWrite = tx.length === 1;
        break;
      case SpiNorOp.WRSR:
      case SpiNorOp.WRSR2:
        this.writeStatus(op, tx, end);
        break;
      case SpiNorOp.PP:
      case SpiNorOp.PP4B:
        this.program(op, tx, end);
        break;
      case SpiNorOp.CE_60:
      case SpiNorOp.CE_C7:
        if (tx.length !== 1 || !this.takeWel()) break;
        if (!this.chip.chipErase || this.protectedRange()[1] > this.protectedRange()[0]) break;
        this.memory.fill(0xff);
        this.chipErases++;
        this.eraseCycles.forEach((_, i, a) => (a[i]! += 1));
        this.busy(end, this.chip.chipErase.typMs);
        break;
      case SpiNorOp.EN4B:
        if (this.chip.size > 16 * MiB) this.fourByteMode = true;
        break;
      case SpiNorOp.EX4B:
        this.fourByteMode = false;
        break;
      case SpiNorOp.DP:
        if (tx.length === 1) this.deepPowerDown = true;
        break;
      case SpiNorOp.RST:
        this.sr1 &= ~SR1.WEL;
        this.fourByteMode = false;
        break;
      default: {
        const erase = this.eraseType(op);
        if (erase) this.erase(erase, op === erase.type.opcode4b, tx, end);
        // Anything else: the part does not know the opcode and leaves MISO floating (reads FFh).
      }
    }
    return out;
  }

  private status1(at: number): number {
    let s = this.sr1 & ~SR1.WIP;
    if (at < this.busyUntil) s |= SR1.WIP | SR1.WEL;
    else if (this.welAtEnd) s &= ~SR1.WEL;
    return s;
  }

  /** Applies what finished before `now`: WEL clears when a program/erase/status write completes. */
  private settle(now: number): void {
    if (this.welAtEnd && now >= this.busyUntil) {
      this.sr1 &= ~SR1.WEL;
      this.welAtEnd = false;
    }
  }

  private busy(end: number, ms: number): void {
    this.busyUntil = end + ms;
    this.welAtEnd = true;
  }

  /** WEL is needed and consumed by every write-type command. */
  private takeWel(): boolean {
    if (!(this.sr1 & SR1.WEL)) return false;
    this.welAtEnd = true;
    return true;
  }

  private electronicSignature(): number {
    return ((this.rdid[2] ?? 0) - 1) & 0xff;
  }

  private address(tx: Uint8Array, bytes: number): number {
    let a = 0;
    for (let i = 1; i <= bytes; i++) a = a * 256 + (tx[i] ?? 0);
    return bytes === 3 ? a % Math.min(this.memory.length, 16 * MiB) : a % this.memory.length;
  }

  private writeStatus(op: number, tx: Uint8Array, end: number): void {
    if (tx.length < 2) return;
    const allowed = this.sr1 & SR1.WEL || this.volatileSrWrite;
    this.volatileSrWrite = false;
    if (!allowed) return;
    // SRP0 with WP# low: hardware-protected status register, the write is ignored.
    if (this.sr1 & SR1.SRP0 && !this.wpPinHigh) {
      this.sr1 &= ~SR1.WEL;
      return;
    }
    if (op === SpiNorOp.WRSR) {
      this.sr1 = (this.sr1 & (SR1.WIP | SR1.WEL)) | (tx[1]! & 0xfc);
      if (tx.length >= 3) this.sr2 = tx[2]! & (SR2.SRL | SR2.QE | SR2.CMP);
    } else {
      this.sr2 = tx[1]! & (SR2.SRL | SR2.QE | SR2.CMP);
    }
    this.sr1 |= SR1.WEL;
    this.busy(end, STATUS_WRITE_MS);
  }

  private program(op: number, tx: Uint8Array, end: number): void {
    const four = op === SpiNorOp.PP4B;
    if (four && this.chip.addressing !== '4-native') return;
    const bytes = four || this.fourByteMode ? 4 : 3;
    if (tx.length <= 1 + bytes || !this.takeWel()) return;
    const address = this.address(tx, bytes);
    const page = this.chip.pageSize;
    const pageStart = address - (address % page);
    const data = tx.subarray(1 + bytes);
    const [pStart, pEnd] = this.protectedRange();
    const kept = Math.min(data.length, page);
    const dropped = data.length - kept;
    if (!(pageStart >= pStart && pageStart < pEnd)) {
      for (let i = 0; i < kept; i++) {
        const offset = (address - pageStart + dropped + i) % page;
        this.memory[pageStart + offset]! &= data[dropped + i]!;
      }
      this.pagesProgrammed++;
    }
    this.busy(end, this.chip.program.typMs * (0.2 + (0.8 * kept) / page));
  }

  private eraseType(op: number): { type: EraseType } | null {
    for (const t of this.chip.erase) {
      if (t.opcode === op) return { type: t };
      if (t.opcode4b === op && this.chip.addressing === '4-native') return { type: t };
    }
    return null;
  }

  private erase({ type }: { type: EraseType }, four: boolean, tx: Uint8Array, end: number): void {
    const bytes = four || this.fourByteMode ? 4 : 3;
    if (tx.length !== 1 + bytes || !this.takeWel()) return;
    const start = this.address(tx, bytes) - (this.address(tx, bytes) % type.size);
    const [pStart, pEnd] = this.protectedRange();
    if (start < pEnd && start + type.size > pStart) return;
    this.memory.fill(0xff, start, start + type.size);
    this.erases.push({ address: start, size: type.size });
    const unit = smallestErase(this.chip);
    for (let a = start; a < start + type.size; a += unit) this.eraseCycles[a / unit]! += 1;
    this.busy(end, type.typMs);
  }

  /**
   * The protected address range [start, end). Winbond-style decode for BP0-2 in bits 2-4 (top
   * 1/64 of the array doubling per step, TB bit 5 moves it to the bottom, CMP inverts); parts with
   * other layouts are modelled as "any BP bit protects everything".
   */
  protectedRange(): [number, number] {
    const size = this.chip.size;
    const bpBits = this.sr1 & this.chip.protect.bpMask;
    const cmp = this.chip.protect.cmp && (this.sr2 & SR2.CMP) !== 0;
    let range: [number, number];
    if (bpBits === 0) range = [0, 0];
    else if (this.chip.protect.bpMask !== 0x1c) range = [0, size];
    else {
      const bp = bpBits >> 2;
      const length = bp === 7 ? size : Math.min(size, (size / 64) * 2 ** (bp - 1));
      range = this.sr1 & 0x20 ? [0, length] : [size - length, size];
    }
    if (!cmp) return range;
    if (range[1] === range[0]) return [0, size];
    // The complement of one end of the array is the other end.
    return range[0] === 0 ? [range[1], size] : [0, range[0]];
  }
}

function smallestErase(chip: SpiNorChip): number {
  return chip.erase[0]?.size ?? 4096;
}
