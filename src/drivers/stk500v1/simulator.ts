import { findAvrPart, type AvrPart } from '../../chips/avr';
import { asciiBytes } from '../../core/bytes/ascii';
import type { Clock } from '../../core/io/clock';
import { Trigger } from '../../core/io/signal';
import type { DevicePort } from '../../core/io/uart-link';
import { FlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';
import { Cmnd_STK, MemType, Parm_STK, Resp_STK, Sync_CRC_EOP } from './protocol';
import { VARIANTS, type BootloaderVariant } from './variants';

/** Idle time after which the bootloader's watchdog starts the application (optiboot WDTPERIOD). */
const WATCHDOG_MS = 1000;
/** Uno fuses (CKSEL=1111, SUT=11): 16K CK + 65 ms from reset until the first instruction. */
const STARTUP_MS = 65;
/** ATmega328P datasheet, tWD_EEPROM: one EEPROM byte by self-programming. */
const EEPROM_BYTE_MS = 3.3;

/** How often the modelled "hello" sketch prints its line. */
const HELLO_PERIOD_MS = 1000;

class Reset extends Error {}

/** Bytes up to the last programmed (non-erased) one below the boot section: 0 on an erased chip. */
function programLength(flash: Uint8Array, bootStart: number): number {
  for (let i = bootStart - 1; i >= 0; i--) if (flash[i] !== 0xff) return i + 1;
  return 0;
}

/**
 * An ATmega running an Arduino STK500 v1 bootloader, at byte level: reset and start-up delay,
 * the 1 s watchdog, optiboot's silence on malformed frames, page erase overlapped with reception,
 * page write time, boot-section write protection, and each variant's EEPROM behaviour.
 */
export class Stk500v1Simulator implements Simulator {
  readonly part: AvrPart;
  readonly variant: BootloaderVariant;
  readonly flash: Uint8Array;
  readonly eeprom: Uint8Array;
  /** Number of resets that entered the bootloader, for tests. */
  bootCount = 0;
  state: 'starting' | 'bootloader' | 'app' = 'app';

  private port: DevicePort | null = null;
  private rx: Uint8Array = new Uint8Array(0);
  private rxPos = 0;
  /** When the last byte of `rx` arrived; the bytes before it came back to back. */
  private rxEnd = 0;
  private tx: number[] = [];
  private resetTrigger = new Trigger();
  private watchdogAt = 0;
  /** End of the current self-programming operation. */
  private busyUntil = 0;
  private address = 0; // byte address
  /** optiboot's RAM page buffer: bytes past a short PROG_PAGE keep the previous page's data. */
  private pageBuffer: Uint8Array;
  private lines = { dtr: false, rts: false };

  constructor(
    private readonly clock: Clock,
    part: AvrPart,
    variant: BootloaderVariant,
  ) {
    this.part = part;
    this.variant = variant;
    this.flash = new Uint8Array(part.flashSize).fill(0xff);
    this.eeprom = new Uint8Array(part.eepromSize).fill(0xff);
    this.pageBuffer = new Uint8Array(part.flashPageSize).fill(0xff);
    // The bootloader's own code, so reads of the boot section do not look erased.
    const bootStart = part.flashSize - variant.bootSize;
    for (let i = bootStart; i < part.flashSize; i++) this.flash[i] = (i * 7 + 0x0c) & 0xff;
  }

  get baudRate(): number {
    return this.variant.baudRate;
  }

  memory(name: string): Uint8Array {
    if (name === 'flash') return this.flash;
    if (name === 'eeprom') return this.eeprom;
    throw new FlashError('unsupported', `No memory called ${name}.`);
  }

  attach(port: DevicePort): void {
    // Plugged in again (a named virtual board opened for the next job or the monitor): the USB-serial
    // chip's DTR resets the MCU as the port opens, and the loop serving the old port stops.
    const again = this.port !== null;
    this.port = port;
    if (again) {
      this.state = 'starting';
      this.reset();
    }
    port.onSignals((s) => {
      // The auto-reset capacitor passes only the falling edge of DTR# (or RTS# on some boards).
      const edge = (s.dtr && !this.lines.dtr) || (s.rts && !this.lines.rts);
      this.lines = { dtr: s.dtr, rts: s.rts };
      if (edge) this.reset();
    });
    void this.run(port);
  }

  reset(): void {
    this.resetTrigger.fire(new Reset());
  }

  private async run(port: DevicePort): Promise<void> {
    for (;;) {
      const trigger = (this.resetTrigger = new Trigger());
      try {
        if (this.state === 'app') await this.runApplication(trigger);
        else await this.runBootloader(trigger);
      } catch (err) {
        if (err instanceof FlashError && err.code === 'device-lost') return;
        if (!(err instanceof Reset)) throw err;
      }
      if (this.port !== port) return;
    }
  }

  /**
   * The application, until a reset takes us back to the bootloader. Erased flash runs nothing and says
   * nothing; a flashed program is modelled as a small "hello" sketch that prints a line a second, so
   * the serial monitor has something to show after flashing.
   */
  private async runApplication(trigger: Trigger): Promise<void> {
    const program = programLength(this.flash, this.part.flashSize - this.variant.bootSize);
    let line = 0;
    for (;;) {
      if (program > 0) {
        const text = `hello from the virtual ${this.part.name}: ${program} bytes of program, line ${++line}\r\n`;
        await this.port!.write(asciiBytes(text));
      }
      try {
        await this.port!.read(4096, { timeoutMs: program > 0 ? HELLO_PERIOD_MS : 3_600_000, signal: trigger });
      } catch (err) {
        if (err instanceof Reset) break;
        if (!(err instanceof FlashError && err.code === 'timeout')) throw err;
      }
    }
    this.state = 'starting';
  }

  private async runBootloader(trigger: Trigger): Promise<void> {
    this.state = 'starting';
    this.tx = [];
    await this.clock.sleep(STARTUP_MS, trigger);
    // Bytes that arrived while the MCU was held in reset or starting up are lost.
    this.rx = new Uint8Array(0);
    this.rxPos = 0;
    try {
      while (true) await this.port!.read(4096, { timeoutMs: 0, signal: trigger });
    } catch (err) {
      if (!(err instanceof FlashError && err.code === 'timeout')) throw err;
    }
    this.state = 'bootloader';
    this.bootCount++;
    this.kickWatchdog();
    let badFrames = 0;
    try {
      for (;;) {
        const ok = await this.command(trigger);
        if (!ok && (this.variant.badFrame === 'reset' || ++badFrames >= 5)) {
          // optiboot verifySpace(): watchdog at 16 ms, then the application runs.
          await this.flushTx();
          await this.clock.sleep(16, trigger);
          break;
        }
      }
    } catch (err) {
      if (!(err instanceof Watchdog)) throw err;
    }
    this.state = 'app';
  }

  /** One command; false when its frame was malformed. */
  private async command(trigger: Trigger): Promise<boolean> {
    const cmd = await this.getch(trigger);
    switch (cmd) {
      case Cmnd_STK.GET_PARAMETER: {
        const which = await this.getch(trigger);
        if (!(await this.verifySpace(trigger))) return false;
        this.tx.push(this.parameter(which));
        break;
      }
      case Cmnd_STK.SET_DEVICE:
        await this.skip(20, trigger);
        if (!(await this.verifySpace(trigger))) return false;
        break;
      case Cmnd_STK.SET_DEVICE_EXT:
        await this.skip(5, trigger);
        if (!(await this.verifySpace(trigger))) return false;
        break;
      case Cmnd_STK.LOAD_ADDRESS: {
        const lo = await this.getch(trigger);
        const hi = await this.getch(trigger);
        this.address = ((hi << 8) | lo) * 2;
        if (!(await this.verifySpace(trigger))) return false;
        break;
      }
      case Cmnd_STK.UNIVERSAL:
        await this.skip(4, trigger);
        if (!(await this.verifySpace(trigger))) return false;
        this.tx.push(0x00);
        break;
      case Cmnd_STK.PROG_PAGE:
        return this.progPage(trigger);
      case Cmnd_STK.READ_PAGE:
        return this.readPage(trigger);
      case Cmnd_STK.READ_SIGN:
        if (!(await this.verifySpace(trigger))) return false;
        this.tx.push(...this.part.signature);
        break;
      case Cmnd_STK.SET_PARAMETER:
        // ATmegaBOOT skips it (with a value byte for ids above 0x85); optiboot has no such case and
        // loses sync, which the default branch models.
        if (this.variant.badFrame !== 'ignore') return this.verifySpace(trigger);
        if ((await this.getch(trigger)) > 0x85) await this.getch(trigger);
        if (!(await this.verifySpace(trigger))) return false;
        break;
      case Cmnd_STK.GET_SIGN_ON:
        if (!(await this.verifySpace(trigger))) return false;
        if (this.variant.badFrame === 'ignore') this.tx.push(...[...'AVR ISP'].map((c) => c.charCodeAt(0)));
        break;
      case Cmnd_STK.LEAVE_PROGMODE:
        if (!(await this.verifySpace(trigger))) return false;
        if (this.variant.fastLeave) this.watchdogAt = this.clock.now() + 16;
        break;
      default:
        // GET_SYNC, GET_SIGN_ON, ENTER_PROGMODE, CHIP_ERASE and anything unknown: just the reply.
        if (!(await this.verifySpace(trigger))) return false;
    }
    this.tx.push(Resp_STK.OK);
    return true;
  }

  private parameter(which: number): number {
    if (which === Parm_STK.SW_MAJOR) return this.variant.swMajor;
    if (which === Parm_STK.SW_MINOR) return this.variant.swMinor;
    if (this.variant.id === 'atmegaboot') return which === Parm_STK.HW_VER ? 2 : which === 0x98 ? 3 : 0;
    return 0x03;
  }

  private async progPage(trigger: Trigger): Promise<boolean> {
    await this.getch(trigger); // length high: ignored, pages are <= 256 bytes
    const length = (await this.getch(trigger)) || 256;
    const memType = await this.getch(trigger);
    const toEeprom = memType === MemType.eeprom && this.variant.eeprom !== 'writes-flash';
    const pageSize = this.part.flashPageSize;
    const pageStart = this.address & ~(pageSize - 1);
    const nrwwStart = this.part.flashSize - Math.max(this.variant.bootSize, 4096);
    // In the RWW section optiboot starts the page erase as soon as it has the header.
    let eraseDoneAt = this.arrivalOfLastByte() + this.part.flashPageWriteMs;
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = await this.getch(trigger);
    if (pageStart >= nrwwStart) eraseDoneAt = this.clock.now() + this.part.flashPageWriteMs;
    if (!(await this.verifySpace(trigger))) return false;
    const reply = this.variant.insyncAfterWrite ? [this.tx.pop()!, Resp_STK.OK] : [Resp_STK.OK];
    await this.flushTx();
    // The CPU waits out the SPM operation, then answers; nothing it receives meanwhile is read.
    const now = this.clock.now();
    if (toEeprom) {
      this.busyUntil = now + EEPROM_BYTE_MS * length;
      this.eeprom.set(data.subarray(0, Math.max(0, Math.min(length, this.eeprom.length - this.address))), this.address);
    } else {
      this.busyUntil = Math.max(eraseDoneAt, now) + this.part.flashPageWriteMs;
      for (let i = 0; i < length; i++) this.pageBuffer[(this.address + i) % pageSize] = data[i]!;
      // SPM cannot write the boot section (lock bits): the write silently does nothing there.
      if (pageStart < this.part.flashSize - this.variant.bootSize) this.flash.set(this.pageBuffer, pageStart);
    }
    this.watchdogAt = this.busyUntil + WATCHDOG_MS;
    this.port!.sendAt(Uint8Array.from(reply), this.busyUntil);
    return true;
  }

  private async readPage(trigger: Trigger): Promise<boolean> {
    await this.getch(trigger);
    const length = (await this.getch(trigger)) || 256;
    const memType = await this.getch(trigger);
    if (!(await this.verifySpace(trigger))) return false;
    const source = memType === MemType.eeprom && this.variant.eeprom === 'supported' ? this.eeprom : this.flash;
    for (let i = 0; i < length; i++) this.tx.push(source[(this.address + i) % source.length]!);
    this.address += length; // optiboot reads with address++: the address is left past the block
    this.tx.push(Resp_STK.OK);
    return true;
  }

  /** optiboot verifySpace(): the frame must end in Sync_CRC_EOP, then INSYNC goes out at once. */
  private async verifySpace(trigger: Trigger): Promise<boolean> {
    if ((await this.getch(trigger)) !== Sync_CRC_EOP) return false;
    this.tx.push(Resp_STK.INSYNC);
    return true;
  }

  private async skip(n: number, trigger: Trigger): Promise<void> {
    for (let i = 0; i < n; i++) await this.getch(trigger);
  }

  private kickWatchdog(): void {
    this.watchdogAt = this.clock.now() + WATCHDOG_MS;
  }

  private async getch(trigger: Trigger): Promise<number> {
    const busy = this.busyUntil - this.clock.now();
    if (busy > 0) await this.clock.sleep(busy, trigger);
    if (this.rxPos >= this.rx.length) {
      await this.flushTx();
      const left = this.watchdogAt - this.clock.now();
      if (left <= 0) throw new Watchdog();
      try {
        this.rx = await this.port!.read(4096, { timeoutMs: left, signal: trigger });
      } catch (err) {
        if (err instanceof FlashError && err.code === 'timeout') throw new Watchdog();
        throw err;
      }
      this.rxPos = 0;
      this.rxEnd = this.clock.now();
    }
    this.kickWatchdog();
    return this.rx[this.rxPos++]!;
  }

  /**
   * When the byte getch() returned last arrived. The simulator reads in chunks, so this is later
   * than `now` only for bytes still in the chunk: they arrived one frame time apart.
   */
  private arrivalOfLastByte(): number {
    const frameMs = 10_000 / this.variant.baudRate;
    return this.rxEnd - (this.rx.length - this.rxPos) * frameMs;
  }

  private async flushTx(): Promise<void> {
    if (this.tx.length === 0) return;
    const out = Uint8Array.from(this.tx);
    this.tx = [];
    await this.port!.write(out);
  }
}

class Watchdog extends Error {}

export function createSimulator(opts: SimulatorOptions): Stk500v1Simulator {
  const part = findAvrPart(opts.targetId ?? 'm328p');
  if (!part) throw new FlashError('not-found', `Unknown AVR part "${opts.targetId}".`);
  const variant = VARIANTS[opts.variant ?? 'optiboot'];
  if (!variant) throw new FlashError('unsupported', `Unknown bootloader "${opts.variant}".`);
  return new Stk500v1Simulator(opts.clock, part, variant);
}

