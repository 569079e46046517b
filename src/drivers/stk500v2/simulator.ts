import { findAvrPart, type AvrPart } from '../../chips/avr';
import type { Clock } from '../../core/io/clock';
import { Trigger } from '../../core/io/signal';
import type { DevicePort } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';
import { CMD, encodeFrame, FrameParser, MEGA_BOOTLOADER_SIGN_ON, PARAM, STATUS, type Frame } from './protocol';
import { MEGA_BOOT_SIZE } from './meta';

/** Fuse start-up of a Mega 2560 (SUT=11 with a crystal): 16K CK + 65 ms before the first instruction. */
const STARTUP_MS = 65;
/** stk500boot.c waits boot_timeout = 20000 polls ("about 1 second") for the first byte after reset. */
const FIRST_BYTE_WINDOW_MS = 1000;
/**
 * Inside a session recchar_timeout() gives up after MAX_TIME_COUNT = F_CPU/2 polls of the UART (a few
 * seconds at 16 MHz) and starts the application, if flash word 0 is not erased.
 */
const SESSION_IDLE_MS = 4000;
/** ATmega2560 datasheet 30.8, tWD_EEPROM: one EEPROM byte written by eeprom_write_byte(). */
const EEPROM_BYTE_MS = 3.3;
/** Fuses and lock bits of an Arduino Mega 2560 (boards.txt: low 0xFF, high 0xD8, ext 0xFD, lock 0x0F → reads 0xCF). */
const FUSES = { low: 0xff, high: 0xd8, ext: 0xfd, lock: 0xcf } as const;

class Reset extends Error {}
class Leave extends Error {}

/**
 * An ATmega2560 (or 1280) running the Arduino Mega's STK500 v2 bootloader (stk500boot.c, the build
 * with the fixes for issues 505 and 181), at byte level:
 * - reset, start-up delay, 1 s for the first byte, a few seconds of idle later on, then the application;
 * - frames with a bad checksum or token are dropped without an answer; any sequence number is accepted
 *   and echoed;
 * - the erase-pointer quirk: each PROGRAM_FLASH_ISP erases the page at an internal pointer that starts
 *   at 0 and advances one page per write, not the page it writes; CHIP_ERASE_ISP only resets that
 *   pointer and answers CMD_FAILED (issue 543). A page written without being erased takes the AND of
 *   old and new bits, as flash does;
 * - READ_EEPROM_ISP reads at twice the loaded address (it uses the flash byte address), writes do not;
 * - the boot section (top 8 KiB) is protected by the lock bits: SPM writes there do nothing.
 */
export class Stk500v2Simulator implements Simulator {
  readonly baudRate = 115200;
  readonly flash: Uint8Array;
  readonly eeprom: Uint8Array;
  state: 'app' | 'bootloader' = 'app';
  /** Resets that entered the bootloader, for tests. */
  bootCount = 0;

  private port: DevicePort | null = null;
  private resetTrigger = new Trigger();
  private lines = { dtr: false, rts: false };
  private address = 0;
  private eraseAddress = 0;
  /** Time the current command keeps the CPU busy, and when that ends. */
  private busyMs = 0;
  private busyUntil = 0;
  private readonly appEnd: number;

  constructor(
    private readonly clock: Clock,
    readonly part: AvrPart,
    /** What SIGN_ON answers; another name models a different STK500 v2 device. */
    private readonly signOn = MEGA_BOOTLOADER_SIGN_ON,
  ) {
    this.flash = new Uint8Array(part.flashSize).fill(0xff);
    this.eeprom = new Uint8Array(part.eepromSize).fill(0xff);
    this.appEnd = part.flashSize - MEGA_BOOT_SIZE;
    // The bootloader's own code, so reads of the boot section do not look erased.
    for (let i = this.appEnd; i < part.flashSize; i++) this.flash[i] = (i * 13 + 0x5a) & 0xff;
  }

  memory(name: string): Uint8Array {
    if (name === 'flash') return this.flash;
    if (name === 'eeprom') return this.eeprom;
    throw new FlashError('unsupported', `No memory called ${name}.`);
  }

  attach(port: DevicePort): void {
    this.port = port;
    port.onSignals((s) => {
      // The auto-reset capacitor passes only the falling edge of DTR# (or RTS#).
      const edge = (s.dtr && !this.lines.dtr) || (s.rts && !this.lines.rts);
      this.lines = { dtr: s.dtr, rts: s.rts };
      if (edge) this.reset();
    });
    void this.run(port);
  }

  reset(): void {
    this.resetTrigger.fire(new Reset());
  }

  private get appPresent(): boolean {
    return this.flash[0] !== 0xff || this.flash[1] !== 0xff;
  }

  private async run(port: DevicePort): Promise<void> {
    let entered = false;
    for (;;) {
      const trigger = (this.resetTrigger = new Trigger());
      try {
        if (entered) await this.bootloader(trigger);
        else await this.idle(trigger);
        this.state = 'app';
        await this.idle(trigger); // the application runs until the next reset
      } catch (err) {
        if (isFlashError(err, 'device-lost')) return;
        if (!(err instanceof Reset)) throw err;
      }
      entered = true;
      if (this.port !== port) return;
    }
  }

  /** The application (or a powered board before its first reset): quiet, deaf to the bootloader. */
  private async idle(trigger: Trigger): Promise<never> {
    for (;;) {
      try {
        await this.port!.read(4096, { timeoutMs: 3_600_000, signal: trigger });
      } catch (err) {
        if (!isFlashError(err, 'timeout')) throw err;
      }
    }
  }

  private async bootloader(trigger: Trigger): Promise<void> {
    this.state = 'bootloader';
    await this.clock.sleep(STARTUP_MS, trigger);
    await this.discardInput(trigger); // bytes sent while the MCU was held in reset are lost
    this.bootCount++;
    this.eraseAddress = 0;
    this.address = 0;
    const parser = new FrameParser();
    let window = FIRST_BYTE_WINDOW_MS;
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = await this.port!.read(4096, { timeoutMs: window, signal: trigger });
      } catch (err) {
        if (!isFlashError(err, 'timeout')) throw err;
        // No word at 0: jumping there runs through erased flash back into the bootloader.
        if (this.appPresent) return;
        continue;
      }
      window = SESSION_IDLE_MS;
      for (const frame of parser.push(chunk).frames) {
        try {
          await this.answer(frame, trigger);
        } catch (err) {
          if (err instanceof Leave) return;
          throw err;
        }
      }
    }
  }

  /**
   * Processes one frame and queues its answer for when the CPU is done (after a page erase and write):
   * the answer leaves at the modelled time, with no timer slack of the host's added to it.
   */
  private async answer(frame: Frame, trigger: Trigger): Promise<void> {
    const wait = this.busyUntil - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait, trigger);
    this.busyMs = 0;
    const reply = this.process(frame.body);
    this.busyUntil = this.clock.now() + this.busyMs;
    this.port!.sendAt(encodeFrame(frame.seq, reply), this.busyUntil);
    if (frame.body[0] === CMD.LEAVE_PROGMODE_ISP) throw new Leave();
  }

  private process(m: Uint8Array): Uint8Array {
    const cmd = m[0]!;
    const ok = (...rest: number[]) => Uint8Array.of(cmd, STATUS.CMD_OK, ...rest);
    switch (cmd) {
      case CMD.SIGN_ON:
        return ok(this.signOn.length, ...[...this.signOn].map((c) => c.charCodeAt(0)));
      case CMD.GET_PARAMETER:
        return ok(m[1] === PARAM.HW_VER ? 0x0f : m[1] === PARAM.SW_MAJOR ? 2 : m[1] === PARAM.SW_MINOR ? 0x0a : 0);
      case CMD.SET_PARAMETER:
      case CMD.ENTER_PROGMODE_ISP:
      case CMD.LEAVE_PROGMODE_ISP:
        return ok();
      case CMD.READ_SIGNATURE_ISP:
        return ok(this.part.signature[Math.min(m[4] ?? 0, 2)]!, STATUS.CMD_OK);
      case CMD.READ_LOCK_ISP:
        return ok(FUSES.lock, STATUS.CMD_OK);
      case CMD.READ_FUSE_ISP:
        return ok(m[2] === 0x50 ? (m[3] === 0x08 ? FUSES.ext : FUSES.low) : FUSES.high, STATUS.CMD_OK);
      case CMD.SPI_MULTI: {
        // Only signature and low/high fuse reads are emulated; the answer is always 7 bytes.
        const answer = m[4] === 0x30 ? this.part.signature[Math.min(m[6] ?? 0, 2)]! : m[4] === 0x50 ? FUSES.low : m[4] === 0x58 ? FUSES.high : 0;
        return ok(0, m[4] ?? 0, 0, answer, STATUS.CMD_OK);
      }
      case CMD.CHIP_ERASE_ISP:
        this.eraseAddress = 0;
        return Uint8Array.of(cmd, STATUS.CMD_FAILED);
      case CMD.LOAD_ADDRESS:
        // 32-bit word address shifted into a byte address: bit 31 (extended addressing) falls off.
        this.address = (((m[1]! << 24) | (m[2]! << 16) | (m[3]! << 8) | m[4]!) << 1) >>> 0;
        return ok();
      case CMD.PROGRAM_FLASH_ISP:
        this.programFlash(m);
        return ok();
      case CMD.PROGRAM_EEPROM_ISP:
        this.programEeprom(m);
        return ok();
      case CMD.READ_FLASH_ISP:
      case CMD.READ_EEPROM_ISP:
        return ok(...this.read(cmd, (m[1]! << 8) | m[2]!), STATUS.CMD_OK);
      default:
        return Uint8Array.of(cmd, STATUS.CMD_FAILED);
    }
  }

  private programFlash(m: Uint8Array): void {
    const size = (m[1]! << 8) | m[2]!;
    const pageSize = this.part.flashPageSize;
    if (this.eraseAddress < this.appEnd) {
      this.flash.fill(0xff, this.eraseAddress, this.eraseAddress + pageSize);
      this.eraseAddress += pageSize;
      this.busyMs += this.part.flashPageWriteMs;
    }
    // boot_page_fill() takes the word address within the page; the temporary buffer starts erased.
    const buffer = new Uint8Array(pageSize).fill(0xff);
    const page = (this.address % this.part.flashSize) & ~(pageSize - 1);
    for (let i = 0; i < Math.max(size, 2); i += 2) {
      buffer[(this.address + i) % pageSize] = m[10 + i] ?? 0xff;
      buffer[(this.address + i + 1) % pageSize] = m[11 + i] ?? 0xff;
    }
    this.address += Math.max(size, 2);
    if (page < this.appEnd) for (let i = 0; i < pageSize; i++) this.flash[page + i]! &= buffer[i]!;
    this.busyMs += this.part.flashPageWriteMs;
  }

  private programEeprom(m: Uint8Array): void {
    const size = (m[1]! << 8) | m[2]!;
    let at = this.address >>> 1; // the loaded address itself: the source undoes its own shift here
    for (let i = 0; i < size; i++) this.eeprom[at++ % this.eeprom.length] = m[10 + i]!;
    this.address += 2 * size;
    this.busyMs += EEPROM_BYTE_MS * size;
  }

  private read(cmd: number, size: number): number[] {
    const out: number[] = [];
    if (cmd === CMD.READ_FLASH_ISP) {
      // do { … size -= 2 } while (size): words, at least one.
      for (let i = 0; i < Math.max(size, 2); i++) out.push(this.flash[(this.address + i) % this.flash.length]!);
      this.address += out.length;
    } else {
      // EEAR is loaded from the flash byte address (twice the loaded one); the EEPROM wraps at its size.
      for (let i = 0; i < Math.max(size, 1); i++) out.push(this.eeprom[(this.address + i) % this.eeprom.length]!);
      this.address += out.length;
    }
    return out;
  }

  private async discardInput(trigger: Trigger): Promise<void> {
    try {
      for (;;) await this.port!.read(4096, { timeoutMs: 0, signal: trigger });
    } catch (err) {
      if (!isFlashError(err, 'timeout')) throw err;
    }
  }
}

export function createSimulator(opts: SimulatorOptions): Stk500v2Simulator {
  const part = findAvrPart(opts.targetId ?? 'm2560');
  if (!part || part.flashSize < 0x10000 || part.flashPageSize !== 256) {
    throw new FlashError('unsupported', `The Mega STK500 v2 bootloader is simulated on the ATmega2560 and 1280, not "${opts.targetId}".`, {
      hint: 'Use --part m2560 or --part m1280.',
    });
  }
  return new Stk500v2Simulator(opts.clock, part, opts.variant);
}
