import {
  eraseTimeMs,
  eraseUnits,
  findStm32Family,
  findStm32Part,
  massEraseTimeMs,
  programTimeMs,
  STM32_FLASH_BASE,
  type EraseUnit,
  type Stm32Family,
  type Stm32Part,
} from '../../chips/stm32';
import type { Clock } from '../../core/io/clock';
import { Trigger } from '../../core/io/signal';
import type { DevicePort } from '../../core/io/uart-link';
import { FlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';
import { stm32UsartMeta } from './meta';
import { ALLOWED_UNDER_RDP, Cmd, ExtendedErase, GLOBAL_ERASE, Reply, stm32Crc, SYNC, xorOf } from './protocol';

/**
 * From the end of reset to the ROM listening for 0x7F (≈ 2 ms: clock, option-byte load, ROM init, USART
 * set-up; AN2606 lists per-product figures). A 0x7F sent earlier is lost, which stm32flash cannot recover.
 */
const ROM_STARTUP_MS = 2;
/** Get Checksum runs on the CRC unit: ≈ 4 cycles per word at 16 MHz. */
const CRC_US_PER_WORD = 0.25;
/** A PTY "open" event can be delivered after the client's first bytes; a reset that close to them came before them. */
const RESET_REORDER_MS = 20;
const HOUR_MS = 3_600_000;

class Reset extends Error {}

/**
 * Variant flags, comma-separated in `SimulatorOptions.variant` (e.g. "crc,wired"):
 * - `crc`: a v3.x ROM that lists Get Checksum (0xA1);
 * - `wired`: DTR asserted holds NRST low, RTS asserted drives BOOT0 high (the usual "auto-boot" transistors);
 *   BOOT0 is low at power-on, so the application runs until a host plays an entry sequence;
 * - `app`: BOOT0 strapped low: the application runs and nothing answers (a board not in boot mode);
 * - `rdp`: read-out protection (level 1) already set.
 */
export interface Stm32SimVariant {
  crc: boolean;
  wired: boolean;
  app: boolean;
  rdp: boolean;
}

export function parseVariant(variant: string | undefined): Stm32SimVariant {
  const flags = new Set((variant ?? '').split(/[,+\s]+/).filter(Boolean));
  for (const f of flags) {
    if (!['crc', 'wired', 'app', 'rdp'].includes(f)) throw new FlashError('unsupported', `Unknown stm32-usart simulator variant "${f}" (crc, wired, app, rdp).`);
  }
  return { crc: flags.has('crc'), wired: flags.has('wired'), app: flags.has('app'), rdp: flags.has('rdp') };
}

/**
 * An STM32 running its system-memory bootloader (AN3155) at byte level:
 * - auto-baud on 0x7F (any host rate; parity is not modelled, so 8E1 and a PTY's 8N1 both work);
 * - ACK/NACK, complement and XOR checks on every frame, unknown or forbidden commands NACKed;
 * - flash with the family's erase units, erased value and programming rules (F1 half-words must be
 *   erased, F4 words only clear bits, G0/G4/L4/H7 ECC words must be erased), write protection that
 *   makes erase a silent no-op and writes fail, read-out protection that leaves only Get/GV/GID/RP/UR;
 * - datasheet programming and erase times: the answer leaves at the busy-until time (sendAt), and bytes
 *   the host sends meanwhile overrun the USART (the first is kept, the rest lost, as with RXNE + ORE);
 * - commands that change option bytes reset the device, and Go leaves the ROM until the next reset.
 */
export class Stm32UsartSimulator implements Simulator {
  readonly family: Stm32Family;
  readonly part: Stm32Part;
  readonly variant: Stm32SimVariant;
  readonly flash: Uint8Array;
  /** All of SRAM from 0x20000000; the bootloader's own part is below `family.ram.start`. */
  readonly ram: Uint8Array;
  readonly optionBytes: Uint8Array;
  readonly units: EraseUnit[];
  readonly commands: readonly number[];
  readonly version: number;
  rdp: boolean;
  /** Write-protected sectors (units of `family.wrpPagesPerSector` erase units). */
  readonly wrp = new Set<number>();
  /** What the chip is doing: held in reset, starting, waiting for 0x7F, taking commands, or running the app. */
  state: 'reset' | 'starting' | 'sync' | 'command' | 'app' = 'starting';
  /** Multiplies every programming and erase time: tests set it below 1 to keep multi-second erases short. */
  timeScale = 1;
  /** For tests and the bench. */
  readonly stats = { boots: 0, syncs: 0, nacks: 0, overruns: 0, unitErases: 0, massErases: 0, writes: 0, reads: 0, checksums: 0, programErrors: 0 };

  private port: DevicePort | null = null;
  private rx: Uint8Array = new Uint8Array(0);
  private rxPos = 0;
  /** When the last byte of `rx` arrived. */
  private rxEnd = 0;
  private lastRxAt = -Infinity;
  private tx: number[] = [];
  private resetTrigger = new Trigger();
  private boot0: boolean;
  private nrstLow = false;
  /**
   * AN2606 "empty check" on the families that have it: latched when the option bytes load (power-on or
   * an option-byte reload), so a chip programmed since keeps entering the ROM on a plain reset.
   */
  private emptyFlag: boolean;
  private mode: 'rom' | 'app';
  private slowStart = false;
  /** The command just handled changed option bytes: the ROM resets and reloads them. */
  private optionReload = false;

  constructor(
    private readonly clock: Clock,
    part: Stm32Part,
    variant: Stm32SimVariant,
  ) {
    const family = findStm32Family(part.pid);
    if (!family) throw new FlashError('internal', `No family for product ID 0x${part.pid.toString(16)}.`);
    this.family = family;
    this.part = part;
    this.variant = variant;
    this.units = eraseUnits(family, part.flashSize);
    this.flash = new Uint8Array(part.flashSize).fill(family.erasedValue);
    this.ram = new Uint8Array(family.ram.end - 0x2000_0000);
    const opt = family.optionBytes;
    this.optionBytes = new Uint8Array(opt ? opt.end - opt.start : 0).fill(0xff);
    if (this.optionBytes.length >= 2) this.optionBytes.set([0xa5, 0x5a]); // RDP level 0 and its complement
    const legacy = family.bootloader.erase === 'legacy';
    this.commands = [
      Cmd.GET, Cmd.GET_VERSION, Cmd.GET_ID, Cmd.READ_MEMORY, Cmd.GO, Cmd.WRITE_MEMORY,
      legacy ? Cmd.ERASE : Cmd.EXTENDED_ERASE,
      Cmd.WRITE_PROTECT, Cmd.WRITE_UNPROTECT, Cmd.READOUT_PROTECT, Cmd.READOUT_UNPROTECT,
      ...(variant.crc ? [Cmd.GET_CHECKSUM] : []),
    ];
    this.version = variant.crc ? Math.max(family.bootloader.version, 0x33) : family.bootloader.version;
    this.rdp = variant.rdp;
    this.boot0 = !variant.app && !variant.wired;
    this.emptyFlag = false;
    this.latchEmptyFlag();
    this.mode = this.bootTarget();
  }

  /** The rate the ROM starts at; it follows whatever rate the host's 0x7F arrives at. */
  get baudRate(): number {
    return stm32UsartMeta.serialDefaults!.baudRate;
  }

  /** The ROM measures the host's rate from its 0x7F (AN3155 auto-baud): any rate the host picks is the right one. */
  readonly anyBaud = true;

  memory(name: string): Uint8Array {
    if (name === 'flash') return this.flash;
    if (name === 'ram') return this.ram;
    if (name === 'option') return this.optionBytes;
    throw new FlashError('unsupported', `No memory called ${name}.`);
  }

  attach(port: DevicePort): void {
    this.port = port;
    if (this.variant.wired) {
      port.onSignals((s) => {
        this.boot0 = s.rts;
        const wasLow = this.nrstLow;
        this.nrstLow = s.dtr;
        if (this.nrstLow && !wasLow) this.restart();
        if (!this.nrstLow && wasLow) this.restart();
      });
    }
    void this.run(port);
  }

  /**
   * The PTY host calls this when a client opens the port: as if RESET had been pressed (BOOT0 as strapped)
   * just before, so the ROM is listening by the time the client's first byte arrives. A ROM already
   * waiting for 0x7F has nothing to lose, and bytes seen in the last few ms mean the client is already
   * talking (the open event came late): both cases are no-ops.
   */
  reset(): void {
    if (this.state === 'sync' || this.clock.now() - this.lastRxAt < RESET_REORDER_MS) return;
    this.restart(false);
  }

  /** NRST released (or pulsed): the ROM starts again after `ROM_STARTUP_MS` unless `slow` is false. */
  private restart(slow = true): void {
    this.mode = this.bootTarget();
    this.slowStart = slow;
    this.resetTrigger.fire(new Reset());
  }

  private bootTarget(): 'rom' | 'app' {
    return this.boot0 || this.emptyFlag ? 'rom' : 'app';
  }

  private latchEmptyFlag(): void {
    const blank = this.flash.subarray(0, 4).every((b) => b === this.family.erasedValue);
    this.emptyFlag = this.family.bootloader.emptyCheck !== undefined && blank;
  }

  private async run(port: DevicePort): Promise<void> {
    for (;;) {
      const trigger = (this.resetTrigger = new Trigger());
      try {
        if (this.nrstLow) {
          this.state = 'reset';
          await this.idle(trigger);
        } else if (this.mode === 'app') {
          this.state = 'app';
          await this.idle(trigger);
        } else {
          await this.runBootloader(trigger);
        }
      } catch (err) {
        if (err instanceof FlashError && err.code === 'device-lost') return;
        if (!(err instanceof Reset)) throw err;
      }
      if (this.port !== port) return;
    }
  }

  /** Held in reset, or an application that ignores the UART: bytes vanish until the next reset. */
  private async idle(trigger: Trigger): Promise<never> {
    for (;;) {
      try {
        await this.port!.read(4096, { timeoutMs: HOUR_MS, signal: trigger });
      } catch (err) {
        if (!(err instanceof FlashError && err.code === 'timeout')) throw err;
      }
    }
  }

  private async runBootloader(trigger: Trigger): Promise<void> {
    this.state = 'starting';
    this.tx = [];
    // At power-on the board was plugged in long before a host talks to it; after a reset the ROM needs a moment.
    if (this.slowStart) await this.clock.sleep(ROM_STARTUP_MS, trigger);
    this.slowStart = true;
    this.rx = new Uint8Array(0);
    this.rxPos = 0;
    await this.discardPending(trigger);
    this.stats.boots++;
    this.state = 'sync';
    // Auto-baud: the ROM measures the 0x7F; anything else leaves it waiting for a clean one.
    for (;;) {
      await this.port!.setBaud(this.port!.hostBaud());
      if ((await this.getch(trigger)) === SYNC) break;
    }
    this.stats.syncs++;
    this.state = 'command';
    this.tx.push(Reply.ACK);
    while ((await this.command(trigger)) === 'continue');
    await this.flushTx();
    if (this.optionReload) {
      // Left by an option-byte change: the device reset itself and reloaded its option bytes.
      this.optionReload = false;
      this.latchEmptyFlag();
      this.mode = this.bootTarget();
    }
  }

  /** One command; 'leave' when the ROM hands over (Go) or resets itself (option byte changes). */
  private async command(trigger: Trigger): Promise<'continue' | 'leave'> {
    const cmd = await this.getch(trigger);
    const complement = await this.getch(trigger);
    if ((cmd ^ complement) !== 0xff || !this.commands.includes(cmd) || (this.rdp && !ALLOWED_UNDER_RDP.includes(cmd))) {
      return this.nack();
    }
    this.tx.push(Reply.ACK);
    switch (cmd) {
      case Cmd.GET:
        this.tx.push(this.commands.length, this.version, ...this.commands, Reply.ACK);
        return 'continue';
      case Cmd.GET_VERSION:
        this.tx.push(this.version, 0x00, 0x00, Reply.ACK);
        return 'continue';
      case Cmd.GET_ID:
        this.tx.push(0x01, this.part.pid >> 8, this.part.pid & 0xff, Reply.ACK);
        return 'continue';
      case Cmd.READ_MEMORY:
        return this.readMemory(trigger);
      case Cmd.GO:
        return this.go(trigger);
      case Cmd.WRITE_MEMORY:
        return this.writeMemory(trigger);
      case Cmd.ERASE:
        return this.legacyErase(trigger);
      case Cmd.EXTENDED_ERASE:
        return this.extendedErase(trigger);
      case Cmd.WRITE_PROTECT:
        return this.writeProtect(trigger);
      case Cmd.WRITE_UNPROTECT:
        this.wrp.clear();
        this.tx.push(Reply.ACK);
        return this.reloadOptions();
      case Cmd.READOUT_PROTECT:
        this.rdp = true;
        this.tx.push(Reply.ACK);
        return this.reloadOptions();
      case Cmd.READOUT_UNPROTECT:
        return this.readoutUnprotect(trigger);
      case Cmd.GET_CHECKSUM:
        return this.getChecksum(trigger);
      default:
        return this.nack();
    }
  }

  private async readMemory(trigger: Trigger): Promise<'continue'> {
    const address = await this.address(trigger);
    if (address === null || !this.readable(address, 1)) return this.nack();
    this.tx.push(Reply.ACK);
    const n = await this.getch(trigger);
    if ((n ^ (await this.getch(trigger))) !== 0xff || !this.readable(address, n + 1)) return this.nack();
    this.tx.push(Reply.ACK);
    for (let i = 0; i <= n; i++) this.tx.push(this.peek(address + i)!);
    this.stats.reads++;
    return 'continue';
  }

  private async go(trigger: Trigger): Promise<'continue' | 'leave'> {
    const address = await this.address(trigger);
    const inFlash = address !== null && this.inFlash(address, 4);
    const inRam = address !== null && address >= 0x2000_0000 && address < this.family.ram.end;
    if (!inFlash && !inRam) return this.nack();
    this.tx.push(Reply.ACK);
    // Code in RAM is only ever a host's reset stub (stm32flash -R): model it as the reset it performs.
    this.mode = inRam ? this.bootTarget() : 'app';
    return 'leave';
  }

  private async writeMemory(trigger: Trigger): Promise<'continue' | 'leave'> {
    const address = await this.address(trigger);
    const target = address === null ? null : this.writeTarget(address);
    if (address === null || target === null || address % 4 !== 0) return this.nack();
    this.tx.push(Reply.ACK);
    const n = await this.getch(trigger);
    const data = new Uint8Array(n + 1);
    for (let i = 0; i <= n; i++) data[i] = await this.getch(trigger);
    const checksum = await this.getch(trigger);
    if ((xorOf(data) ^ n ^ checksum) !== 0 || data.length % 4 !== 0 || this.writeTarget(address + n) !== target) return this.nack();
    if (target === 'ram') {
      this.ram.set(data, address - 0x2000_0000);
      this.tx.push(Reply.ACK);
      return 'continue';
    }
    if (target === 'option') {
      this.optionBytes.set(data, address - this.family.optionBytes!.start);
      this.tx.push(Reply.ACK);
      return this.reloadOptions(); // AN3155 §3.6: writing option bytes resets the device
    }
    this.stats.writes++;
    const ok = this.program(address - STM32_FLASH_BASE, data);
    await this.busy(programTimeMs(this.family, data.length), ok ? Reply.ACK : Reply.NACK, trigger);
    if (!ok) this.stats.nacks++;
    return 'continue';
  }

  private async legacyErase(trigger: Trigger): Promise<'continue'> {
    const n = await this.getch(trigger);
    if (n === GLOBAL_ERASE) {
      if ((await this.getch(trigger)) !== (GLOBAL_ERASE ^ 0xff) || !this.family.bootloader.massErase) return this.nack();
      return this.massErase(trigger);
    }
    const frame = [n];
    for (let i = 0; i <= n; i++) frame.push(await this.getch(trigger));
    if ((xorOf(frame) ^ (await this.getch(trigger))) !== 0) return this.nack();
    return this.erasePages(frame.slice(1), trigger);
  }

  private async extendedErase(trigger: Trigger): Promise<'continue'> {
    const hi = await this.getch(trigger);
    const lo = await this.getch(trigger);
    const n = (hi << 8) | lo;
    if (n >= 0xfff0) {
      if ((hi ^ lo ^ (await this.getch(trigger))) !== 0) return this.nack();
      if (n === ExtendedErase.MASS) return this.family.bootloader.massErase ? this.massErase(trigger) : this.nack();
      const banks = this.banks();
      const bank = n === ExtendedErase.BANK1 ? banks[0] : n === ExtendedErase.BANK2 ? banks[1] : undefined;
      if (!bank) return this.nack();
      return this.erasePages(bank, trigger);
    }
    const frame = [hi, lo];
    for (let i = 0; i < 2 * (n + 1); i++) frame.push(await this.getch(trigger));
    if ((xorOf(frame) ^ (await this.getch(trigger))) !== 0) return this.nack();
    const pages: number[] = [];
    for (let i = 2; i < frame.length; i += 2) pages.push((frame[i]! << 8) | frame[i + 1]!);
    return this.erasePages(pages, trigger);
  }

  private async erasePages(numbers: number[], trigger: Trigger): Promise<'continue'> {
    if (numbers.some((p) => p >= this.units.length)) return this.nack();
    let ms = 0;
    for (const p of numbers) {
      const unit = this.units[p]!;
      ms += eraseTimeMs(this.family, unit.size);
      this.stats.unitErases++;
      // AN3155: erasing a write-protected page reports success and leaves it as it was.
      if (!this.isProtected(p)) this.flash.fill(this.family.erasedValue, unit.start - STM32_FLASH_BASE, unit.start - STM32_FLASH_BASE + unit.size);
    }
    await this.busy(ms, Reply.ACK, trigger);
    return 'continue';
  }

  private async massErase(trigger: Trigger): Promise<'continue'> {
    this.stats.massErases++;
    this.units.forEach((u, i) => {
      if (!this.isProtected(i)) this.flash.fill(this.family.erasedValue, u.start - STM32_FLASH_BASE, u.start - STM32_FLASH_BASE + u.size);
    });
    await this.busy(massEraseTimeMs(this.family, this.part.flashSize), Reply.ACK, trigger);
    return 'continue';
  }

  private async writeProtect(trigger: Trigger): Promise<'continue' | 'leave'> {
    const n = await this.getch(trigger);
    const frame = [n];
    for (let i = 0; i <= n; i++) frame.push(await this.getch(trigger));
    if ((xorOf(frame) ^ (await this.getch(trigger))) !== 0) return this.nack();
    const sectors = Math.ceil(this.units.length / this.family.wrpPagesPerSector);
    if (frame.slice(1).some((s) => s >= sectors)) return this.nack();
    for (const s of frame.slice(1)) this.wrp.add(s);
    this.tx.push(Reply.ACK);
    return this.reloadOptions();
  }

  private async readoutUnprotect(trigger: Trigger): Promise<'leave'> {
    // AN3155 §3.12: the whole flash is erased (write protection notwithstanding), then the device resets.
    this.flash.fill(this.family.erasedValue);
    this.ram.fill(0, this.family.ram.start - 0x2000_0000);
    this.rdp = false;
    this.stats.massErases++;
    await this.busy(massEraseTimeMs(this.family, this.part.flashSize), Reply.ACK, trigger);
    return this.reloadOptions();
  }

  private reloadOptions(): 'leave' {
    this.optionReload = true;
    return 'leave';
  }

  private async getChecksum(trigger: Trigger): Promise<'continue'> {
    const address = await this.address(trigger);
    if (address === null || address % 4 !== 0 || !this.readable(address, 4)) return this.nack();
    this.tx.push(Reply.ACK);
    const size = await this.address(trigger);
    if (size === null || size === 0 || size % 4 !== 0 || !this.readable(address, size)) return this.nack();
    this.tx.push(Reply.ACK);
    const bytes = Uint8Array.from({ length: size }, (_, i) => this.peek(address + i)!);
    const crc = stm32Crc(bytes);
    const word = [crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
    this.stats.checksums++;
    await this.busy(((size / 4) * CRC_US_PER_WORD) / 1000, [Reply.ACK, ...word, xorOf(word)], trigger);
    return 'continue';
  }

  /** Programs flash by the family's rules; false (and partly programmed, as real flash) on an error. */
  private program(offset: number, data: Uint8Array): boolean {
    const erased = this.family.erasedValue;
    const series = this.family.series;
    const unitIndex = (off: number) => this.units.findIndex((u) => off + STM32_FLASH_BASE >= u.start && off + STM32_FLASH_BASE < u.start + u.size);
    if (this.isProtected(unitIndex(offset)) || this.isProtected(unitIndex(offset + data.length - 1))) {
      this.stats.programErrors++;
      return false;
    }
    // Programming granule and rule: F0/F1/F3 half-words must be erased (or written 0); F2/F4/F7 can clear
    // bits of any word; ECC families (G0/G4/L4: 8 bytes, H7: 32) and the L0/L1 NVM need an erased word.
    const granule = series === 'F0' || series === 'F1' || series === 'F3' ? 2 : series === 'H7' ? 32 : ['G0', 'G4', 'L4'].includes(series) ? 8 : 4;
    const andOnly = series === 'F2' || series === 'F4' || series === 'F7';
    for (let at = 0; at < data.length; at += granule) {
      const base = offset + at - ((offset + at) % granule);
      const unit = this.flash.slice(base, base + granule);
      const next = unit.slice();
      for (let i = 0; i < granule; i++) {
        const k = base + i - offset;
        if (k >= 0 && k < data.length) next[i] = data[k]!;
      }
      if (andOnly) {
        for (let i = 0; i < granule; i++) this.flash[base + i] = unit[i]! & next[i]!;
        continue;
      }
      const blank = unit.every((b) => b === erased);
      const zero = granule === 2 && next.every((b) => b === 0);
      if (!blank && !zero && !unit.every((b, i) => b === next[i])) {
        this.stats.programErrors++;
        return false;
      }
      this.flash.set(next, base);
    }
    return true;
  }

  private isProtected(unit: number): boolean {
    return unit >= 0 && this.wrp.has(Math.floor(unit / this.family.wrpPagesPerSector));
  }

  /** Erase-unit numbers of each bank, for the dual-bank sector families (F42x/43x, F469/479, H74x/75x). */
  private banks(): number[][] {
    const all = this.units.map((u) => u.number);
    const dual = this.family.layout.kind === 'sectors' && (this.family.series === 'H7' || this.family.layout.sectors.length === 24);
    if (!dual || all.length < 2) return [];
    const half = this.family.layout.kind === 'sectors' ? this.family.layout.sectors.length / 2 : 0;
    return [all.filter((n) => n < half), all.filter((n) => n >= half)];
  }

  private inFlash(address: number, length: number): boolean {
    return address >= STM32_FLASH_BASE && address + length <= STM32_FLASH_BASE + this.flash.length;
  }

  private writeTarget(address: number): 'flash' | 'ram' | 'option' | null {
    if (this.inFlash(address, 1)) return 'flash';
    if (address >= this.family.ram.start && address < this.family.ram.end) return 'ram';
    const opt = this.family.optionBytes;
    if (opt && address >= opt.start && address < opt.end) return 'option';
    return null;
  }

  private readable(address: number, length: number): boolean {
    for (let i = 0; i < length; i++) if (this.peek(address + i) === undefined) return false;
    return true;
  }

  /** A byte as Read Memory sees it, or undefined where the ROM refuses to read. */
  private peek(address: number): number | undefined {
    const fam = this.family;
    if (this.inFlash(address, 1)) return this.flash[address - STM32_FLASH_BASE];
    if (address >= 0x2000_0000 && address < fam.ram.end) return this.ram[address - 0x2000_0000];
    if (fam.optionBytes && address >= fam.optionBytes.start && address < fam.optionBytes.end) return this.optionBytes[address - fam.optionBytes.start];
    // A per-unit ID made from the part, so two simulated parts differ and a probe has something real to read.
    const uid = fam.uidRegister;
    if (uid !== undefined && address >= uid && address < uid + 12) return (fam.pid * 31 + (address - uid) * 0x3b + this.part.flashSize / 1024) & 0xff;
    const reg = fam.flashSizeRegister;
    if (reg !== undefined && address >= reg && address < reg + 2) return ((this.part.flashSize / 1024) >> (8 * (address - reg))) & 0xff;
    if (address >= fam.systemMemory.start && address < fam.systemMemory.end) return (address * 0x9e37) >>> 13 & 0xff; // stands in for ROM code
    return undefined;
  }

  private async address(trigger: Trigger): Promise<number | null> {
    const b = [await this.getch(trigger), await this.getch(trigger), await this.getch(trigger), await this.getch(trigger)];
    if ((xorOf(b) ^ (await this.getch(trigger))) !== 0) return null;
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  private nack(): 'continue' {
    this.stats.nacks++;
    this.tx.push(Reply.NACK);
    return 'continue';
  }

  /**
   * The CPU is programming or erasing for `ms` from the arrival of the frame's last byte: the answer
   * leaves exactly then. Bytes arriving meanwhile sit in the USART: the first one is kept, later ones
   * overrun and are lost. Only bytes known to have arrived before the end count (a read that returned
   * early); a late wake-up of this process must not turn a host's timely bytes into an overrun.
   */
  private async busy(ms: number, reply: number | number[], trigger: Trigger): Promise<void> {
    await this.flushTx();
    const until = this.arrivalOfLastByte() + ms * this.timeScale;
    this.port!.sendAt(Uint8Array.from(typeof reply === 'number' ? [reply] : reply), until);
    const kept: number[] = [];
    if (this.rxPos < this.rx.length) {
      kept.push(this.rx[this.rxPos]!);
      this.stats.overruns += this.rx.length - this.rxPos - 1;
    }
    for (;;) {
      const left = until - this.clock.now();
      if (left <= 0) break;
      let chunk: Uint8Array;
      try {
        chunk = await this.port!.read(4096, { timeoutMs: left, signal: trigger });
      } catch (err) {
        if (err instanceof FlashError && err.code === 'timeout') break;
        throw err;
      }
      this.lastRxAt = this.clock.now();
      if (this.lastRxAt >= until) {
        kept.push(...chunk);
        break;
      }
      for (const b of chunk) {
        if (kept.length === 0) kept.push(b);
        else this.stats.overruns++;
      }
    }
    this.rx = Uint8Array.from(kept);
    this.rxPos = 0;
    this.rxEnd = Math.max(until, this.lastRxAt);
  }

  private async getch(trigger: Trigger): Promise<number> {
    if (this.rxPos >= this.rx.length) {
      await this.flushTx();
      for (;;) {
        try {
          this.rx = await this.port!.read(4096, { timeoutMs: HOUR_MS, signal: trigger });
          break;
        } catch (err) {
          if (!(err instanceof FlashError && err.code === 'timeout')) throw err;
        }
      }
      this.rxPos = 0;
      this.rxEnd = this.lastRxAt = this.clock.now();
    }
    return this.rx[this.rxPos++]!;
  }

  /** When the byte getch() returned last arrived: bytes still queued after it came one frame apart. */
  private arrivalOfLastByte(): number {
    const frameMs = 11_000 / this.port!.hostBaud();
    return Math.min(this.clock.now(), this.rxEnd - (this.rx.length - this.rxPos) * frameMs);
  }

  private async discardPending(trigger: Trigger): Promise<void> {
    try {
      while (true) await this.port!.read(4096, { timeoutMs: 0, signal: trigger });
    } catch (err) {
      if (!(err instanceof FlashError && err.code === 'timeout')) throw err;
    }
  }

  private async flushTx(): Promise<void> {
    if (this.tx.length === 0) return;
    const out = Uint8Array.from(this.tx);
    this.tx = [];
    await this.port!.write(out);
  }
}

export function createSimulator(opts: SimulatorOptions): Stm32UsartSimulator {
  const part = findStm32Part(opts.targetId ?? 'stm32f103c8');
  if (!part) throw new FlashError('not-found', `Unknown STM32 part "${opts.targetId}".`);
  return new Stm32UsartSimulator(opts.clock, part, parseVariant(opts.variant));
}

export type { Clock };
