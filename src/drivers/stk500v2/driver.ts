import { resolveAvrPart, signatureHex, type AvrPart } from '../../chips/avr';
import { hex } from '../../core/image/memory-image';
import { FlashError, isFlashError } from '../../shared/errors';
import { arduinoAutoReset } from '../stk500v1/driver';
import type { BlockConstraints, Driver, DriverContext, Identified } from '../types';
import { Stk500v2Link } from './link';
import { MEGA_BOOT_SIZE, stk500v2Meta } from './meta';
import { CMD, loadAddressBody, MEGA_BOOTLOADER_SIGN_ON, PARAM, programBody, readBody, STATUS } from './protocol';

/** The Mega bootloader waits about 1 s for the first byte after reset (stk500boot.c boot_timeout). */
const BOOTLOADER_WINDOW_MS = 1000;
/** One SIGN_ON attempt: 7 bytes out, 17 back, plus USB-serial latency. */
const SIGN_ON_ATTEMPT_MS = 60;
/** ATmega2560 datasheet 30.8: tWD_FLASH 4.5 ms, tWD_EEPROM 3.6 ms (maximum), the bootloader waits each out. */
const PAGE_OP_MS = 4.5;
const EEPROM_BYTE_MS = 3.6;
/** Flash past this many bytes needs LOAD_ADDRESS bit 31 (64 K words; AVR068 CMD_LOAD_ADDRESS). */
const EXTENDED_FROM = 0x20000;
/** Where avrdude re-sends LOAD_ADDRESS while reading (a programmer loads the extended byte only then). */
const ADDRESS_SEGMENT = 0x10000;
/** Sign-on names of STK500 v2 in-system programmers (avrdude stk500v2_getsync), which need ISP timing this driver does not send. */
const ISP_PROGRAMMERS = ['STK500_2', 'AVRISP_MK2', 'STK600', 'SCRATCHMONKEY'];
/** ENTER_PROGMODE_ISP with avrdude.conf's ATmega2560 values (timeout 200, stabdelay 100, cmdexedelay 25, synchloops 32, pollindex 3, pollvalue 0x53, AC 53 00 00). */
const ENTER_PROGMODE = Uint8Array.of(CMD.ENTER_PROGMODE_ISP, 200, 100, 25, 32, 0, 0x53, 3, 0xac, 0x53, 0x00, 0x00);

/**
 * Host side of STK500 v2 for the Arduino Mega bootloader (avrdude `-c wiring`).
 *
 * The bootloader erases the page at its own pointer on each PROGRAM_FLASH_ISP (starting at 0 and
 * advancing one page per write), not the page written. So this driver keeps that pointer in step:
 * it resets it with CHIP_ERASE_ISP (which this bootloader answers CMD_FAILED, doing nothing else),
 * and before a write past a gap it reads the gap's pages and writes them back unchanged, so no page
 * is written unerased and no page outside the image is lost. A write whose answer was lost is
 * checked by reading the page, never blindly repeated (a repeat would erase the next page instead).
 */
export class Stk500v2Driver implements Driver {
  private readonly link: Stk500v2Link;
  private part: AvrPart | null = null;
  private bootloader = '';
  /** Where the device's address pointer stands (byte address), or null when unknown. */
  private pointer: number | null = null;
  /** The page the bootloader will erase on the next flash write; null until it was reset. */
  private erasePointer: number | null = null;

  constructor(private readonly ctx: DriverContext) {
    this.link = new Stk500v2Link(ctx);
  }

  async connect(): Promise<void> {
    const rate = this.ctx.baudRate ?? stk500v2Meta.serialDefaults!.baudRate;
    await this.ctx.stream.setBaud(rate);
    this.link.baudRate = rate;
    this.link.restart();
    await arduinoAutoReset(this.ctx);
    const deadline = this.ctx.clock.now() + BOOTLOADER_WINDOW_MS;
    while (this.ctx.clock.now() < deadline) {
      try {
        const answer = await this.link.command(Uint8Array.of(CMD.SIGN_ON), { timeoutMs: SIGN_ON_ATTEMPT_MS });
        this.bootloader = String.fromCharCode(...answer.subarray(3, 3 + answer[2]!));
        this.checkSignOn();
        this.ctx.log('info', `Bootloader "${this.bootloader}" answered at ${rate} baud.`);
        return;
      } catch (err) {
        if (!isFlashError(err, 'timeout') && !isFlashError(err, 'bad-checksum')) throw err;
      }
    }
    throw new FlashError('no-sync', `No answer from the bootloader at ${rate} baud.`, {
      hint:
        'Check that the right port is selected and nothing else uses it. If the board does not reset by itself, ' +
        'press RESET just as flashing starts; a Mega 1280 uses the STK500 v1 bootloader at 57600 baud instead.',
      details: { baudRate: rate },
    });
  }

  async identify(): Promise<Identified> {
    const major = (await this.link.retrying(Uint8Array.of(CMD.GET_PARAMETER, PARAM.SW_MAJOR)))[2]!;
    const minor = (await this.link.retrying(Uint8Array.of(CMD.GET_PARAMETER, PARAM.SW_MINOR)))[2]!;
    await this.link.retrying(ENTER_PROGMODE);
    const signature: number[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await this.link.retrying(Uint8Array.of(CMD.READ_SIGNATURE_ISP, 4, 0x30, 0x00, i, 0x00), { replyBody: 4 });
      signature.push(answer[2]!);
    }
    const part = resolveAvrPart(signature, this.ctx.targetId);
    if (part.flashPageSize !== 256 || part.flashSize < 0x10000) {
      throw new FlashError('unsupported', `${part.name} does not run the Arduino Mega bootloader.`, {
        hint: 'Choose the programmer that matches the board (STK500 v1 for Uno-class boards).',
      });
    }
    this.part = part;
    const appEnd = part.flashSize - MEGA_BOOT_SIZE;
    return {
      device: {
        id: signatureHex(signature),
        name: part.name,
        bootloader: `STK500 v2 ${this.bootloader} ${major}.${minor.toString().padStart(2, '0')}`,
        baudRate: this.link.baudRate,
      },
      memories: [
        {
          name: 'flash',
          base: 0,
          size: part.flashSize,
          pageSize: part.flashPageSize,
          reserved: [{ start: appEnd, end: part.flashSize, what: 'the Mega bootloader (STK500 v2)' }],
        },
        { name: 'eeprom', base: 0, size: part.eepromSize, pageSize: part.eepromPageSize, reserved: [] },
      ],
    };
  }

  constraints(memory: string): BlockConstraints {
    const part = this.requirePart();
    // The bootloader writes exactly one page per command; EEPROM bytes go one by one, any count.
    if (memory === 'eeprom') return { pageSize: part.eepromPageSize, maxBlock: 256, fill: 0xff };
    return { pageSize: part.flashPageSize, maxBlock: part.flashPageSize, fill: 0xff };
  }

  async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    if (this.memoryName(memory) === 'eeprom') {
      // PROGRAM_EEPROM_ISP writes at the loaded address itself.
      await this.loadAddress(address, false);
      await this.link.command(programBody('eeprom', data, 10), { deviceMs: EEPROM_BYTE_MS * data.length });
      this.pointer = null;
      return;
    }
    await this.syncErasePointer(address);
    await this.programPage(address, data);
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    if (this.memoryName(memory) === 'eeprom') {
      // READ_EEPROM_ISP reads at the bootloader's flash byte address, twice the loaded one
      // (stk500boot.c): load half, so it reads where we mean. Blocks are page-aligned, so even.
      const answer = await this.readAt(address / 2, false, readBody('eeprom', length));
      this.pointer = null;
      return answer.subarray(2, 2 + length);
    }
    const out = new Uint8Array(length);
    for (let at = 0; at < length; ) {
      const size = Math.min(this.requirePart().flashPageSize, length - at);
      const answer = await this.readAt(address + at, true, readBody('flash', size));
      out.set(answer.subarray(2, 2 + size), at);
      at += size;
    }
    return out;
  }

  async close(outcome?: { ok: boolean }): Promise<void> {
    // After a failure the bootloader is left waiting (it starts the application after a few idle seconds).
    if (outcome?.ok === false) return;
    try {
      await this.link.command(Uint8Array.of(CMD.LEAVE_PROGMODE_ISP, 1, 1));
    } catch (err) {
      this.ctx.log('debug', `Leaving programming mode failed: ${(err as Error).message}`);
    }
  }

  /** Refuses in-system programmers: they need ISP timing parameters and a chip erase this driver never sends. */
  private checkSignOn(): void {
    if (ISP_PROGRAMMERS.includes(this.bootloader)) {
      throw new FlashError('unsupported', `This is an STK500 v2 in-system programmer ("${this.bootloader}"), not the Arduino Mega bootloader.`, {
        hint: 'Program the board through its USB port with its bootloader, or use avrdude for ISP programmers.',
        details: { signOn: this.bootloader },
      });
    }
    if (this.bootloader !== MEGA_BOOTLOADER_SIGN_ON) this.ctx.log('warn', `Unknown STK500 v2 bootloader "${this.bootloader}"; treating it as the Mega bootloader.`);
  }

  /**
   * Brings the bootloader's erase pointer to `address`: reset to 0 on the first write, then every page
   * in between is read and written back as it was, each write erasing the page it rewrites.
   */
  private async syncErasePointer(address: number): Promise<void> {
    if (this.erasePointer === null) {
      await this.link.retrying(Uint8Array.of(CMD.CHIP_ERASE_ISP, 10, 0, 0xac, 0x80, 0x00, 0x00), { accept: [STATUS.CMD_FAILED] });
      this.erasePointer = 0;
    }
    if (address < this.erasePointer) {
      // A page written again (after a verify found the chip wrong): the pointer is past it, so start
      // it over from 0; the pages below are kept by writing them back as they are.
      this.ctx.log('info', `Writing ${hex(address)} again: the bootloader erases in order, so pages below it are rewritten as they are.`);
      this.erasePointer = null;
      await this.syncErasePointer(address);
      return;
    }
    const page = this.requirePart().flashPageSize;
    if (address > this.erasePointer) {
      this.ctx.log('debug', `Rewriting ${(address - this.erasePointer) / page} unchanged pages before ${hex(address)} (the bootloader erases in order).`);
    }
    while (this.erasePointer < address) {
      const keep = await this.readBlock('flash', this.erasePointer, page);
      await this.programPage(this.erasePointer, keep);
    }
  }

  private async programPage(address: number, data: Uint8Array): Promise<void> {
    const appEnd = this.requirePart().flashSize - MEGA_BOOT_SIZE;
    if (this.pointer !== address) await this.loadAddress(address, true);
    try {
      await this.link.command(programBody('flash', data, 10), { deviceMs: 2 * PAGE_OP_MS });
    } catch (err) {
      if (!(isFlashError(err, 'timeout') || isFlashError(err, 'bad-checksum'))) throw err;
      // Did the page get written (answer lost) or was the frame lost? Only the flash can tell.
      this.pointer = null;
      const now = await this.readBlock('flash', address, data.length);
      if (!now.every((b, i) => b === data[i])) {
        this.ctx.log('debug', `Page ${hex(address)} was not written; sending it again.`);
        await this.loadAddress(address, true);
        await this.link.command(programBody('flash', data, 10), { deviceMs: 2 * PAGE_OP_MS });
      }
    }
    this.pointer = address + data.length;
    if (address < appEnd) this.erasePointer = address + data.length;
  }

  /**
   * One read command from `address`, retried: the bootloader advances its pointer even when the
   * answer is lost on the way back, so every retry loads the address again.
   */
  private async readAt(address: number, flash: boolean, body: Uint8Array): Promise<Uint8Array> {
    const size = (body[1]! << 8) | body[2]!;
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.pointer !== address || (flash && address % ADDRESS_SEGMENT === 0)) await this.loadAddress(address, flash);
        const answer = await this.link.command(body, { replyBody: size + 3 });
        this.pointer = address + size;
        return answer;
      } catch (err) {
        this.pointer = null;
        if (attempt >= 3 || !(isFlashError(err, 'timeout') || isFlashError(err, 'bad-checksum'))) throw err;
        this.ctx.log('debug', `Reading ${hex(address)} again: ${(err as Error).message}`);
      }
    }
  }

  private async loadAddress(address: number, flash: boolean): Promise<void> {
    const extended = flash && this.requirePart().flashSize > EXTENDED_FROM;
    await this.link.retrying(loadAddressBody(flash ? address / 2 : address, extended));
    this.pointer = address;
  }

  private memoryName(memory: string): 'flash' | 'eeprom' {
    if (memory === 'flash' || memory === 'eeprom') return memory;
    throw new FlashError('unsupported', `The Mega bootloader has no "${memory}" memory.`);
  }

  private requirePart(): AvrPart {
    if (!this.part) throw new FlashError('internal', 'identify() must run before programming.');
    return this.part;
  }
}

export function createDriver(ctx: DriverContext): Driver {
  return new Stk500v2Driver(ctx);
}
