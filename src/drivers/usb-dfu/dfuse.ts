import { hex } from '../../core/image/memory-image';
import { FlashError } from '../../shared/errors';
import type { BlockConstraints, Identified } from '../types';
import type { UsbDriverContext } from '../types';
import { DfuDriver, DfuStatusError, isRecoverable, type DfuProbe } from './dfu';
import { describeLayout, layoutMemory, parseMemoryLayout, sectorsIn, type MemoryLayout, type Sector } from './layout';
import { DFU_STATE, DFU_STATUS, DFUSE_COMMAND, DFUSE_FIRST_DATA_BLOCK, dfuseCommand } from './protocol';

/** Blocks handed to writeBlock: whole planning pages, up to this many bytes (fewer Set Address rounds). */
const TARGET_BLOCK = 16 * 1024;

interface DfuseAlt {
  alt: number;
  layout: MemoryLayout;
}

/** Old contents of a sector that is only partly in the image, kept across its erase and written back. */
interface Keep {
  alt: number;
  sector: Sector;
  /** The sector as it was before the erase. */
  old: Uint8Array;
  /** Everything below this address is settled (written back or written by the image). */
  from: number;
}

/**
 * ST DfuSe (DFU 1.1a, AN3156): the DFU driver plus addressing. Commands go as DFU_DNLOAD with
 * wBlockNum 0 (Set Address Pointer 0x21, Erase 0x41, Read Unprotect 0x92); data blocks are
 * wBlockNum >= 2 at pointer + (wBlockNum - 2) * wTransferSize, for writes and reads alike.
 *
 * Invariants:
 * - a sector is erased once per session, before its first write, and only sectors the image touches
 *   (mass erase only on request);
 * - bytes of an erased sector that the image does not cover keep their old contents: they are read
 *   before the erase and written back, so skip-unchanged and partial images never lose data;
 * - chunks that are all 0xFF in a sector erased this session are not sent (erased flash reads 0xFF);
 * - a failed command or chunk (STALL or dfuERROR) is cleared with DFU_CLRSTATUS and retried once;
 * - read-out protection is detected in identify(), before anything is erased, and removed only
 *   with the user's explicit consent (it mass-erases the chip).
 */
export class DfuseDriver extends DfuDriver {
  private alts = new Map<number, DfuseAlt>();
  private erased = new Set<string>();
  private keep: Keep | null = null;
  /** Whether the device sits in dfuDNLOAD-IDLE or dfuUPLOAD-IDLE after our last request, so needs DFU_ABORT before an upload. */
  private busyState: 'idle' | 'dnload' | 'upload' = 'idle';
  /** Lowest address written in the flash alternate setting: where "leave" starts the application. */
  private entry: number | undefined;
  private flashAlt = 0;

  constructor(ctx: UsbDriverContext, probe: DfuProbe) {
    super(ctx, probe);
  }

  override async connect(): Promise<void> {
    await super.connect();
    this.busyState = 'idle';
  }

  override async identify(): Promise<Identified> {
    return this.guard(async () => {
      const part = this.checkPart();
      for (const a of this.probe.alts) {
        let layout: MemoryLayout;
        try {
          layout = parseMemoryLayout(a.name);
        } catch (err) {
          if (a === this.probe.alts[0]) throw err;
          this.ctx.log('warn', `Alternate setting ${a.alternateSetting} ("${a.name}") has no DfuSe memory layout; it is not offered.`);
          continue;
        }
        this.ctx.log('debug', `alt ${a.alternateSetting}: ${describeLayout(layout)}`);
        this.alts.set(a.alternateSetting, { alt: a.alternateSetting, layout });
        this.memories.set(`alt${a.alternateSetting}`, { alt: a.alternateSetting, memory: layoutMemory(layout, `alt${a.alternateSetting}`) });
      }
      // 'flash' (what .hex/.bin/.elf images carry) is the alternate setting named like flash, else the first.
      const flash = [...this.alts.values()].find((a) => /flash/i.test(a.layout.name)) ?? [...this.alts.values()][0]!;
      this.flashAlt = flash.alt;
      this.memories.set('flash', { alt: flash.alt, memory: layoutMemory(flash.layout, 'flash') });
      await this.checkReadable(flash);
      return { device: this.identity(part), memories: [...this.memories.values()].map((m) => m.memory) };
    });
  }

  override constraints(memory: string): BlockConstraints {
    const { memory: mem } = this.altMemory(memory);
    const page = mem.pageSize;
    const block = page * Math.max(1, Math.floor(TARGET_BLOCK / page));
    return { pageSize: page, maxBlock: block, maxReadBlock: block, fill: 0xff };
  }

  override async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    await this.guard(async () => {
      const { alt } = this.altMemory(memory);
      const { layout } = this.dfuseAlt(alt);
      if (this.keep && (this.keep.alt !== alt || address < this.keep.sector.start || address >= this.keep.sector.start + this.keep.sector.size)) await this.flushKeep();
      await this.useAlt(alt);
      this.changed = true;
      if (alt === this.flashAlt && (this.entry === undefined || address < this.entry)) this.entry = address;
      const end = address + data.length;
      for (const sector of sectorsIn(layout, address, end)) {
        const from = Math.max(address, sector.start);
        const to = Math.min(end, sector.start + sector.size);
        const piece = data.subarray(from - address, to - address);
        if (!sector.writable) throw new FlashError('image-out-of-range', `${hex(sector.start, 8)} is in a read-only sector of "${layout.name}".`);
        const key = `${alt}:${sector.start}`;
        if (sector.erasable && !this.erased.has(key)) {
          await this.flushKeep();
          await this.eraseSectorKeeping(alt, sector, from, to);
        } else if (this.keep && this.keep.sector.start === sector.start && this.keep.alt === alt) {
          await this.writeBack(this.keep, from);
        }
        await this.program(from, piece, this.erased.has(key));
        if (this.keep && this.keep.sector.start === sector.start && this.keep.alt === alt) this.keep.from = Math.max(this.keep.from, to);
      }
    });
  }

  override async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    return this.guard(async () => {
      const { alt } = this.altMemory(memory);
      await this.flushKeep();
      await this.useAlt(alt);
      return this.read(address, length);
    });
  }

  /** Mass erase (0x41 alone) of the flash alternate setting; every erasable sector of it counts as erased. */
  override async erase(): Promise<void> {
    await this.guard(async () => {
      this.keep = null; // a mass erase takes the old contents with it, as the user asked
      this.changed = true;
      await this.useAlt(this.flashAlt);
      this.ctx.log('info', 'Mass erase: this takes seconds on large parts.');
      await this.command(dfuseCommand(DFUSE_COMMAND.ERASE), 'mass erase');
      const { layout } = this.dfuseAlt(this.flashAlt);
      for (const s of layout.segments) {
        if (!s.erasable) continue;
        for (let i = 0; i < s.count; i++) this.erased.add(`${this.flashAlt}:${s.start + i * s.size}`);
      }
    });
  }

  /**
   * Removes read-out protection (0x92): the chip mass-erases its flash, clears RDP and resets, so it
   * leaves the bus. Needs `consent.readUnprotect`. With `reopen` the session continues on the device
   * once it is back in DFU mode; without it, the caller has to connect again.
   */
  async readUnprotect(): Promise<void> {
    if (!this.ctx.consent?.readUnprotect) {
      throw new FlashError('unsupported', 'Removing read-out protection needs explicit consent: it erases the whole flash.', {
        hint: 'Confirm "remove read protection (erases the chip)" and try again.',
      });
    }
    this.ctx.log('warn', 'Removing read-out protection: the chip now erases all of its flash and restarts.');
    await this.link.dnload(0, dfuseCommand(DFUSE_COMMAND.READ_UNPROTECT));
    // The device answers one GETSTATUS (dfuDNBUSY) and then resets; what follows is not a failure.
    await this.link.getStatus().catch(() => undefined);
    this.gone = true;
    if (!this.ctx.reopen) {
      throw new FlashError('device-lost', 'Read-out protection was removed: the chip erased its flash and restarted.', {
        hint: 'Put the board into DFU mode again (BOOT0 high, reset) and flash.',
      });
    }
    const pipe = await this.ctx.reopen({ vendorId: this.probe.vendorId, productId: this.probe.productId, serialNumber: this.probe.serialNumber });
    this.link.usb = pipe;
    this.gone = false;
    this.failed = false;
    this.currentAlt = -1;
    this.erased.clear();
    await this.connect();
  }

  /** Writes what is still owed, then (after a successful session that wrote something) leaves DFU mode into the application. */
  override async close(outcome?: { ok: boolean }): Promise<void> {
    if (this.gone) return;
    if (outcome?.ok === false) this.failed = true;
    try {
      await this.flushKeep();
      if (!this.shouldLeave()) return;
      await this.useAlt(this.flashAlt);
      const { memory } = this.altMemory('flash');
      const start = this.entry ?? memory.base;
      // dfu-util ":leave": pointer to the application, then a zero-length DFU_DNLOAD; the device jumps there.
      await this.abortIfBusy();
      await this.command(dfuseCommand(DFUSE_COMMAND.SET_ADDRESS_POINTER, start), `setting the start address ${hex(start, 8)}`);
      await this.link.dnload(DFUSE_FIRST_DATA_BLOCK, new Uint8Array(0));
      await this.link.getStatus().catch(() => undefined); // dfuMANIFEST, then the device leaves the bus
      this.gone = true;
      this.ctx.log('info', `Left DFU mode: the application at ${hex(start, 8)} starts.`);
    } catch (err) {
      this.ctx.log('warn', `Ending the DfuSe session failed: ${(err as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------

  private dfuseAlt(alt: number): DfuseAlt {
    const a = this.alts.get(alt);
    if (!a) throw new FlashError('internal', `No DfuSe layout for alternate setting ${alt}.`);
    return a;
  }

  private async useAlt(alt: number): Promise<void> {
    if (alt === this.currentAlt) return;
    await this.abortIfBusy();
    await this.selectAlt(alt);
  }

  private async abortIfBusy(): Promise<void> {
    if (this.busyState === 'idle') return;
    await this.link.abort();
    this.busyState = 'idle';
  }

  /**
   * A DfuSe command: DFU_DNLOAD wBlockNum 0, then GETSTATUS until the device is no longer dfuDNBUSY; it
   * must end in dfuDNLOAD-IDLE with status OK (AN3156 §6; dfu-util dfuse_special_command).
   */
  private async command(payload: Uint8Array, what: string): Promise<void> {
    await this.retryOnce(what, async () => {
      if (this.busyState === 'upload') await this.abortIfBusy(); // DFU_DNLOAD is not valid in dfuUPLOAD-IDLE
      await this.link.dnload(0, payload);
      this.busyState = 'dnload';
      const st = await this.link.settle(what);
      this.link.expect(st, DFU_STATE.dfuDNLOAD_IDLE, `after ${what}`);
    });
  }

  /** Clears a STALL or dfuERROR and runs `op` once more (DFU 1.1 §6.1.4: DFU_CLRSTATUS returns to dfuIDLE). */
  private async retryOnce<T>(what: string, op: (retry: boolean) => Promise<T>): Promise<T> {
    try {
      return await op(false);
    } catch (err) {
      if (!isRecoverable(err)) throw err;
      this.ctx.log('warn', `${what}: ${(err as Error).message} Clearing the error and trying once more.`);
      await this.link.toIdle();
      this.busyState = 'idle';
      return op(true);
    }
  }

  /**
   * Erases `sector` for a write covering [from, to) of it. Bytes of it outside that range and below the
   * image's next bytes are read first and kept, to be written back after the erase.
   */
  private async eraseSectorKeeping(alt: number, sector: Sector, from: number, to: number): Promise<void> {
    const end = sector.start + sector.size;
    let old: Uint8Array | null = null;
    if (sector.readable && (from > sector.start || to < end)) {
      old = new Uint8Array(sector.size).fill(0xff);
      if (from > sector.start) old.set(await this.read(sector.start, from - sector.start), 0);
      if (to < end) old.set(await this.read(to, end - to), to - sector.start);
    }
    await this.command(dfuseCommand(DFUSE_COMMAND.ERASE, sector.start), `erasing the sector at ${hex(sector.start, 8)}`);
    this.erased.add(`${alt}:${sector.start}`);
    if (!old) return;
    const keep: Keep = { alt, sector, old, from: sector.start };
    this.keep = keep;
    await this.writeBack(keep, from);
    keep.from = to;
    if (!old.every((b) => b === 0xff)) this.ctx.log('info', `The sector at ${hex(sector.start, 8)} is only partly in the image: its other bytes are kept.`);
  }

  /** Writes back the kept old bytes in [keep.from, until). */
  private async writeBack(keep: Keep, until: number): Promise<void> {
    if (until <= keep.from) return;
    const start = keep.from;
    keep.from = until;
    await this.program(start, keep.old.subarray(start - keep.sector.start, until - keep.sector.start), true);
  }

  /** Writes back the rest of a partly covered sector, when the image has moved on. */
  private async flushKeep(): Promise<void> {
    const keep = this.keep;
    if (!keep) return;
    this.keep = null;
    await this.useAlt(keep.alt);
    await this.writeBack(keep, keep.sector.start + keep.sector.size);
  }

  /**
   * Programs `data` at `address` in wTransferSize chunks: one Set Address, then DFU_DNLOAD blocks 2, 3, …
   * (the device computes each chunk's address from the block number, AN3156 §6.3). In freshly erased
   * flash, all-0xFF chunks are skipped. A failed chunk is retried once from a new Set Address.
   */
  private async program(address: number, data: Uint8Array, erased: boolean): Promise<void> {
    const size = this.transferSize;
    // With a smaller transfer than the device's wTransferSize, block offsets would not match: set the address per chunk.
    const offsets = size === this.probe.functional.transferSize;
    let pointer: number | null = null;
    for (let at = 0; at < data.length; at += size) {
      const chunk = data.subarray(at, at + size);
      const chunkAddress = address + at;
      if (erased && chunk.every((b) => b === 0xff)) continue;
      await this.retryOnce(`writing ${hex(chunkAddress, 8)}`, async (retry) => {
        if (retry || pointer === null || !offsets || (chunkAddress - pointer) / size + DFUSE_FIRST_DATA_BLOCK > 0xffff) {
          await this.command(dfuseCommand(DFUSE_COMMAND.SET_ADDRESS_POINTER, chunkAddress), `setting the address ${hex(chunkAddress, 8)}`);
          pointer = chunkAddress;
        }
        const block = DFUSE_FIRST_DATA_BLOCK + (chunkAddress - pointer) / size;
        await this.link.dnload(block, chunk);
        this.busyState = 'dnload';
        const st = await this.link.settle(`writing ${hex(chunkAddress, 8)}`);
        this.link.expect(st, DFU_STATE.dfuDNLOAD_IDLE, `after writing ${chunk.length} bytes at ${hex(chunkAddress, 8)}`);
      });
    }
  }

  /** Reads [address, address + length): Set Address, DFU_ABORT (uploads start from dfuIDLE), UPLOAD blocks 2, 3, … */
  private async read(address: number, length: number): Promise<Uint8Array> {
    const size = this.transferSize;
    const out = new Uint8Array(length);
    let pointer: number | null = null;
    for (let at = 0; at < length; at += size) {
      const n = Math.min(size, length - at);
      const chunkAddress = address + at;
      const got = await this.retryOnce(`reading ${hex(chunkAddress, 8)}`, async (retry) => {
        if (retry || pointer === null || size !== this.probe.functional.transferSize) {
          await this.abortIfBusy();
          await this.command(dfuseCommand(DFUSE_COMMAND.SET_ADDRESS_POINTER, chunkAddress), `setting the address ${hex(chunkAddress, 8)}`);
          await this.abortIfBusy();
          pointer = chunkAddress;
        }
        const data = await this.link.upload(DFUSE_FIRST_DATA_BLOCK + (chunkAddress - pointer) / size, n);
        this.busyState = 'upload';
        if (data.length !== n) throw new FlashError('protocol', `The device returned ${data.length} of ${n} bytes at ${hex(chunkAddress, 8)}.`);
        return data;
      });
      out.set(got, at);
    }
    return out;
  }

  /**
   * Reads the first bytes of flash: an STM32 with read-out protection refuses uploads (STALL, then
   * dfuERROR), and it is better to say so now than after erasing. With consent the protection is
   * removed (erasing the chip); without, the user is told what that would cost.
   */
  private async checkReadable(flash: DfuseAlt): Promise<void> {
    if (!this.probe.functional.canUpload) return;
    const first = flash.layout.segments.find((s) => s.readable);
    if (!first) return;
    await this.useAlt(flash.alt);
    try {
      await this.read(first.start, 64);
    } catch (err) {
      if (!isRecoverable(err)) throw err;
      // After a STALLed upload the device's status says why: errVENDOR is ST's read-out protection.
      let status = err instanceof DfuStatusError ? err.dfu.status : undefined;
      if (status === undefined) status = (await this.link.getStatus().catch(() => null))?.status;
      if (status !== DFU_STATUS.errVENDOR && status !== DFU_STATUS.errTARGET) throw err;
      await this.link.toIdle();
      this.busyState = 'idle';
      if (this.ctx.consent?.readUnprotect) {
        await this.readUnprotect();
        return;
      }
      throw new FlashError('nak', 'The chip refuses to be read: its read-out protection (RDP) is active.', {
        hint:
          'Removing the protection erases the whole flash (the firmware and any data on it) before the chip can be ' +
          'programmed again. If that is acceptable, run again with consent to remove read protection.',
        details: { readProtected: true, ...(status === undefined ? {} : { status }) },
        cause: err,
      });
    }
  }
}
