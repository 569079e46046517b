import { resolveAvrPart, signatureHex, type AvrPart } from '../../chips/avr';
import { drain, readExactly } from '../../core/io/byte-stream';
import { bitsPerFrame, FORMAT_8N1 } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import type { BlockConstraints, Driver, DriverContext, Identified } from '../types';
import { avr109Meta, CATERINA_BOOT_SIZE } from './meta';
import { blockRead, blockWrite, Cmd, CR, MemType, setAddress, TOUCH_BAUD, YES } from './protocol';

/** How long the port stays at 1200 baud with DTR dropped: the sketch resets 120 ms after it sees it (CDC.cpp). */
const TOUCH_HOLD_MS = 250;
/** After the touch: the sketch's watchdog reset, then Caterina's USB enumeration. */
const AFTER_TOUCH_MS = 400;
/** How long to ask for the bootloader's id: the touch, or a double-tapped reset, leaves it 8 s. */
const SYNC_WINDOW_MS = 3000;
const SYNC_ATTEMPT_MS = 150;
/** ATmega32U4 datasheet 28.7: tWD_FLASH 4.5 ms (max) for the page erase and again for the write; tWD_EEPROM 3.6 ms a byte. */
const PAGE_OP_MS = 4.5;
const EEPROM_BYTE_MS = 3.6;
/** USB latency and OS scheduling on top of line time and device time. */
const REPLY_MARGIN_MS = 300;
/** Caterina reads any length with 'g': fewer turnarounds than one page per request. */
const MAX_READ = 1024;

/**
 * Host side of AVR109 for Caterina (avrdude `-c avr109`). Enters the bootloader with the 1200-baud
 * touch unless the session is already on the bootloader's port (option touch=none, set by the worker
 * when the board came back as its bootloader's USB device). Every 'B'/'g' restarts Caterina's 8-second
 * timeout, so a session with traffic never loses the bootloader.
 */
export class Avr109Driver implements Driver {
  private part: AvrPart | null = null;
  private blockSize = 0;
  private id = '';
  private baudRate = 57600;
  /** The device's address pointer (byte address, with its memory), or null when unknown. */
  private pointer: { memory: string; address: number } | null = null;

  constructor(private readonly ctx: DriverContext) {}

  async connect(): Promise<void> {
    this.baudRate = this.ctx.baudRate ?? avr109Meta.serialDefaults!.baudRate;
    if (this.ctx.options?.touch !== 'none') await this.touch();
    await this.ctx.stream.setBaud(this.baudRate);
    const deadline = this.ctx.clock.now() + SYNC_WINDOW_MS;
    while (this.ctx.clock.now() < deadline) {
      await drain(this.ctx.stream, 0, this.ctx.signal);
      try {
        const id = await this.exchange(Uint8Array.of(Cmd.SOFTWARE_ID), 7, 0, SYNC_ATTEMPT_MS);
        if (id.every((b) => b >= 0x20 && b < 0x7f)) {
          this.id = String.fromCharCode(...id);
          this.ctx.log('info', `Bootloader "${this.id}" answered.`);
          return;
        }
      } catch (err) {
        if (!isFlashError(err, 'timeout')) throw err;
      }
    }
    throw new FlashError('no-sync', 'No answer from the bootloader after the 1200-baud touch.', {
      hint: 'Press the reset button twice quickly (the LED pulses), choose the port that appears, and flash within 8 seconds.',
      details: { step: this.ctx.options?.touch === 'none' ? 'sync' : 'touch' },
    });
  }

  async identify(): Promise<Identified> {
    const version = String.fromCharCode(...(await this.exchange(Uint8Array.of(Cmd.SOFTWARE_VERSION), 2)));
    if ((await this.exchange(Uint8Array.of(Cmd.AUTO_INCREMENT), 1))[0] !== YES) throw this.unsupported('auto-increment');
    const block = await this.exchange(Uint8Array.of(Cmd.BLOCK_SUPPORT), 3);
    if (block[0] !== YES) throw this.unsupported('block mode');
    this.blockSize = (block[1]! << 8) | block[2]!;
    const reversed = await this.exchange(Uint8Array.of(Cmd.READ_SIGNATURE), 3);
    const signature = [reversed[2]!, reversed[1]!, reversed[0]!];
    await this.expectCr(Uint8Array.of(Cmd.ENTER_PROGMODE));
    const part = resolveAvrPart(signature, this.ctx.targetId);
    if (this.blockSize % part.flashPageSize !== 0 || this.blockSize === 0) {
      throw new FlashError('protocol', `The bootloader's block size (${this.blockSize}) is not whole flash pages of ${part.name}.`);
    }
    this.part = part;
    const bootStart = part.flashSize - CATERINA_BOOT_SIZE;
    return {
      device: { id: signatureHex(signature), name: part.name, bootloader: `${this.id} ${version[0]}.${version[1]} (AVR109)`, baudRate: this.baudRate },
      memories: [
        { name: 'flash', base: 0, size: part.flashSize, pageSize: part.flashPageSize, reserved: [{ start: bootStart, end: part.flashSize, what: 'the Caterina bootloader' }] },
        { name: 'eeprom', base: 0, size: part.eepromSize, pageSize: part.eepromPageSize, reserved: [] },
      ],
    };
  }

  constraints(memory: string): BlockConstraints {
    const part = this.requirePart();
    if (memory === 'eeprom') return { pageSize: part.eepromPageSize, maxBlock: 64, maxReadBlock: MAX_READ, fill: 0xff };
    // Caterina erases and writes one page per 'B', so a block is exactly one page.
    return { pageSize: part.flashPageSize, maxBlock: part.flashPageSize, maxReadBlock: MAX_READ, fill: 0xff };
  }

  async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    const type = this.memType(memory);
    await this.seek(memory, address);
    const deviceMs = type === MemType.flash ? 2 * PAGE_OP_MS : EEPROM_BYTE_MS * data.length;
    this.pointer = null; // unknown until the CR confirms the whole block went in
    await this.expectCr(blockWrite(type, data), deviceMs);
    this.pointer = { memory, address: address + data.length };
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    const type = this.memType(memory);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.seek(memory, address);
        this.pointer = null;
        const data = await this.exchange(blockRead(type, length), length);
        this.pointer = { memory, address: address + length };
        return data;
      } catch (err) {
        if (attempt >= 2 || !isFlashError(err, 'timeout')) throw err;
        // A byte lost on the way: let the rest arrive, then ask again from the address.
        await drain(this.ctx.stream, 50, this.ctx.signal);
      }
    }
  }

  async erase(): Promise<void> {
    const part = this.requirePart();
    const pages = (part.flashSize - CATERINA_BOOT_SIZE) / part.flashPageSize;
    await this.expectCr(Uint8Array.of(Cmd.CHIP_ERASE), pages * 2 * PAGE_OP_MS);
  }

  async close(outcome?: { ok: boolean }): Promise<void> {
    // After a failure Caterina is left waiting (its 8 s timeout starts the old sketch, if any).
    if (outcome?.ok === false || !this.part) return;
    try {
      await this.expectCr(Uint8Array.of(Cmd.LEAVE_PROGMODE));
      await this.expectCr(Uint8Array.of(Cmd.EXIT));
    } catch (err) {
      this.ctx.log('debug', `Leaving the bootloader failed: ${(err as Error).message}`);
    }
  }

  /**
   * The Arduino core's reset request: line at 1200 baud, DTR dropped. A real board then leaves USB and
   * comes back as its bootloader (the stream reports device-lost, and the worker finds the new port);
   * a board already in its bootloader ignores it.
   */
  private async touch(): Promise<void> {
    const { stream, clock, signal } = this.ctx;
    try {
      await stream.setBaud(TOUCH_BAUD);
      await stream.setSignals({ dtr: true, rts: true });
      await stream.setSignals({ dtr: false, rts: false });
    } catch (err) {
      if (isFlashError(err, 'device-lost') || signal.aborted) throw err;
      this.ctx.log('debug', `The 1200-baud touch could not drop DTR here (${(err as Error).message}); press reset twice if the bootloader does not answer.`);
    }
    await clock.sleep(TOUCH_HOLD_MS, signal);
    await clock.sleep(AFTER_TOUCH_MS, signal);
  }

  private async seek(memory: string, address: number): Promise<void> {
    if (this.pointer?.memory === memory && this.pointer.address === address) return;
    await this.expectCr(setAddress(memory === 'flash' ? address / 2 : address));
    this.pointer = { memory, address };
  }

  private async expectCr(command: Uint8Array, deviceMs = 0): Promise<void> {
    const reply = await this.exchange(command, 1, deviceMs);
    if (reply[0] !== CR) {
      throw new FlashError('protocol', `The bootloader answered 0x${reply[0]!.toString(16).padStart(2, '0')} to '${String.fromCharCode(command[0]!)}' instead of CR.`, {
        hint: 'Noise on the line or a different bootloader: reset the board twice and try again.',
        details: { command: String.fromCharCode(command[0]!), reply: reply[0]! },
      });
    }
  }

  private async exchange(command: Uint8Array, replyLength: number, deviceMs = 0, timeoutMs?: number): Promise<Uint8Array> {
    const { stream, clock, signal } = this.ctx;
    await stream.write(command);
    const lineMs = ((command.length + replyLength) * bitsPerFrame(FORMAT_8N1) * 1000) / this.baudRate;
    return readExactly(stream, replyLength, { timeoutMs: timeoutMs ?? lineMs + deviceMs + REPLY_MARGIN_MS, signal, now: () => clock.now() });
  }

  private memType(memory: string): number {
    if (memory === 'flash') return MemType.flash;
    if (memory === 'eeprom') return MemType.eeprom;
    throw new FlashError('unsupported', `Caterina has no "${memory}" memory.`);
  }

  private unsupported(what: string): FlashError {
    return new FlashError('unsupported', `The bootloader "${this.id}" has no ${what}, which webprog needs.`, {
      hint: 'This is an AVR910-style bootloader: program it with avrdude.',
    });
  }

  private requirePart(): AvrPart {
    if (!this.part) throw new FlashError('internal', 'identify() must run before programming.');
    return this.part;
  }
}

export function createDriver(ctx: DriverContext): Driver {
  return new Avr109Driver(ctx);
}
