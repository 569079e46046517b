import { findAvrPart, type AvrPart } from '../../chips/avr';
import type { Clock } from '../../core/io/clock';
import { Trigger } from '../../core/io/signal';
import type { DevicePort } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';
import { CATERINA_ID, Cmd, CR, MemType, TOUCH_BAUD, UNKNOWN, YES } from './protocol';
import { CATERINA_BOOT_SIZE } from './meta';

/** Caterina.c TIMEOUT_PERIOD: 8000 ticks of 1 ms without a 'B' or 'g' (other commands do not count). */
const TIMEOUT_MS = 8000;
/** 'E' sets the timeout 500 ticks short of expiry: the sketch starts about 500 ms later. */
const EXIT_MS = 500;
/** The sketch's touch handler arms the watchdog at 120 ms (Arduino core CDC.cpp); then USB enumerates again. */
const TOUCH_MS = 120;
/** ATmega32U4 datasheet 28.7: tWD_EEPROM 3.4 ms per byte (eeprom_write_byte waits each out). */
const EEPROM_BYTE_MS = 3.4;
/** Leonardo fuses (boards.txt low 0xFF, high 0xD8, extended 0xCB) and lock 0x2F (reads with bits 7:6 set). */
const FUSES = { low: 0xff, high: 0xd8, ext: 0xcb, lock: 0xef } as const;

class Reset extends Error {}
class Timeout extends Error {}

/**
 * An ATmega32U4 board (Arduino Leonardo, Micro) at byte level: a sketch that enters Caterina on the
 * 1200-baud touch, and Caterina itself: its 8-second timeout restarted only by 'B'/'g', the block
 * commands (flash blocks erase their page first; the boot section is locked), EEPROM, signature
 * reversed, '?' for anything unknown (ESC included), 'E' leaving ~500 ms later. It talks USB CDC, so
 * it follows whatever rate the host sets.
 */
export class Avr109Simulator implements Simulator {
  readonly anyBaud = true;
  readonly flash: Uint8Array;
  readonly eeprom: Uint8Array;
  state: 'app' | 'bootloader' = 'bootloader';
  bootCount = 0;

  private port: DevicePort | null = null;
  private resetTrigger = new Trigger();
  private rx: Uint8Array = new Uint8Array(0);
  private rxPos = 0;
  private tx: number[] = [];
  private address = 0;
  private deadline = 0;
  private readonly bootStart: number;

  constructor(
    private readonly clock: Clock,
    readonly part: AvrPart,
  ) {
    this.flash = new Uint8Array(part.flashSize).fill(0xff);
    this.eeprom = new Uint8Array(part.eepromSize).fill(0xff);
    this.bootStart = part.flashSize - CATERINA_BOOT_SIZE;
    for (let i = this.bootStart; i < part.flashSize; i++) this.flash[i] = (i * 11 + 0x3c) & 0xff;
  }

  get baudRate(): number {
    return this.port?.hostBaud() ?? 57600;
  }

  memory(name: string): Uint8Array {
    if (name === 'flash') return this.flash;
    if (name === 'eeprom') return this.eeprom;
    throw new FlashError('unsupported', `No memory called ${name}.`);
  }

  attach(port: DevicePort): void {
    this.port = port;
    // The sketch's CDC handler: line at 1200 baud and DTR dropped = "reset into the bootloader".
    port.onSignals((s) => {
      if (this.state === 'app' && !s.dtr && port.hostBaud() === TOUCH_BAUD) this.touch();
    });
    void this.run(port);
  }

  /** An external reset (the reset button, or a PTY being opened): Caterina runs and stays. */
  reset(): void {
    this.resetTrigger.fire(new Reset());
  }

  private touch(): void {
    void this.clock.sleep(TOUCH_MS).then(() => this.reset());
  }

  private get appPresent(): boolean {
    return this.flash[0] !== 0xff || this.flash[1] !== 0xff;
  }

  private async run(port: DevicePort): Promise<void> {
    for (;;) {
      const trigger = (this.resetTrigger = new Trigger());
      try {
        if (this.state === 'bootloader') await this.bootloader(trigger);
        this.state = 'app';
        for (;;) await this.port!.read(4096, { timeoutMs: 3_600_000, signal: trigger }).catch((e: unknown) => { if (!isFlashError(e, 'timeout')) throw e; });
      } catch (err) {
        if (isFlashError(err, 'device-lost')) return;
        if (!(err instanceof Reset)) throw err;
        this.state = 'bootloader';
      }
      if (this.port !== port) return;
    }
  }

  private async bootloader(trigger: Trigger): Promise<void> {
    this.bootCount++;
    this.rx = new Uint8Array(0);
    this.rxPos = 0;
    this.deadline = this.clock.now() + TIMEOUT_MS;
    for (;;) {
      try {
        if (await this.command(trigger)) return;
      } catch (err) {
        if (!(err instanceof Timeout)) throw err;
        // No sketch: StartSketch() runs through erased flash back into the bootloader.
        if (this.appPresent) return;
        this.deadline = this.clock.now() + TIMEOUT_MS;
      }
    }
  }

  /** One command; true when the bootloader leaves for the sketch. */
  private async command(trigger: Trigger): Promise<boolean> {
    const c = await this.getch(trigger);
    switch (c) {
      case Cmd.EXIT:
        this.tx.push(CR);
        await this.flush();
        await this.clock.sleep(EXIT_MS, trigger);
        return true;
      case Cmd.SELECT_DEVICE:
        await this.getch(trigger);
        this.tx.push(CR);
        break;
      case Cmd.ENTER_PROGMODE:
      case Cmd.LEAVE_PROGMODE:
        this.tx.push(CR);
        break;
      case Cmd.DEVICE_CODES:
        this.tx.push(0x44, 0x00);
        break;
      case Cmd.AUTO_INCREMENT:
        this.tx.push(YES);
        break;
      case Cmd.SET_ADDRESS:
        this.address = ((await this.getch(trigger)) << 9) | ((await this.getch(trigger)) << 1);
        this.tx.push(CR);
        break;
      case Cmd.PROGRAMMER_TYPE:
        this.tx.push(0x53);
        break;
      case Cmd.SOFTWARE_ID:
        this.tx.push(...[...CATERINA_ID].map((ch) => ch.charCodeAt(0)));
        break;
      case Cmd.SOFTWARE_VERSION:
        this.tx.push(0x31, 0x30);
        break;
      case Cmd.READ_SIGNATURE:
        this.tx.push(this.part.signature[2], this.part.signature[1], this.part.signature[0]);
        break;
      case Cmd.CHIP_ERASE:
        this.flash.fill(0xff, 0, this.bootStart);
        await this.busy((this.bootStart / this.part.flashPageSize) * 2 * this.part.flashPageWriteMs, trigger);
        this.tx.push(CR);
        break;
      case Cmd.WRITE_LOCK:
        await this.getch(trigger);
        this.tx.push(CR);
        break;
      case Cmd.READ_LOCK:
        this.tx.push(FUSES.lock);
        break;
      case Cmd.READ_LOW_FUSE:
        this.tx.push(FUSES.low);
        break;
      case Cmd.READ_HIGH_FUSE:
        this.tx.push(FUSES.high);
        break;
      case Cmd.READ_EXT_FUSE:
        this.tx.push(FUSES.ext);
        break;
      case Cmd.BLOCK_SUPPORT:
        this.tx.push(YES, this.part.flashPageSize >> 8, this.part.flashPageSize & 0xff);
        break;
      case Cmd.BLOCK_WRITE:
      case Cmd.BLOCK_READ:
        this.deadline = this.clock.now() + TIMEOUT_MS;
        await this.block(c, trigger);
        break;
      default:
        this.tx.push(UNKNOWN);
    }
    return false;
  }

  private async block(c: number, trigger: Trigger): Promise<void> {
    let size = ((await this.getch(trigger)) << 8) | (await this.getch(trigger));
    const memType = await this.getch(trigger);
    if (memType !== MemType.flash && memType !== MemType.eeprom) {
      this.tx.push(UNKNOWN);
      return;
    }
    const flash = memType === MemType.flash;
    if (c === Cmd.BLOCK_READ) {
      // Flash: low byte then high byte of each word; EEPROM: CurrAddress >> 1, 2 per byte.
      for (let high = 0; size-- > 0; high ^= 1) {
        if (flash) {
          this.tx.push(this.flash[(this.address | high) % this.flash.length]!);
          if (high) this.address += 2;
        } else {
          this.tx.push(this.eeprom[(this.address >> 1) % this.eeprom.length]!);
          this.address += 2;
        }
      }
      return;
    }
    const pageSize = this.part.flashPageSize;
    const page = this.address & ~(pageSize - 1) & (this.flash.length - 1);
    const buffer = new Uint8Array(pageSize).fill(0xff);
    let busy = 0;
    for (let high = 0; size-- > 0; high ^= 1) {
      const b = await this.getch(trigger);
      if (flash) {
        buffer[(this.address | high) % pageSize] = b;
        if (high) this.address += 2;
      } else {
        this.eeprom[(this.address >> 1) % this.eeprom.length] = b;
        this.address += 2;
        busy += EEPROM_BYTE_MS;
      }
    }
    if (flash) {
      // Page erase, then write; SPM cannot touch the locked boot section.
      if (page < this.bootStart) this.flash.set(buffer, page);
      busy = 2 * this.part.flashPageWriteMs;
    }
    await this.busy(busy, trigger);
    this.tx.push(CR);
  }

  private async busy(ms: number, trigger: Trigger): Promise<void> {
    await this.flush();
    if (ms > 0) await this.clock.sleep(ms, trigger);
  }

  private async getch(trigger: Trigger): Promise<number> {
    if (this.rxPos >= this.rx.length) {
      await this.flush();
      const left = this.deadline - this.clock.now();
      if (left <= 0) throw new Timeout();
      await this.port!.setBaud(this.port!.hostBaud());
      try {
        this.rx = await this.port!.read(4096, { timeoutMs: left, signal: trigger });
      } catch (err) {
        if (isFlashError(err, 'timeout')) throw new Timeout();
        throw err;
      }
      this.rxPos = 0;
    }
    return this.rx[this.rxPos++]!;
  }

  /** USB CDC has no line rate: answer at whatever rate the host set. */
  private async flush(): Promise<void> {
    if (this.tx.length === 0) return;
    const out = Uint8Array.from(this.tx);
    this.tx = [];
    await this.port!.setBaud(this.port!.hostBaud());
    await this.port!.write(out);
  }
}

export function createSimulator(opts: SimulatorOptions): Avr109Simulator {
  const part = findAvrPart(opts.targetId ?? 'm32u4');
  if (!part || part.id !== 'm32u4') {
    throw new FlashError('not-found', `Caterina is simulated on the ATmega32U4, not "${opts.targetId}".`, { hint: 'Use --part m32u4.' });
  }
  const sim = new Avr109Simulator(opts.clock, part);
  // variant 'sketch': a board as shipped, running its sketch (the bootloader only after a touch or reset).
  if (opts.variant === 'sketch') {
    sim.flash.set([0x0c, 0x94, 0x5c, 0x00], 0); // jmp 0xb8, as a compiled sketch's reset vector
    sim.state = 'app';
  } else if (opts.variant) {
    throw new FlashError('not-found', `Unknown Caterina variant "${opts.variant}".`, { hint: 'Use --variant sketch, or none.' });
  }
  return sim;
}
