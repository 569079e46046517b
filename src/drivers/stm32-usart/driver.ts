import {
  eraseTimeMs,
  eraseUnits,
  findStm32Family,
  findStm32Part,
  massEraseTimeMs,
  pidHex,
  programTimeMs,
  STM32_FLASH_BASE,
  type EraseUnit,
  type Stm32Family,
  type Stm32Part,
} from '../../chips/stm32';
import { concatBytes } from '../../core/bytes/concat';
import { hasConsent } from '../../core/job/options';
import { FlashError, isFlashError } from '../../shared/errors';
import type { BlockConstraints, Driver, DriverContext, Identified } from '../types';
import { planPageSize } from './meta';
import { parseBootSequence, parseOptions, UNPROTECT_CONSENT, type BootStep, type Stm32UsartOptions } from './options';
import {
  addressHex,
  byteHex,
  Cmd,
  commandFrame,
  eraseFrame,
  ExtendedErase,
  extendedEraseFrame,
  MAX_ERASE_PAGES,
  MAX_TRANSFER,
  readLengthFrame,
  Reply,
  stm32Crc,
  SYNC,
  wordFrame,
  writeDataFrame,
  writeProtectFrame,
  xorOf,
} from './protocol';

/** Bits per byte on the 8E1 line: start, 8 data, parity, stop. */
const BITS_PER_FRAME = 11;
/** How long the ROM gets to answer each 0x7F (stm32flash waits 500 ms), and how long we keep trying. */
const SYNC_ATTEMPT_MS = 300;
const SYNC_WINDOW_MS = 1500;
/** Time for the ROM to start after an entry sequence or a self-reset before it hears 0x7F. */
const ROM_SETTLE_MS = 30;
/** On top of line time and device time, for USB-serial latency and OS scheduling. */
const REPLY_MARGIN_MS = 250;
/** Attempts per Read/Write Memory or erase before giving up. */
const MAX_ATTEMPTS = 5;
/** Give up recovering sync after this long. */
const RESYNC_MS = 5000;
/**
 * Blocks the job hands over: writes up to 4 KiB (several pages share one erase command and one
 * round trip), reads and checksums up to 8 KiB; on the wire each is still 256-byte frames.
 */
const WRITE_GROUP = 4096;
const READ_GROUP = 8192;

const HINT_NO_BOOTLOADER =
  'Set BOOT0 high (BOOT0 jumper to 1; on an F1 also BOOT1/PB2 low) and press RESET, then try again. Check that adapter TX goes to ' +
  'the chip RX (PA10 on most parts) and RX to TX (PA9). If the adapter drives BOOT0/NRST from RTS/DTR, give a boot sequence (option "boot", as stm32flash -i).';

/**
 * Host side of the STM32 system bootloader on a UART (AN3155), after stm32flash's flow:
 * sync on 0x7F, Get / Get Version / Get ID, then Read/Write Memory in 256-byte frames and Erase or
 * Extended Erase by page, sector, bank or mass.
 *
 * Invariants:
 * - nothing is erased before identify() has matched the product ID and flash size to the chosen part;
 * - an erase unit is erased at most once per session before its first write, and only bytes of that
 *   unit the job writes, or that this session read before (skip-unchanged), are programmed back:
 *   uniform-page parts are planned in whole pages, so nothing else is ever lost; a sector part erases the
 *   whole sector, as every ROM-bootloader tool does;
 * - a frame that fails (NACK, timeout, garbage) is retried step by step after a resync, at most
 *   MAX_ATTEMPTS times; a write that may have half-programmed its bytes is re-erased and rewritten;
 * - read-out protection is removed only with the consent phrase UNPROTECT_CONSENT.
 */
export class Stm32UsartDriver implements Driver {
  /** Set in identify() when the ROM lists Get Checksum: verify by device CRC instead of reading back. */
  verifyBlock?: (memory: string, address: number, expected: Uint8Array) => Promise<{ equal: boolean; device: string; expected: string }>;

  private readonly options: Stm32UsartOptions;
  private readonly boot: { entry: BootStep[]; exit: BootStep[] };
  private readonly baud: number;
  private synced = false;
  private commands = new Set<number>();
  private version = 0;
  private family: Stm32Family | null = null;
  private part: Stm32Part | null = null;
  private flashSize = 0;
  private units: EraseUnit[] = [];
  /** Erase units erased in this session. */
  private readonly erased = new Set<number>();
  /** 256-byte chunks read before being erased this session: what skip-unchanged expects to survive. */
  private readonly readCache = new Map<number, Uint8Array>();
  /** Chunks this session programmed, so a unit erased again can be rewritten. */
  private readonly written = new Map<number, Uint8Array>();
  /** Chunks to program back into units erased this session, in address order. */
  private readonly pending = new Map<number, Uint8Array>();
  private signalsWork = true;
  /** Bytes received beyond what a read asked for. */
  private spare: Uint8Array = new Uint8Array(0);
  /** The whole flash was erased in this session (readout unprotect): no unit needs erasing before a write. */
  private wiped = false;

  constructor(
    private readonly ctx: DriverContext,
    options: Stm32UsartOptions = {},
  ) {
    this.options = { pipeline: true, ...options };
    this.boot = parseBootSequence(this.options.boot ?? '');
    this.baud = ctx.baudRate ?? 115200;
  }

  async connect(): Promise<void> {
    if (this.ctx.baudRate) await this.ctx.stream.setBaud(this.ctx.baudRate);
    if (this.boot.entry.length > 0) {
      await this.playSequence(this.boot.entry, 'entry');
      await this.ctx.clock.sleep(ROM_SETTLE_MS, this.ctx.signal);
    }
    await this.sync();
    try {
      await this.get();
    } catch (err) {
      if (fatal(err)) throw err;
      this.ctx.log('debug', `Get failed (${(err as Error).message}); resynchronising.`);
      await this.resync();
      await this.get();
    }
  }

  async identify(): Promise<Identified> {
    const { option1, option2 } = await this.retry('Get Version', () => this.getVersion());
    this.ctx.log('debug', `Bootloader v${this.versionText()}, option bytes ${byteHex(option1)} ${byteHex(option2)}.`);
    const pid = await this.retry('Get ID', () => this.getId());
    const family = findStm32Family(pid);
    const wanted = this.ctx.targetId ? findStm32Part(this.ctx.targetId) : undefined;
    if (this.ctx.targetId && !wanted) {
      throw new FlashError('not-found', `Unknown STM32 part "${this.ctx.targetId}".`, {
        hint: 'Use one of the part names this driver lists (for example stm32f103c8 for a Blue Pill), or leave the part out to detect it.',
      });
    }
    if (wanted && wanted.pid !== pid) {
      const what = family ? `${family.name} (product ID 0x${pidHex(pid)})` : `an unknown chip (product ID 0x${pidHex(pid)})`;
      throw new FlashError('wrong-target', `The board reports ${what}, but ${wanted.name} (0x${pidHex(wanted.pid)}) was selected. Nothing was erased.`, {
        hint: family ? `Select a ${family.name} part, or connect the board you meant to flash.` : 'Check the wiring and the selected part.',
        details: { expected: pidHex(wanted.pid), actual: pidHex(pid) },
      });
    }
    if (!family) {
      throw new FlashError('wrong-target', `The board reports product ID 0x${pidHex(pid)}, which webprog does not know.`, {
        hint: 'Check the chip marking; if it is an STM32 (or a clone) it needs an entry in the STM32 part table.',
        details: { actual: pidHex(pid) },
      });
    }
    this.family = family;
    this.part = wanted ?? null;
    const reported = await this.probeFlashSize(family);
    this.flashSize = this.chooseFlashSize(family, wanted, reported);
    this.units = eraseUnits(family, this.flashSize);
    if (this.wiped) for (const u of this.units) this.erased.add(u.number);
    if (this.commands.has(Cmd.GET_CHECKSUM)) this.verifyBlock = (m, a, d) => this.crcVerify(m, a, d);
    const name = wanted?.name ?? `${family.name} (${this.flashSize / 1024} KiB flash)`;
    return {
      device: {
        id: pidHex(pid),
        name,
        bootloader: `STM32 system bootloader v${this.versionText()} (${this.eraseCommand() === Cmd.ERASE ? 'Erase' : 'Extended Erase'}${this.verifyBlock ? ', Get Checksum' : ''})`,
        baudRate: this.baud,
      },
      memories: [{ name: 'flash', base: STM32_FLASH_BASE, size: this.flashSize, pageSize: planPageSize(family), reserved: [] }],
    };
  }

  /** 8E1 at the session's rate: the ceiling the job's time left respects. */
  lineRate(): number {
    return this.baud / BITS_PER_FRAME;
  }

  constraints(memory: string): BlockConstraints {
    const family = this.requireFamily();
    this.requireFlash(memory);
    const pageSize = planPageSize(family);
    const maxBlock = Math.max(pageSize, WRITE_GROUP);
    return { pageSize, maxBlock, maxReadBlock: Math.max(maxBlock, READ_GROUP), fill: family.erasedValue };
  }

  async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    this.requireFlash(memory);
    const end = address + data.length;
    const fresh = this.unitsIn(address, end).filter((u) => !this.erased.has(u.number));
    if (fresh.length > 0) await this.eraseForWrite(fresh, address, end);
    await this.flushPending(address);
    for (let at = address; at < end; at += MAX_TRANSFER) {
      await this.writeChunk(at, data.subarray(at - address, Math.min(end, at + MAX_TRANSFER) - address));
    }
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    this.requireFlash(memory);
    await this.flushPending(Infinity);
    const out = new Uint8Array(length);
    for (let at = address; at < address + length; at += MAX_TRANSFER) {
      const n = Math.min(MAX_TRANSFER, address + length - at);
      const chunk = await this.readChunk(at, n);
      out.set(chunk, at - address);
      if (n === MAX_TRANSFER && at % MAX_TRANSFER === 0 && !this.erased.has(this.unitAt(at)?.number ?? -1)) this.readCache.set(at, chunk);
    }
    return out;
  }

  /** Mass erase (Erase FF 00 or Extended Erase FFFF); page by page where the ROM has no mass erase. */
  async erase(): Promise<void> {
    const family = this.requireFamily();
    this.pending.clear();
    if (!family.bootloader.massErase) {
      this.ctx.log('info', `${family.name}: no mass erase in this ROM; erasing all ${this.units.length} pages.`);
      await this.eraseNumbers(this.units.map((u) => u.number));
    } else {
      const ms = massEraseTimeMs(family, this.flashSize);
      const body = this.eraseCommand() === Cmd.ERASE ? eraseFrame('global') : extendedEraseFrame(ExtendedErase.MASS);
      await this.retry('mass erase', () => this.transact(this.eraseCommand(), [body], ms, 'mass erase'));
    }
    for (const u of this.units) this.erased.add(u.number);
    this.readCache.clear();
    this.written.clear();
  }

  /** Extended Erase of one bank (dual-bank F42x/43x, F469/479, H74x/75x). */
  async eraseBank(bank: 1 | 2): Promise<void> {
    const family = this.requireFamily();
    if (this.eraseCommand() !== Cmd.EXTENDED_ERASE || family.layout.kind !== 'sectors') {
      throw new FlashError('unsupported', `${family.name} has no bank erase.`);
    }
    const half = family.layout.sectors.length / 2;
    const units = this.units.filter((u) => (bank === 1 ? u.number < half : u.number >= half));
    const ms = units.reduce((t, u) => t + eraseTimeMs(family, u.size), 0);
    const code = bank === 1 ? ExtendedErase.BANK1 : ExtendedErase.BANK2;
    await this.retry(`bank ${bank} erase`, () => this.transact(Cmd.EXTENDED_ERASE, [extendedEraseFrame(code)], ms, `bank ${bank} erase`));
    for (const u of units) {
      this.erased.add(u.number);
      for (let at = u.start; at < u.start + u.size; at += MAX_TRANSFER) {
        this.written.delete(at);
        this.pending.delete(at);
        this.readCache.delete(at);
      }
    }
  }

  /** Go: the ROM jumps to the application (stack pointer from `address`, reset vector from `address + 4`). */
  async go(address = STM32_FLASH_BASE): Promise<void> {
    await this.retry('Go', () => this.transact(Cmd.GO, [wordFrame(address)], 0, 'Go'));
    this.synced = false;
  }

  /** Readout Protect: RDP level 1. The chip resets; from then on only a consented unprotect (mass erase) undoes it. */
  async readoutProtect(): Promise<void> {
    await this.transact(Cmd.READOUT_PROTECT, [], 0, 'Readout Protect', 2, this.optionWriteMs());
    await this.afterSelfReset();
  }

  /**
   * Readout Unprotect: the ROM mass-erases the flash, clears RDP and resets. `consent` must be exactly
   * UNPROTECT_CONSENT ("erase-all-flash"): everything in flash is lost.
   */
  async readoutUnprotect(consent: string | undefined): Promise<void> {
    if (consent !== UNPROTECT_CONSENT) {
      throw new FlashError('write-protected', 'Removing read-out protection erases the whole flash, so webprog needs explicit consent.', {
        hint: `Give the consent "${UNPROTECT_CONSENT}" (option unprotect=${UNPROTECT_CONSENT}) if losing everything in flash is acceptable.`,
        details: { protection: 'readout', consent: UNPROTECT_CONSENT },
        action: { kind: 'consent-needed', option: 'unprotect', value: UNPROTECT_CONSENT },
      });
    }
    const family = this.requireFamily();
    this.ctx.log('warn', 'Removing read-out protection: the bootloader erases the whole flash.');
    await this.transact(Cmd.READOUT_UNPROTECT, [], 0, 'Readout Unprotect', 2, massEraseTimeMs(family, this.flashSize || family.flashMax) * 3 + this.optionWriteMs());
    await this.afterSelfReset();
    this.wiped = true;
    for (const u of this.units) this.erased.add(u.number);
  }

  /** Write Protect the given write-protection sectors (groups of `wrpPagesPerSector` erase units). The chip resets. */
  async writeProtect(sectors: readonly number[]): Promise<void> {
    if (sectors.length === 0 || sectors.length > 256 || sectors.some((s) => !Number.isInteger(s) || s < 0 || s > 255)) {
      throw new FlashError('unsupported', 'Write Protect takes 1 to 256 sector numbers from 0 to 255.');
    }
    await this.transact(Cmd.WRITE_PROTECT, [writeProtectFrame(sectors)], 0, 'Write Protect', 1, this.optionWriteMs());
    await this.afterSelfReset();
  }

  /** Write Unprotect: clears every write-protection bit (no erase). The chip resets. */
  async writeUnprotect(): Promise<void> {
    await this.transact(Cmd.WRITE_UNPROTECT, [], 0, 'Write Unprotect', 2, this.optionWriteMs());
    await this.afterSelfReset();
  }

  async close(outcome?: { ok: boolean }): Promise<void> {
    const quirk = this.family?.bootloader.emptyCheck;
    if (quirk && this.written.size > 0) {
      // stm32flash works around this with code run from RAM (OBL_LAUNCH / PEMPTY); webprog does not yet.
      this.ctx.log('warn', `${this.family!.name} decides "flash empty" at power-on: until it is power-cycled, a reset still starts the bootloader, not the new firmware.`);
    }
    try {
      if (this.synced) await this.flushPending(Infinity);
      // A failed job stays in the bootloader (no Go, no exit sequence): the next attempt needs no BOOT0 dance.
      if (outcome?.ok === false) return;
      if (this.synced && this.options.go !== undefined) await this.go(this.options.go === 'flash' ? STM32_FLASH_BASE : this.options.go);
    } catch (err) {
      this.ctx.log('warn', `Finishing the session failed: ${(err as Error).message}`);
    }
    if (this.boot.exit.length > 0) {
      try {
        await this.playSequence(this.boot.exit, 'exit');
      } catch (err) {
        this.ctx.log('debug', `Exit sequence stopped: ${(err as Error).message}`);
      }
    }
  }

  // ---- session set-up ------------------------------------------------------------------------

  /**
   * Plays a boot sequence; a port without modem lines (a PTY) is logged once and otherwise ignored. The
   * exit sequence runs to its end even after a cancel, so BOOT0 is not left asserted.
   */
  private async playSequence(steps: BootStep[], which: 'entry' | 'exit'): Promise<void> {
    const { stream, clock } = this.ctx;
    const signal = which === 'entry' ? this.ctx.signal : undefined;
    for (const step of steps) {
      if ('delayMs' in step) {
        await clock.sleep(step.delayMs, signal);
        continue;
      }
      if (!this.signalsWork) continue;
      try {
        await stream.setSignals({ [step.signal]: step.asserted });
      } catch (err) {
        if (isFlashError(err, 'device-lost') || signal?.aborted) throw err;
        this.signalsWork = false;
        this.ctx.log('info', `This port cannot drive DTR/RTS (${(err as Error).message}); skipping the ${which} sequence: set BOOT0 and reset by hand.`);
      }
    }
  }

  /**
   * AN3155 §1 sync, handled as stm32flash does: 0x79 is a fresh sync; 0x1F means the ROM was already
   * synced and took 0x7F as half a command (one more 0x7F completes it as a bad pair); silence means
   * try again; anything else is an application talking, which is drained.
   */
  private async sync(): Promise<void> {
    const { stream, clock, signal } = this.ctx;
    await this.discard(0);
    const deadline = clock.now() + SYNC_WINDOW_MS;
    let attempts = 0;
    while (clock.now() < deadline) {
      attempts++;
      await stream.write(Uint8Array.of(SYNC));
      const b = await this.readByte(Math.min(SYNC_ATTEMPT_MS, Math.max(1, deadline - clock.now())));
      if (b === Reply.ACK || b === Reply.NACK) {
        this.synced = true;
        this.ctx.log('info', `Bootloader answered ${byteHex(b)} to 0x7F at ${this.baud} baud${attempts > 1 ? ` (attempt ${attempts})` : ''}.`);
        // A late answer to an earlier 0x7F may follow; let it pass.
        await this.discard(3 * this.frameMs() + 2);
        return;
      }
      if (b !== null) await this.discard(20);
    }
    throw new FlashError('no-sync', `No answer from the STM32 bootloader: sent 0x7F ${attempts} times at ${this.baud} baud, expected 0x79.`, {
      hint: HINT_NO_BOOTLOADER,
      details: { baudRate: this.baud, attempts },
    });
  }

  /**
   * Brings the ROM back to "waiting for a command" after a failed frame. Sends FF 00 (an unknown
   * command with a correct complement) until two rounds in a row give exactly one NACK; a round that
   * does not starts with a lone 0x7F, which completes a dangling command byte or re-syncs a ROM that
   * restarted. A ROM still inside a frame simply eats the bytes until that frame ends.
   */
  private async resync(): Promise<void> {
    const { stream, clock, signal } = this.ctx;
    const deadline = clock.now() + RESYNC_MS;
    // Generous windows: a reply that comes late (a busy USB-serial adapter, a loaded host) must not make
    // every round look unclean.
    const quiet = 12 * this.frameMs() + 20;
    let clean = 0;
    let shift = false;
    while (clock.now() < deadline) {
      await this.discard(quiet);
      await stream.write(shift ? Uint8Array.of(SYNC, 0xff, 0x00) : Uint8Array.of(0xff, 0x00));
      const got = await this.collect(quiet + 40);
      if (!shift && got.length === 1 && got[0] === Reply.NACK) {
        if (++clean >= 2) {
          this.synced = true;
          return;
        }
        shift = false;
      } else {
        clean = 0;
        shift = !shift;
      }
    }
    this.synced = false;
    throw new FlashError('timeout', 'Lost step with the STM32 bootloader and could not get it back.', {
      hint: 'Reset the board (BOOT0 still high) and try again; if it keeps happening, use a shorter cable or a lower baud rate.',
    });
  }

  private async get(): Promise<void> {
    await this.ctx.stream.write(commandFrame(Cmd.GET));
    await this.expectAck('Get');
    const n = (await this.readBytes(1))[0]!;
    const rest = await this.readBytes(n + 1);
    await this.expectAck('Get (end)');
    this.version = rest[0]!;
    this.commands = new Set(rest.subarray(1));
    for (const needed of [Cmd.GET_ID, Cmd.READ_MEMORY, Cmd.WRITE_MEMORY]) {
      if (!this.commands.has(needed)) {
        throw new FlashError('protocol', `The bootloader does not list command ${byteHex(needed)}; it may not be an STM32 ROM.`, { details: { commands: [...this.commands].map(byteHex).join(' ') } });
      }
    }
  }

  private async getVersion(): Promise<{ option1: number; option2: number }> {
    await this.ctx.stream.write(commandFrame(Cmd.GET_VERSION));
    await this.expectAck('Get Version');
    const [version, option1, option2] = await this.readBytes(3);
    await this.expectAck('Get Version (end)');
    this.version = version!;
    return { option1: option1!, option2: option2! };
  }

  private async getId(): Promise<number> {
    await this.ctx.stream.write(commandFrame(Cmd.GET_ID));
    await this.expectAck('Get ID');
    const n = (await this.readBytes(1))[0]!;
    const id = await this.readBytes(n + 1);
    await this.expectAck('Get ID (end)');
    return id.length >= 2 ? ((id[0]! << 8) | id[1]!) & 0xfff : id[0]!;
  }

  /**
   * Reads the flash-size register step by step, which also tells read-out protection apart: under RDP
   * the ROM refuses Read Memory itself, while an address it will not read is refused one step later.
   * Handles the protected case (consented unprotect, or a clear refusal). Returns KiB, or undefined.
   */
  private async probeFlashSize(family: Stm32Family): Promise<number | undefined> {
    const address = family.flashSizeRegister ?? STM32_FLASH_BASE;
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const { stream } = this.ctx;
        await stream.write(commandFrame(Cmd.READ_MEMORY));
        const first = await this.readByte(this.replyTimeout(3, 0));
        // Under RDP the ROM NACKs Read Memory itself; a damaged command byte looks the same once, not twice.
        if (first === Reply.NACK && ++refusals >= 2) {
          refusals = 0;
          await this.handleReadoutProtection(family);
          continue;
        }
        if (first === Reply.NACK) throw new FlashError('nak', 'The bootloader refused Read Memory.');
        if (first !== Reply.ACK) throw this.unexpected('Read Memory', first);
        await stream.write(wordFrame(address));
        const second = await this.readByte(this.replyTimeout(6, 0));
        if (second === Reply.NACK) return undefined; // the ROM does not expose that register
        if (second !== Reply.ACK) throw this.unexpected('Read Memory address', second);
        await stream.write(readLengthFrame(2));
        await this.expectAck('Read Memory length');
        const b = await this.readBytes(2);
        if (family.flashSizeRegister === undefined) return undefined;
        const kib = b[0]! | (b[1]! << 8);
        return kib > 0 && kib !== 0xffff && kib * 1024 <= family.flashMax ? kib : undefined;
      } catch (err) {
        if (fatal(err) || attempt >= MAX_ATTEMPTS || (err as FlashError).details.protection) throw err;
        await this.resync();
      }
    }
  }

  private async handleReadoutProtection(family: Stm32Family): Promise<void> {
    const name = this.part?.name ?? family.name;
    if (this.options.unprotect !== UNPROTECT_CONSENT && !hasConsent(this.ctx.options, 'unprotect')) {
      throw new FlashError('write-protected', `${name} is read-out protected (RDP level 1): its bootloader refuses to read, write or erase flash. Nothing was changed.`, {
        hint:
          `Removing the protection makes the chip erase its entire flash: the firmware on it and any data stored in flash are lost for good. ` +
          `If that is acceptable, run again with consent to unprotect (CLI: --consent unprotect, or the older --option unprotect=${UNPROTECT_CONSENT}).`,
        details: { protection: 'readout', consent: UNPROTECT_CONSENT },
        action: { kind: 'consent-needed', option: 'unprotect', value: UNPROTECT_CONSENT },
      });
    }
    if (!this.flashSize) this.flashSize = this.part?.flashSize ?? family.flashMax;
    this.family = family;
    await this.readoutUnprotect(UNPROTECT_CONSENT);
  }

  private chooseFlashSize(family: Stm32Family, part: Stm32Part | undefined, reportedKiB: number | undefined): number {
    const reported = reportedKiB === undefined ? undefined : reportedKiB * 1024;
    if (part) {
      if (reported !== undefined && reported !== part.flashSize) {
        this.ctx.log('warn', `The chip reports ${reportedKiB} KiB of flash; ${part.name} has ${part.flashSize / 1024} KiB. Using the part's size.`);
      }
      return part.flashSize;
    }
    if (reported !== undefined) return reported;
    this.ctx.log('info', `Flash size unknown; assuming the family maximum, ${family.flashMax / 1024} KiB. Choose the part to be exact.`);
    return family.flashMax;
  }

  // ---- flash operations ----------------------------------------------------------------------

  /**
   * Erases units before their first write. Chunks of those units that this session read earlier and the
   * job is not rewriting (pages skip-unchanged left alone) are queued to be programmed back.
   */
  private async eraseForWrite(units: EraseUnit[], start: number, end: number): Promise<void> {
    const family = this.requireFamily();
    for (const u of units) {
      for (let at = u.start; at < u.start + u.size; at += MAX_TRANSFER) {
        const old = this.readCache.get(at);
        if (old && (at < start || at >= end) && !old.every((b) => b === family.erasedValue)) this.pending.set(at, old);
        this.readCache.delete(at);
      }
      if (family.layout.kind === 'sectors') {
        this.ctx.log('info', `Erasing sector ${u.number} (${u.size / 1024} KiB at ${addressHex(u.start)}).`);
      }
    }
    await this.eraseNumbers(units.map((u) => u.number));
  }

  /** Page/sector erase in as few commands as the ROM allows, each retried. */
  private async eraseNumbers(numbers: number[]): Promise<void> {
    const family = this.requireFamily();
    const legacy = this.eraseCommand() === Cmd.ERASE;
    const per = legacy ? 255 : MAX_ERASE_PAGES;
    for (let i = 0; i < numbers.length; i += per) {
      const batch = numbers.slice(i, i + per);
      const ms = batch.reduce((t, n) => t + eraseTimeMs(family, this.units[n]?.size ?? 0), 0);
      const body = legacy ? eraseFrame(batch) : extendedEraseFrame(batch);
      await this.retry(`erase of ${batch.length} unit(s) from ${batch[0]}`, () => this.transact(this.eraseCommand(), [body], ms, 'erase'));
      for (const n of batch) {
        this.erased.add(n);
        const u = this.units[n]!;
        for (let at = u.start; at < u.start + u.size; at += MAX_TRANSFER) this.written.delete(at);
      }
    }
  }

  /** Programs queued chunks below `limit` (all with Infinity), then reads them back. */
  private async flushPending(limit: number): Promise<void> {
    const due = [...this.pending.keys()].filter((a) => a < limit).sort((a, b) => a - b);
    if (due.length === 0) return;
    this.ctx.log('info', `Restoring ${due.length * MAX_TRANSFER} bytes the sector erase cleared but the job left unchanged.`);
    for (const at of due) {
      const data = this.pending.get(at)!;
      this.pending.delete(at);
      await this.writeChunk(at, data);
    }
    for (const at of due) {
      const back = await this.readChunk(at, MAX_TRANSFER);
      const want = this.written.get(at);
      if (want && !sameBytes(back, want)) {
        throw new FlashError('verify-mismatch', `Restoring flash at ${addressHex(at)} after the sector erase failed.`, { details: { address: at } });
      }
    }
  }

  /** One Write Memory (<= 256 bytes), retried; a write that may have half-programmed is erased and rewritten. */
  private async writeChunk(address: number, data: Uint8Array): Promise<void> {
    const bytes = data.length % 4 === 0 ? data : padTo4(data, this.requireFamily().erasedValue);
    this.pending.delete(address);
    let last: unknown;
    // Programming refused every time, after the frame was taken: what write protection looks like.
    let refusedProgramming = 0;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        await this.writeMemory(address, bytes, attempt === 1 && this.options.pipeline !== false);
        this.written.set(address, bytes);
        return;
      } catch (err) {
        if (fatal(err)) throw err;
        last = err;
        if (isFlashError(err, 'nak') && err.details.stage === 'programming') refusedProgramming++;
        this.ctx.log('debug', `Write at ${addressHex(address)} failed (${(err as Error).message}); attempt ${attempt} of ${MAX_ATTEMPTS}.`);
        await this.resync();
        const now = await this.readChunk(address, bytes.length);
        if (sameBytes(now, bytes)) {
          this.written.set(address, bytes); // it was written; only the answer was lost
          return;
        }
        if (!now.every((b) => b === this.requireFamily().erasedValue)) await this.eraseAgain(address);
      }
    }
    const err = last as FlashError;
    const protectedFlash = refusedProgramming === MAX_ATTEMPTS;
    throw new FlashError(protectedFlash ? 'write-protected' : err.code, `The bootloader did not accept the write at ${addressHex(address)} (${MAX_ATTEMPTS} attempts): ${err.message}`, {
      hint: protectedFlash
        ? 'The chip takes the data but refuses to program it: that flash is write-protected. Remove write protection (Write Unprotect; it does not erase) and flash again.'
        : err.hint,
      details: { ...err.details, address },
      cause: err,
    });
  }

  /** The unit holding `address` was partly programmed with wrong data: erase it and put back what this session wrote there. */
  private async eraseAgain(address: number): Promise<void> {
    const unit = this.unitAt(address);
    if (!unit) return;
    const keep = [...this.written].filter(([at]) => at >= unit.start && at < unit.start + unit.size && at !== address);
    this.ctx.log('info', `Erasing ${addressHex(unit.start)} again: a failed write left it partly programmed.`);
    await this.eraseNumbers([unit.number]);
    for (const [at, bytes] of keep.sort((a, b) => a[0] - b[0])) await this.writeChunk(at, bytes);
  }

  /** The 96-bit unique device ID, as STM32CubeProgrammer shows it (word 0 first, each little-endian); undefined where the ROM hides it. */
  async unitId(): Promise<{ kind: 'uid'; value: string } | undefined> {
    const at = this.family?.uidRegister;
    if (at === undefined) return undefined;
    try {
      const bytes = await this.readChunk(at, 12);
      const words = [0, 4, 8].map((i) => (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0);
      return { kind: 'uid', value: words.map((w) => w.toString(16).padStart(8, '0')).join('-') };
    } catch (err) {
      if (fatal(err)) throw err;
      this.ctx.log('debug', `The unique ID could not be read: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async readChunk(address: number, length: number): Promise<Uint8Array> {
    return this.retry(`read at ${addressHex(address)}`, () => this.readMemory(address, length, this.options.pipeline !== false));
  }

  private async writeMemory(address: number, data: Uint8Array, burst: boolean): Promise<void> {
    const ms = programTimeMs(this.requireFamily(), data.length);
    await this.transact(Cmd.WRITE_MEMORY, [wordFrame(address), writeDataFrame(data)], ms, 'Write Memory', 1, 0, burst, 'programming');
  }

  private async readMemory(address: number, length: number, burst: boolean): Promise<Uint8Array> {
    await this.transact(Cmd.READ_MEMORY, [wordFrame(address), readLengthFrame(length)], 0, 'Read Memory', 0, 0, burst);
    // The length frame's ACK and the data come back to back: one read.
    const reply = await this.readBytes(length + 1, this.replyTimeout(length + 4, 0));
    this.checkAck(reply[0]!, 'Read Memory length');
    return reply.subarray(1);
  }

  /** Get Checksum over the block against the CRC of the expected bytes (verify without reading back). */
  private async crcVerify(memory: string, address: number, expected: Uint8Array): Promise<{ equal: boolean; device: string; expected: string }> {
    this.requireFlash(memory);
    await this.flushPending(Infinity);
    const want = stm32Crc(expected.length % 4 === 0 ? expected : padTo4(expected, this.requireFamily().erasedValue));
    const length = Math.ceil(expected.length / 4) * 4;
    const got = await this.retry(`checksum at ${addressHex(address)}`, async () => {
      // Words take about a quarter of a µs each in the CRC unit: allow a generous 1 µs.
      await this.transact(Cmd.GET_CHECKSUM, [wordFrame(address), wordFrame(length)], length / 4 / 1000, 'Get Checksum', 2, 0, this.options.pipeline !== false);
      const r = await this.readBytes(5);
      if (xorOf(r) !== 0) throw new FlashError('bad-checksum', 'The checksum answer was damaged on the line.', { details: { reply: hexBytes(r) } });
      return ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
    });
    const hex8 = (n: number) => n.toString(16).padStart(8, '0');
    return { equal: got === want, device: hex8(got), expected: hex8(want) };
  }

  // ---- frames --------------------------------------------------------------------------------

  /**
   * One command: the command pair, then each frame after its ACK (or all at once with `burst`), then
   * `finalAcks` ACKs, the first of which may take `deviceMs` (programming, erasing) and a later one
   * `lateMs` (the ROM rewriting option bytes).
   */
  private async transact(cmd: number, frames: Uint8Array[], deviceMs: number, what: string, finalAcks = 1, lateMs = 0, burst = false, doneStage = 'done'): Promise<void> {
    const { stream } = this.ctx;
    // A byte left over from an earlier exchange (a duplicate, a late answer) must not pass for this one's ACK.
    const stale = await this.discard(0);
    if (stale > 0) this.ctx.log('debug', `Dropped ${stale} stray byte(s) before ${what}.`);
    if (burst) {
      const all = concatBytes(commandFrame(cmd), ...frames);
      await stream.write(all);
      // The ACKs of the command and of every frame but the last come back while the rest is still going out.
      const acks = await this.readBytes(frames.length, this.replyTimeout(all.length + 2, 0));
      acks.forEach((b, i) => this.checkAck(b, i === 0 ? what : `${what} frame ${i}`, i === 0 ? 'command' : 'frame'));
    } else {
      await stream.write(commandFrame(cmd));
      for (const [i, frame] of frames.entries()) {
        await this.expectAck(i === 0 ? what : `${what} frame ${i}`, this.replyTimeout(4, 0), i === 0 ? 'command' : 'frame');
        await stream.write(frame);
      }
    }
    const last = frames.at(-1);
    for (let i = 0; i < finalAcks; i++) {
      const ms = i === 0 ? this.replyTimeout((last?.length ?? 2) + 2, deviceMs) : this.replyTimeout(2, lateMs);
      await this.expectAck(frames.length === 0 && i === 0 ? what : `${what} (done)`, ms, i === 0 && frames.length > 0 ? doneStage : 'command');
    }
  }

  private async expectAck(what: string, timeoutMs = this.replyTimeout(2, 0), stage = 'command'): Promise<void> {
    this.checkAck(await this.readByte(timeoutMs), what, stage);
  }

  /** `stage` names what a NACK refused ('command', 'frame', 'programming', ...), for callers to branch on. */
  private checkAck(b: number | null, what: string, stage = 'command'): void {
    if (b === Reply.ACK) return;
    if (b === Reply.NACK) {
      throw new FlashError('nak', `The bootloader refused ${what} (NACK).`, {
        hint: 'A damaged frame or a refused command: webprog retries damaged frames; a command refused every time points at protection or a wrong address.',
        details: { reply: byteHex(b), stage },
      });
    }
    if (b === null) throw new FlashError('timeout', `No answer from the bootloader to ${what}.`);
    throw this.unexpected(what, b);
  }

  private unexpected(what: string, b: number | null): FlashError {
    if (b === null) return new FlashError('timeout', `No answer from the bootloader to ${what}.`);
    return new FlashError('protocol', `Unexpected answer ${byteHex(b)} from the bootloader to ${what} (expected ACK 0x79 or NACK 0x1F).`, {
      details: { reply: byteHex(b) },
    });
  }

  /**
   * Up to `max` bytes. Bytes a stream hands over beyond `max` (a contract breach some decorators commit,
   * e.g. a duplicating fault injector) are kept for the next read instead of being lost or overflowing.
   */
  private async read(max: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.spare.length > 0) {
      const out = this.spare.subarray(0, max);
      this.spare = this.spare.subarray(out.length);
      return out;
    }
    const got = await this.ctx.stream.read(max, { timeoutMs: Math.max(0, timeoutMs), signal: this.ctx.signal });
    if (got.length <= max) return got;
    this.spare = got.slice(max);
    return got.subarray(0, max);
  }

  /** One byte, or null on timeout. */
  private async readByte(timeoutMs: number): Promise<number | null> {
    try {
      return (await this.read(1, timeoutMs))[0]!;
    } catch (err) {
      if (isFlashError(err, 'timeout')) return null;
      throw err;
    }
  }

  /** Exactly `n` bytes within `timeoutMs`, or FlashError 'timeout'. */
  private async readBytes(n: number, timeoutMs = this.replyTimeout(n, 0)): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    const deadline = this.ctx.clock.now() + timeoutMs;
    let got = 0;
    while (got < n) {
      const left = deadline - this.ctx.clock.now();
      if (left <= 0) throw this.shortReply(n, got);
      try {
        const chunk = await this.read(n - got, left);
        out.set(chunk, got);
        got += chunk.length;
      } catch (err) {
        if (isFlashError(err, 'timeout')) throw this.shortReply(n, got);
        throw err;
      }
    }
    return out;
  }

  private shortReply(wanted: number, got: number): FlashError {
    return new FlashError('timeout', `The bootloader stopped answering (got ${got} of ${wanted} bytes).`, { details: { wanted, got } });
  }

  /** Whatever arrives until the line is quiet for `quietMs`. */
  private async collect(quietMs: number): Promise<number[]> {
    const got: number[] = [];
    for (;;) {
      try {
        got.push(...(await this.read(64, quietMs)));
      } catch (err) {
        if (isFlashError(err, 'timeout')) return got;
        throw err;
      }
    }
  }

  /** Drops everything buffered and whatever arrives until the line is quiet for `quietMs`. */
  private async discard(quietMs: number): Promise<number> {
    const dropped = this.spare.length;
    this.spare = new Uint8Array(0);
    return dropped + (await this.collect(quietMs)).length;
  }

  /** Runs `op`, resynchronising and retrying after a recoverable failure. */
  private async retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (fatal(err)) throw err;
        last = err;
        this.ctx.log('debug', `${what} failed (${(err as Error).message}); attempt ${attempt} of ${MAX_ATTEMPTS}.`);
        if (attempt < MAX_ATTEMPTS) await this.resync();
      }
    }
    const err = last as FlashError;
    throw new FlashError(err.code, `${err.message} (${what}, ${MAX_ATTEMPTS} attempts)`, { hint: err.hint, details: err.details, cause: err });
  }

  /** After a command that resets the chip: wait for the ROM to restart and sync again. */
  private async afterSelfReset(): Promise<void> {
    this.synced = false;
    await this.ctx.clock.sleep(ROM_SETTLE_MS, this.ctx.signal);
    await this.sync();
    await this.get();
  }

  private optionWriteMs(): number {
    return 1000;
  }

  private replyTimeout(lineBytes: number, deviceMs: number): number {
    return lineBytes * this.frameMs() + deviceMs * 2 + REPLY_MARGIN_MS;
  }

  private frameMs(): number {
    return (BITS_PER_FRAME * 1000) / this.baud;
  }

  private eraseCommand(): number {
    return this.commands.has(Cmd.EXTENDED_ERASE) ? Cmd.EXTENDED_ERASE : Cmd.ERASE;
  }

  private versionText(): string {
    return `${this.version >> 4}.${this.version & 0xf}`;
  }

  private unitsIn(start: number, end: number): EraseUnit[] {
    return this.units.filter((u) => u.start < end && u.start + u.size > start);
  }

  private unitAt(address: number): EraseUnit | undefined {
    return this.units.find((u) => address >= u.start && address < u.start + u.size);
  }

  private requireFamily(): Stm32Family {
    if (!this.family) throw new FlashError('internal', 'identify() must run before programming.');
    return this.family;
  }

  private requireFlash(memory: string): void {
    if (memory !== 'flash') throw new FlashError('unsupported', `The STM32 bootloader driver programs flash only, not "${memory}".`);
  }
}

/** Errors no retry can fix: the link is gone or the user cancelled. */
function fatal(err: unknown): boolean {
  return !(err instanceof FlashError) || ['device-lost', 'aborted', 'internal', 'unsupported'].includes(err.code);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function padTo4(data: Uint8Array, fill: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 4) * 4).fill(fill);
  out.set(data);
  return out;
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The registry's entry point. Options come from `ctx.options` (CLI `--option key=value`, a recipe in
 * the app) or directly from code; see options.ts for the keys.
 */
export function createDriver(ctx: DriverContext, options?: Stm32UsartOptions): Stm32UsartDriver {
  return new Stm32UsartDriver(ctx, { ...parseOptions(ctx.options), ...options });
}
