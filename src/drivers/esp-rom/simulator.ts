import { concatBytes } from '../../core/bytes/concat';
import { Unzlib } from 'fflate';
import { createMd5, md5, type Md5 } from '../../core/bytes/md5';
import { asciiBytes as ascii } from '../../core/bytes/ascii';
import { toHex } from '../../core/bytes/hex';
import type { Clock } from '../../core/io/clock';
import { Trigger } from '../../core/io/signal';
import { createUartPair, FORMAT_8N1, frameMs, type DevicePort } from '../../core/io/uart-link';
import { FlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';
import { chipById, type EspChip } from './chips/index';
import {
  CHIP_DETECT_MAGIC_REG_ADDR,
  Command,
  decodeRequest,
  encodeResponse,
  ESP_ROM_BAUD,
  FLASH_BLOCK_SIZE,
  readWord,
  RomError,
  SECTOR_SIZE,
  SpiUser,
  SPIFLASH_RDID,
  STUB_HELLO,
  StubError,
  checksum as dataChecksum,
  type Request,
} from './protocol';
import { SlipDecoder, slipEncode } from './slip';

/**
 * SPI NOR timings, typical values of the Winbond W25Q32JV datasheet (rev. I, 9.6 "AC Electrical
 * Characteristics": tPP 0.4 ms, tSE 45 ms, tBE2 150 ms, tCE 10 s for 4 MiB), and the read rate of a
 * 40 MHz DIO bus. CPU costs are estimates for a 160 MHz Xtensa/RISC-V core running the stub.
 */
export const FlashTiming = {
  PAGE_SIZE: 256,
  PAGE_PROGRAM_MS: 0.4,
  SECTOR_ERASE_MS: 45,
  BLOCK_ERASE_64K_MS: 150,
  CHIP_ERASE_MS_PER_MIB: 2500,
  READ_MS_PER_KIB: 0.1,
  MD5_MS_PER_KIB: 0.05,
  INFLATE_MS_PER_KIB: 0.03,
  COMMAND_MS: 0.02,
  /** From reset release to the ROM listening (it prints its boot banner first). */
  ROM_BOOT_MS: 30,
  /** From MEM_END to the stub's "OHAI". */
  STUB_START_MS: 2,
} as const;

/** Buffers the stub receives frames into (esp-flasher-stub slip.c SLIP_NUM_BUFFERS). */
const SLIP_BUFFERS = 2;
/** The stub keeps at most this many READ_FLASH packets unacknowledged, whatever the host asks. */
const READ_MAX_UNACKED = 2;
/** First byte of an Espressif image (esp_image_header_t.magic): where one starts, something boots. */
const ESP_IMAGE_MAGIC = 0xe9;
/** Where ESP-IDF's default partition table puts the application (the factory partition). */
const APP_OFFSET = 0x10000;
/** How often the modelled "hello" application prints its line. */
const HELLO_PERIOD_MS = 1000;
/** The ROM's SYNC reply value (ESP32 family; esptool docs "SYNC"). */
const ROM_SYNC_VALUE = 0x20120707;

/** What `variant` can say, as comma-separated tokens: "4MB,usb-jtag-serial,stuck=0x20000". */
export interface EspSimVariant {
  flashSize: number;
  /** The board's auto-reset circuit: 'classic' (DTR→IO0, RTS→EN), 'none' (no transistors), 'no-io0' (only EN). */
  wiring: 'classic' | 'none' | 'no-io0';
  /** Native USB-Serial/JTAG: the peripheral decodes the DTR/RTS pattern itself. */
  usbJtagSerial: boolean;
  /** The ROM's USB-OTG CDC port (ESP32-S2/S3): the ROM reports it in UARTDEV_BUF_NO. */
  usbOtg: boolean;
  /** Starts in download mode (the default) or running its application. */
  startInDownload: boolean;
  /** A sector whose cell at offset 5 is stuck at 1 (worn flash): every write there reads back wrong. */
  stuckSector?: number;
  /** A sector whose first program after power-up flips a bit, and later programs work. */
  flakySector?: number;
  /** Hosted on a PTY: the host's rate is invisible, so the simulator's own line follows CHANGE_BAUDRATE. */
  pty: boolean;
}

export function parseVariant(variant: string | undefined): EspSimVariant {
  const out: EspSimVariant = { flashSize: 4 << 20, wiring: 'classic', usbJtagSerial: false, usbOtg: false, startInDownload: true, pty: false };
  for (const raw of (variant ?? '').split(',')) {
    const token = raw.trim().toLowerCase();
    if (!token) continue;
    const size = /^(\d+)\s*(kb|mb)$/.exec(token);
    const [key, value] = token.split('=');
    if (size) out.flashSize = Number(size[1]) * (size[2] === 'kb' ? 1024 : 1 << 20);
    else if (token === 'usb-jtag-serial') out.usbJtagSerial = true;
    else if (token === 'usb-otg') out.usbOtg = true;
    else if (token === 'no-auto-reset') out.wiring = 'none';
    else if (token === 'no-io0') out.wiring = 'no-io0';
    else if (token === 'app') out.startInDownload = false;
    else if (token === 'pty') out.pty = true;
    else if (key === 'stuck' && value) out.stuckSector = Number(value);
    else if (key === 'flaky' && value) out.flakySector = Number(value);
    else throw new FlashError('unsupported', `Unknown ESP simulator option "${raw}".`, {
      hint: 'Use a flash size (4MB), usb-jtag-serial, usb-otg, no-auto-reset, no-io0, app, pty, stuck=ADDR or flaky=ADDR.',
    });
  }
  if (out.flashSize < 256 * 1024 || (out.flashSize & (out.flashSize - 1)) !== 0) {
    throw new FlashError('unsupported', `Flash size ${out.flashSize} is not a power of two from 256KB.`);
  }
  return out;
}

interface DeflateState {
  offset: number;
  /** Bytes the host said it will write (stub: exact; ROM: rounded to blocks). */
  size: number;
  written: number;
  blockSize: number;
  numBlocks: number;
  nextSeq: number;
  inflater: Unzlib | null;
  /** Inflated bytes not yet programmed. */
  pending: Uint8Array[];
  failed: number;
}

interface ReadState {
  next: number;
  end: number;
  packetSize: number;
  sent: number;
  acked: number;
  length: number;
  md5: Md5;
  /** When the stub may send its next packet. */
  at: number;
}

type Mode = 'off' | 'app' | 'rom' | 'stub';

/**
 * An Espressif chip at its serial bootloader, at byte level:
 * - reset and strapping from DTR/RTS through a dev board's two-transistor circuit (or the USB-Serial/JTAG
 *   peripheral's own decoding), boot banner at 115200 (74880 on the ESP8266);
 * - the ROM loader (8 SYNC replies, 4 status bytes, ASCII MD5, erase at FLASH_BEGIN) and, once a stub was
 *   loaded into RAM and started, the flasher stub (2 status bytes, raw MD5, READ_FLASH streaming);
 * - the stub's two receive buffers: a frame that arrives while both hold unfinished work is lost;
 * - flash with erase-before-write semantics (programming only clears bits) and datasheet timings,
 *   charged by answering at the time the work would finish (`sendAt`), never by sleeping;
 * - CHANGE_BAUDRATE: the answer leaves at the old rate, then the UART switches.
 */
export class EspRomSimulator implements Simulator {
  readonly chip: EspChip;
  readonly flash: Uint8Array;
  readonly variant: EspSimVariant;
  mode: Mode = 'off';
  /** Counters for tests and the bench. */
  /** What the last reset booted, so a board opened again carries on as it was. */
  private lastBoot: 'download' | 'app' | null = null;
  readonly stats = { resets: 0, stubStarts: 0, overruns: 0, frames: 0, sectorErases: 0, blockErases: 0, pagePrograms: 0 };

  private port: DevicePort | null = null;
  private decoder = new SlipDecoder();
  private deviceBaud = ESP_ROM_BAUD;
  /** When the CPU finishes the work already accepted. */
  private busyUntil = 0;
  /** Finish times of accepted frames: a frame holds its buffer until its work is done. */
  private holding: number[] = [];
  private regs = new Map<number, number>();
  private ram = { expected: 0, received: 0, blockSize: 0, nextSeq: 0, active: false };
  private defl: DeflateState | null = null;
  private plain: DeflateState | null = null;
  private read: ReadState | null = null;
  private lines = { dtr: false, rts: false };
  private enLow = false;
  private downloadLatch = false;
  private flakyUsed = false;
  private bootTimer: Trigger | null = null;

  constructor(
    private readonly clock: Clock,
    chip: EspChip,
    variant: EspSimVariant,
  ) {
    this.chip = chip;
    this.variant = variant;
    this.flash = new Uint8Array(variant.flashSize).fill(0xff);
    if (variant.stuckSector !== undefined) this.flash[variant.stuckSector + 5] = 0xff;
  }

  /**
   * The line rate the device starts at. On a PTY the host end of the link cannot follow a baud change,
   * so the simulator runs its own timed link behind a fast pass-through (see `attach`).
   */
  get baudRate(): number {
    return this.variant.pty ? 12_000_000 : ESP_ROM_BAUD;
  }

  /** On a PTY it times its own line (and the ROM autobauds on SYNC): the host's rate is not held against it. */
  get anyBaud(): boolean {
    return this.variant.pty;
  }

  /** JEDEC ID as RDID returns it: Winbond (0xEF), W25Q type 0x40, capacity code log2(size). */
  get jedecId(): number {
    return 0xef | (0x40 << 8) | (Math.log2(this.variant.flashSize) << 16);
  }

  memory(name: string): Uint8Array {
    if (name === 'flash') return this.flash;
    throw new FlashError('unsupported', `No memory called ${name}.`);
  }

  attach(outer: DevicePort): void {
    let port = outer;
    if (this.variant.pty) port = this.behindFollowingLink(outer);
    this.port = port;
    port.onSignals((s) => this.onSignals(s));
    // Plugged in, the chip boots as its straps say; opened again later (a named virtual board, for the
    // serial monitor), a chip that was running its application starts it again, with its banner.
    this.powerOn(this.lastBoot === 'app' ? false : this.variant.startInDownload);
    void this.serve(port);
  }

  /**
   * A host opening the PTY. A real ESP board resets on open only through DTR/RTS, which a PTY lacks,
   * and esptool-js closes and reopens the port to change its rate: the chip must keep its state.
   */
  reset(): void {}

  /** Power-on or EN pulse: the ROM samples IO0 and boots the loader or the application. */
  powerOn(download: boolean): void {
    this.stats.resets++;
    this.lastBoot = download ? 'download' : 'app';
    this.mode = 'off';
    this.defl = this.plain = this.read = null;
    this.ram.active = false;
    this.holding = [];
    this.decoder.reset();
    this.bootTimer?.fire();
    const timer = (this.bootTimer = new Trigger());
    void this.boot(download, timer);
  }

  private async boot(download: boolean, timer: Trigger): Promise<void> {
    const port = this.port;
    if (!port) return;
    try {
      await this.clock.sleep(FlashTiming.ROM_BOOT_MS, timer);
    } catch {
      return; // another reset came first
    }
    // The ESP8266 ROM prints at 74880 baud (26 MHz crystal); the others at 115200.
    const bannerBaud = this.chip.id === 'esp8266' ? 74880 : ESP_ROM_BAUD;
    await this.setLineBaud(bannerBaud);
    const bootMode = download ? '0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))' : '0x13 (SPI_FAST_FLASH_BOOT)';
    const banner = `ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:${bootMode}\r\n${download ? 'waiting for download\r\n' : ''}`;
    await port.write(ascii(banner)).catch(() => {});
    const bannerEnd = this.clock.now() + banner.length * frameMs({ ...FORMAT_8N1, baudRate: bannerBaud });
    this.busyUntil = bannerEnd;
    await this.setLineBaud(ESP_ROM_BAUD);
    this.mode = download ? 'rom' : 'app';
    if (!download && this.flash[0x1000] !== 0xff) {
      await port.write(ascii('I (31) boot: ESP-IDF 2nd stage bootloader\r\nI (120) app: running\r\n')).catch(() => {});
    }
    if (!download) await this.runHello(port, timer);
  }

  /**
   * A flashed chip's application, modelled as a small "hello" program printing a line a second until
   * the next reset, so the serial monitor has something to show. Erased flash boots nothing.
   */
  private async runHello(port: DevicePort, timer: Trigger): Promise<void> {
    const programmed = [0, this.chip.bootloaderOffset, APP_OFFSET].some((at) => this.flash[at] === ESP_IMAGE_MAGIC);
    if (!programmed) return;
    for (let line = 1; this.mode === 'app' && this.port === port; line++) {
      await port.write(ascii(`hello from the virtual ${this.chip.name}, line ${line}\r\n`)).catch(() => {});
      try {
        await this.clock.sleep(HELLO_PERIOD_MS, timer);
      } catch {
        return; // reset
      }
    }
  }

  /** Dev-board auto-reset: EN = low while RTS is asserted and DTR is not; IO0 = low in the opposite case. */
  private onSignals(s: { dtr: boolean; rts: boolean }): void {
    this.lines = { dtr: s.dtr, rts: s.rts };
    if (this.variant.wiring === 'none') return;
    const io0Low = this.variant.wiring === 'classic' && s.dtr && !s.rts;
    const enLow = s.rts && !s.dtr;
    // USB-Serial/JTAG remembers "download requested" until the reset it triggers; a UART board samples
    // IO0 when EN rises.
    // (The peripheral takes the request only while the chip runs, so the classic sequence, which releases
    // EN and pulls IO0 in one step, restarts a native-USB chip into its application.)
    if (this.variant.usbJtagSerial && io0Low && !this.enLow) this.downloadLatch = true;
    if (enLow && !this.enLow) {
      this.mode = 'off';
      this.bootTimer?.fire();
    }
    if (!enLow && this.enLow) {
      const download = this.variant.usbJtagSerial ? this.downloadLatch : io0Low;
      this.downloadLatch = false;
      this.powerOn(download);
    }
    this.enLow = enLow;
  }

  private async serve(port: DevicePort): Promise<void> {
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = await port.read(4096, { timeoutMs: 3_600_000 });
      } catch (err) {
        if (err instanceof FlashError && err.code === 'timeout') continue;
        return; // closed
      }
      if (this.mode !== 'rom' && this.mode !== 'stub') continue; // in reset, or the application ignores it
      const now = this.clock.now();
      const byteMs = frameMs({ ...FORMAT_8N1, baudRate: this.deviceBaud });
      for (const ev of this.decoder.push(chunk)) {
        if (ev.kind !== 'packet') continue;
        const arrivedEnd = now - (chunk.length - 1 - ev.end) * byteMs;
        const arrivedStart = arrivedEnd - (ev.wireLength - 1) * byteMs;
        this.frame(ev.data, arrivedStart, arrivedEnd);
      }
    }
  }

  /** One complete SLIP frame from the host. */
  private frame(packet: Uint8Array, arrivedStart: number, arrivedEnd: number): void {
    this.holding = this.holding.filter((t) => t > arrivedStart);
    if (this.holding.length >= SLIP_BUFFERS) {
      // Both buffers hold work the CPU has not finished: the UART has nowhere to put this frame.
      this.stats.overruns++;
      return;
    }
    this.stats.frames++;
    if (this.read) {
      this.readAck(packet, arrivedEnd);
      return;
    }
    const req = decodeRequest(packet);
    if (!req) return; // not a request: the loaders ignore it
    const start = Math.max(arrivedEnd, this.busyUntil);
    const result = this.mode === 'stub' ? this.stubCommand(req, start) : this.romCommand(req, start);
    const finish = start + result.ms;
    this.busyUntil = finish;
    this.holding.push(finish);
    for (const reply of result.replies) this.send(reply, finish);
    result.after?.(finish);
  }

  private send(payload: Uint8Array, at: number): void {
    this.port?.sendAt(slipEncode(payload), at);
  }

  // ---- ROM loader -------------------------------------------------------------------------------------

  private romCommand(req: Request, start: number): CommandResult {
    const chip = this.chip;
    const ok = (value = 0, data: Uint8Array = new Uint8Array(0), ms: number = FlashTiming.COMMAND_MS): CommandResult => ({
      replies: [encodeResponse(req.command, value, concatBytes(data, this.romStatus(0, 0)))],
      ms,
    });
    const fail = (error: number, ms: number = FlashTiming.COMMAND_MS): CommandResult => ({
      replies: [encodeResponse(req.command, 0, this.romStatus(1, error))],
      ms,
    });
    const ext = chip.romHasFlashExtensions;
    switch (req.command) {
      case Command.SYNC: {
        if (!isSync(req.data)) return fail(RomError.INVALID_MESSAGE);
        const reply = encodeResponse(Command.SYNC, ROM_SYNC_VALUE, this.romStatus(0, 0));
        return { replies: new Array<Uint8Array>(8).fill(reply), ms: FlashTiming.COMMAND_MS };
      }
      case Command.READ_REG:
        return req.data.length === 4 ? ok(this.readReg(readWord(req.data, 0))) : fail(RomError.INVALID_MESSAGE);
      case Command.WRITE_REG:
        return this.writeRegs(req.data) ? ok() : fail(RomError.INVALID_MESSAGE);
      case Command.GET_SECURITY_INFO:
        if (chip.securityInfo === 'none') return this.unsupported(req.command);
        return ok(0, this.securityInfo());
      case Command.SPI_ATTACH:
      case Command.SPI_SET_PARAMS:
        return ext ? ok() : this.unsupported(req.command);
      case Command.CHANGE_BAUDRATE:
        if (!ext) return this.unsupported(req.command);
        return this.changeBaud(req, ok());
      case Command.MEM_BEGIN:
        return this.memBegin(req) ? ok() : fail(RomError.INVALID_MESSAGE);
      case Command.MEM_DATA:
        return this.memData(req, ok(), fail);
      case Command.MEM_END:
        return this.memEnd(req, ok());
      case Command.FLASH_BEGIN:
      case Command.FLASH_DEFL_BEGIN: {
        const deflated = req.command === Command.FLASH_DEFL_BEGIN;
        if (deflated && !ext) return this.unsupported(req.command);
        if (req.data.length < 16) return fail(RomError.INVALID_MESSAGE);
        const [size, numBlocks, blockSize, offset] = [0, 1, 2, 3].map((i) => readWord(req.data, i)) as [number, number, number, number];
        // The ROM erases the whole area before it answers (FLASH_BEGIN's erase size, DEFL's rounded size).
        const ms = this.eraseArea(offset, size, false);
        const state = newWrite(offset, size, blockSize, numBlocks, deflated);
        if (deflated) this.defl = state;
        else this.plain = state;
        return ok(0, undefined, ms);
      }
      case Command.FLASH_DATA:
      case Command.FLASH_DEFL_DATA: {
        const deflated = req.command === Command.FLASH_DEFL_DATA;
        const state = deflated ? this.defl : this.plain;
        const r = this.flashData(req, state, deflated);
        return r.error ? fail(r.error, r.ms) : ok(0, undefined, r.ms);
      }
      case Command.FLASH_END:
      case Command.FLASH_DEFL_END: {
        if (req.command === Command.FLASH_DEFL_END && !ext) return this.unsupported(req.command);
        const stay = req.data.length >= 4 && readWord(req.data, 0) === 1;
        // Leaving the loader: flag 0 reboots, 1 jumps to the application.
        return { ...ok(), after: (t) => (stay ? this.runAppAt(t) : this.rebootAt(t)) };
      }
      case Command.SPI_FLASH_MD5: {
        if (!ext) return this.unsupported(req.command);
        const r = this.md5Of(req);
        if (!r) return fail(RomError.INVALID_MESSAGE);
        return ok(0, ascii(toHex(r.digest)), r.ms);
      }
      case Command.READ_FLASH_SLOW: {
        if (!ext || req.data.length < 8) return this.unsupported(req.command);
        const [offset, length] = [readWord(req.data, 0), readWord(req.data, 1)];
        if (length > 64 || offset + length > this.flash.length) return fail(RomError.FLASH_READ_LENGTH_ERROR);
        const buf = new Uint8Array(64);
        buf.set(this.flash.subarray(offset, offset + length));
        return ok(0, buf, FlashTiming.COMMAND_MS + FlashTiming.READ_MS_PER_KIB / 16);
      }
      default:
        return this.unsupported(req.command);
    }
  }

  /** ROM status: 2 bytes on the ESP8266, 4 on later chips (status, error, 0, 0). */
  private romStatus(status: number, error: number): Uint8Array {
    return this.chip.romStatusBytes === 4 ? Uint8Array.of(status, error, 0, 0) : Uint8Array.of(status, error);
  }

  /**
   * The ROM's answer to a command it does not know: status 1, "invalid message", under a command byte
   * that is not the request's (esptool's check_command tells it apart that way).
   */
  private unsupported(command: number): CommandResult {
    return { replies: [encodeResponse(command === 0 ? 0xff : 0x00, 0, this.romStatus(1, RomError.INVALID_MESSAGE))], ms: FlashTiming.COMMAND_MS };
  }

  // ---- flasher stub (esp-flasher-stub semantics) -----------------------------------------------------------

  private stubCommand(req: Request, start: number): CommandResult {
    const ok = (value = 0, data: Uint8Array = new Uint8Array(0), ms: number = FlashTiming.COMMAND_MS): CommandResult => ({
      replies: [encodeResponse(req.command, value, concatBytes(data, Uint8Array.of(0, 0)))],
      ms,
    });
    const fail = (error: number, ms: number = FlashTiming.COMMAND_MS): CommandResult => ({
      replies: [encodeResponse(req.command, 0, Uint8Array.of(1, error))],
      ms,
    });
    switch (req.command) {
      case Command.SYNC:
        return isSync(req.data) ? ok() : fail(StubError.BAD_DATA_LEN);
      case Command.READ_REG:
        return req.data.length === 4 ? ok(this.readReg(readWord(req.data, 0))) : fail(StubError.BAD_DATA_LEN);
      case Command.WRITE_REG:
        return this.writeRegs(req.data) ? ok() : fail(StubError.NOT_ENOUGH_DATA);
      case Command.GET_SECURITY_INFO:
        return this.chip.securityInfo === 'none' ? fail(StubError.CMD_NOT_IMPLEMENTED) : ok(0, this.securityInfo());
      case Command.SPI_ATTACH:
        return req.data.length === 4 || req.data.length === 8 ? ok() : fail(StubError.BAD_DATA_LEN);
      case Command.SPI_SET_PARAMS:
        return req.data.length === 24 ? ok() : fail(StubError.BAD_DATA_LEN);
      case Command.CHANGE_BAUDRATE:
        return req.data.length === 8 ? this.changeBaud(req, ok()) : fail(StubError.BAD_DATA_LEN);
      case Command.MEM_BEGIN:
        return this.memBegin(req) ? ok() : fail(StubError.BAD_DATA_LEN);
      case Command.MEM_DATA:
        return this.memData(req, ok(), fail);
      case Command.MEM_END:
        return this.memEnd(req, ok());
      case Command.FLASH_BEGIN:
      case Command.FLASH_DEFL_BEGIN: {
        if (req.data.length !== 16 && req.data.length !== 20) return fail(StubError.BAD_DATA_LEN);
        const deflated = req.command === Command.FLASH_DEFL_BEGIN;
        const [size, numBlocks, blockSize, offset] = [0, 1, 2, 3].map((i) => readWord(req.data, i)) as [number, number, number, number];
        if (offset % SECTOR_SIZE !== 0 || offset + size > this.flash.length) return fail(StubError.FAILED_SPI_OP);
        // esp-flasher-stub erases the whole area (64 KiB blocks where aligned) before it answers.
        const ms = this.eraseArea(offset, size, true);
        const state = newWrite(offset, size, blockSize, numBlocks, deflated);
        if (deflated) this.defl = state;
        else this.plain = state;
        return ok(0, undefined, ms);
      }
      case Command.FLASH_DATA:
      case Command.FLASH_DEFL_DATA: {
        const deflated = req.command === Command.FLASH_DEFL_DATA;
        const r = this.flashData(req, deflated ? this.defl : this.plain, deflated);
        return r.error ? fail(r.error, r.ms) : ok(0, undefined, r.ms);
      }
      case Command.FLASH_END:
      case Command.FLASH_DEFL_END: {
        const deflated = req.command === Command.FLASH_DEFL_END;
        const state = deflated ? this.defl : this.plain;
        if (!state) return fail(StubError.NOT_IN_FLASH_MODE);
        if (deflated) this.defl = null;
        else this.plain = null;
        if (state.written !== state.size) return fail(StubError.BAD_DATA_LEN);
        return ok();
      }
      case Command.SPI_FLASH_MD5: {
        const r = this.md5Of(req);
        return r ? ok(0, r.digest, r.ms) : fail(StubError.BAD_DATA_LEN);
      }
      case Command.ERASE_FLASH: {
        this.flash.fill(0xff);
        return ok(0, undefined, (FlashTiming.CHIP_ERASE_MS_PER_MIB * this.flash.length) / (1 << 20));
      }
      case Command.ERASE_REGION: {
        if (req.data.length !== 8) return fail(StubError.BAD_DATA_LEN);
        const [offset, size] = [readWord(req.data, 0), readWord(req.data, 1)];
        if (offset % SECTOR_SIZE || size % SECTOR_SIZE || offset + size > this.flash.length) return fail(StubError.BAD_DATA_LEN);
        return ok(0, undefined, this.eraseArea(offset, size, true));
      }
      case Command.READ_FLASH: {
        if (req.data.length !== 16) return fail(StubError.BAD_DATA_LEN);
        const [offset, length, packetSize] = [0, 1, 2].map((i) => readWord(req.data, i)) as [number, number, number];
        if (packetSize === 0 || packetSize > 4096 || offset + length > this.flash.length) return fail(StubError.BAD_DATA_LEN);
        return {
          ...ok(),
          after: (t) => {
            this.read = { next: offset, end: offset + length, packetSize, sent: 0, acked: 0, length, md5: createMd5(), at: t };
            this.pumpRead();
          },
        };
      }
      case Command.RUN_USER_CODE:
        return { replies: [], ms: FlashTiming.COMMAND_MS, after: (t) => this.runAppAt(t) };
      default:
        return fail(StubError.INVALID_COMMAND);
    }
  }

  /** READ_FLASH: data packets go out while fewer than two are unacknowledged; then the MD5 of it all. */
  private pumpRead(): void {
    const r = this.read;
    if (!r) return;
    while (r.next < r.end && r.sent - r.acked < READ_MAX_UNACKED) {
      const n = Math.min(r.packetSize, r.end - r.next);
      const chunk = this.flash.slice(r.next, r.next + n);
      r.md5.update(chunk);
      r.at = Math.max(r.at, this.clock.now()) + (FlashTiming.READ_MS_PER_KIB + FlashTiming.MD5_MS_PER_KIB) * (n / 1024);
      this.port?.sendAt(slipEncode(chunk), r.at);
      r.next += n;
      r.sent++;
    }
  }

  private readAck(packet: Uint8Array, at: number): void {
    const r = this.read!;
    if (packet.length !== 4) {
      this.read = null; // anything else ends the transfer, as in the stub
      return;
    }
    r.acked++;
    const total = readWord(packet, 0);
    if (total >= r.length) {
      this.port?.sendAt(slipEncode(r.md5.digest()), Math.max(at, r.at));
      this.busyUntil = Math.max(this.busyUntil, at, r.at);
      this.read = null;
      return;
    }
    this.pumpRead();
  }

  // ---- shared pieces ----------------------------------------------------------------------------------------

  private changeBaud(req: Request, reply: CommandResult): CommandResult {
    const baud = readWord(req.data, 0);
    return {
      ...reply,
      after: () => {
        // The reply was queued at the old rate; everything after it uses the new one.
        if (baud >= 9600 && baud <= 5_000_000) void this.setLineBaud(baud);
      },
    };
  }

  private async setLineBaud(baud: number): Promise<void> {
    this.deviceBaud = baud;
    await this.port?.setBaud(baud);
  }

  private memBegin(req: Request): boolean {
    if (req.data.length !== 16) return false;
    this.ram = { expected: readWord(req.data, 0), received: 0, blockSize: readWord(req.data, 2), nextSeq: 0, active: true };
    return true;
  }

  private memData(req: Request, ok: CommandResult, fail: (e: number) => CommandResult): CommandResult {
    const data = req.data.subarray(16);
    if (!this.ram.active || req.data.length < 16) return fail(this.mode === 'stub' ? StubError.NOT_IN_FLASH_MODE : RomError.FAILED_TO_ACT);
    if (readWord(req.data, 0) !== data.length || data.length > this.ram.blockSize) return fail(this.mode === 'stub' ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
    if (dataChecksum(data) !== (req.checksum & 0xff)) return fail(this.mode === 'stub' ? StubError.BAD_DATA_CHECKSUM : RomError.INVALID_CRC);
    if (readWord(req.data, 1) !== this.ram.nextSeq) return fail(this.mode === 'stub' ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
    this.ram.nextSeq++;
    this.ram.received += data.length;
    return ok;
  }

  /** MEM_END with an entry point: the loaded code runs. Here that is always the flasher stub. */
  private memEnd(req: Request, ok: CommandResult): CommandResult {
    const noRun = req.data.length >= 4 && readWord(req.data, 0) === 1;
    const entry = req.data.length >= 8 ? readWord(req.data, 1) : 0;
    if (noRun || entry === 0) return ok;
    return {
      ...ok,
      after: (t) => {
        const ready = t + FlashTiming.STUB_START_MS;
        this.mode = 'stub';
        this.stats.stubStarts++;
        this.defl = this.plain = null;
        this.busyUntil = ready;
        this.send(STUB_HELLO, ready);
      },
    };
  }

  private flashData(req: Request, state: DeflateState | null, deflated: boolean): { error?: number; ms: number } {
    const stub = this.mode === 'stub';
    const E = stub
      ? { len: StubError.BAD_DATA_LEN, sum: StubError.BAD_DATA_CHECKSUM, mode: StubError.NOT_IN_FLASH_MODE, inflate: StubError.INFLATE_ERROR, much: StubError.TOO_MUCH_DATA }
      : { len: RomError.INVALID_MESSAGE, sum: RomError.INVALID_CRC, mode: RomError.FAILED_TO_ACT, inflate: RomError.DEFLATE_ERROR, much: RomError.INVALID_MESSAGE };
    const ms = FlashTiming.COMMAND_MS;
    if (!state) return { error: E.mode, ms };
    if (req.data.length < 16) return { error: E.len, ms };
    const data = req.data.subarray(16);
    const len = readWord(req.data, 0);
    const seq = readWord(req.data, 1);
    if (len !== data.length || len > state.blockSize) return { error: E.len, ms };
    if (dataChecksum(data) !== (req.checksum & 0xff)) return { error: E.sum, ms };
    if (seq !== state.nextSeq) return { error: E.len, ms };
    state.nextSeq++;
    let out: Uint8Array[] = [];
    if (deflated) {
      try {
        state.inflater!.push(data, state.nextSeq >= state.numBlocks);
      } catch {
        state.failed++;
        return { error: E.inflate, ms };
      }
      out = takeInflated(state);
    } else {
      // Uncompressed blocks are padded to the block size; only `size` bytes are real.
      out = [data.subarray(0, Math.max(0, Math.min(data.length, state.size - state.written)))];
    }
    let programMs = 0;
    let produced = 0;
    for (const chunk of out) {
      if (state.written + chunk.length > state.size && stub) return { error: E.much, ms };
      programMs += this.program(state.offset + state.written, chunk);
      state.written += chunk.length;
      produced += chunk.length;
    }
    const cpu = deflated ? (FlashTiming.INFLATE_MS_PER_KIB * produced) / 1024 : 0;
    return { ms: ms + cpu + programMs };
  }

  /** Programs bytes: NOR flash can only clear bits, so unerased cells keep their zeros. */
  private program(address: number, data: Uint8Array): number {
    const end = Math.min(address + data.length, this.flash.length);
    for (let a = address; a < end; a++) this.flash[a]! &= data[a - address]!;
    const stuck = this.variant.stuckSector;
    if (stuck !== undefined && address <= stuck + 5 && end > stuck + 5) this.flash[stuck + 5] = 0xff;
    const flaky = this.variant.flakySector;
    if (flaky !== undefined && !this.flakyUsed && address <= flaky + 5 && end > flaky + 5) {
      this.flakyUsed = true;
      this.flash[flaky + 5]! ^= 0x10;
    }
    const pages = Math.ceil((end - address) / FlashTiming.PAGE_SIZE) + (address % FlashTiming.PAGE_SIZE ? 1 : 0);
    this.stats.pagePrograms += pages;
    return pages * FlashTiming.PAGE_PROGRAM_MS;
  }

  /** Erases whole sectors covering [offset, offset+size): 64 KiB block erases where aligned (stub). */
  private eraseArea(offset: number, size: number, useBlocks: boolean): number {
    let at = Math.floor(offset / SECTOR_SIZE) * SECTOR_SIZE;
    const end = Math.min(this.flash.length, Math.ceil((offset + size) / SECTOR_SIZE) * SECTOR_SIZE);
    let ms = 0;
    while (at < end) {
      const block = useBlocks && at % FLASH_BLOCK_SIZE === 0 && end - at >= FLASH_BLOCK_SIZE;
      const n = block ? FLASH_BLOCK_SIZE : SECTOR_SIZE;
      this.flash.fill(0xff, at, at + n);
      if (block) this.stats.blockErases++;
      else this.stats.sectorErases++;
      ms += block ? FlashTiming.BLOCK_ERASE_64K_MS : FlashTiming.SECTOR_ERASE_MS;
      at += n;
    }
    if (this.variant.stuckSector !== undefined) this.flash[this.variant.stuckSector + 5] = 0xff;
    return ms;
  }

  private md5Of(req: Request): { digest: Uint8Array; ms: number } | null {
    if (req.data.length < 8) return null;
    const [offset, size] = [readWord(req.data, 0), readWord(req.data, 1)];
    if (offset + size > this.flash.length) return null;
    const kib = size / 1024;
    return { digest: md5(this.flash.subarray(offset, offset + size)), ms: FlashTiming.COMMAND_MS + kib * (FlashTiming.READ_MS_PER_KIB + FlashTiming.MD5_MS_PER_KIB) };
  }

  /** GET_SECURITY_INFO: flags, flash_crypt_cnt, key purposes, chip_id, api_version (S2: first 12 bytes). */
  private securityInfo(): Uint8Array {
    const out = new Uint8Array(20);
    const view = new DataView(out.buffer);
    view.setUint32(12, this.chip.imageChipId ?? 0, true);
    view.setUint32(16, 3, true);
    return this.chip.securityInfo === 'short' ? out.subarray(0, 12) : out;
  }

  private readReg(address: number): number {
    if (address === CHIP_DETECT_MAGIC_REG_ADDR) return this.chip.magicValues[this.chip.magicValues.length - 1]!;
    // A factory MAC in Espressif's OUI 24:0a:c4, the rest from the chip, as esptool read_mac decodes it.
    const mac = this.chip.macEfuse;
    if (mac !== undefined && address === mac) return (0xc4000000 | ((this.chip.imageChipId ?? 0) << 16) | 0x1234) >>> 0;
    if (mac !== undefined && address === mac + 4) return 0x240a;
    const probe = this.chip.portProbe;
    if (probe && address === probe.address) {
      if (this.variant.usbOtg && probe.usbOtg !== undefined) return probe.usbOtg;
      if (this.variant.usbJtagSerial && probe.usbSerialJtag !== undefined) return probe.usbSerialJtag;
      return 0;
    }
    return this.regs.get(address >>> 0) ?? 0;
  }

  /** WRITE_REG (address, value, mask, delay) records; a write of CMD_USR runs the SPI user command. */
  private writeRegs(data: Uint8Array): boolean {
    if (data.length === 0 || data.length % 16 !== 0) return false;
    for (let i = 0; i < data.length / 16; i++) {
      const [address, value, mask] = [readWord(data, i * 4), readWord(data, i * 4 + 1), readWord(data, i * 4 + 2)];
      const old = this.regs.get(address) ?? 0;
      this.regs.set(address, ((old & ~mask) | (value & mask)) >>> 0);
      if (address === this.chip.spi.base && value & SpiUser.CMD_USR) this.spiUserCommand();
    }
    return true;
  }

  /** The SPI controller's user command: only RDID is modelled, as esptool uses it for detection. */
  private spiUserCommand(): void {
    const spi = this.chip.spi;
    const command = (this.regs.get(spi.base + spi.usr2) ?? 0) & 0xff;
    if (command === SPIFLASH_RDID) this.regs.set(spi.base + spi.w0, this.jedecId >>> 0);
    this.regs.set(spi.base, 0); // done
  }

  private runAppAt(time: number): void {
    this.mode = 'off';
    void this.clock.sleep(Math.max(0, time - this.clock.now())).then(() => this.powerOn(false));
  }

  private rebootAt(time: number): void {
    this.runAppAt(time);
  }

  /**
   * On a PTY nobody sets the host end's rate, so a baud change would garble the line. Instead the PTY
   * side runs a fast pass-through and the simulator talks over its own timed link, whose host end
   * follows every rate change the device makes.
   */
  private behindFollowingLink(outer: DevicePort): DevicePort {
    const format = { ...FORMAT_8N1, baudRate: ESP_ROM_BAUD };
    const { host, device } = createUartPair(this.clock, format);
    const following: DevicePort = {
      ...device,
      setBaud: async (baud: number) => {
        await device.setBaud(baud);
        await host.setBaud(baud);
      },
    };
    outer.onSignals((s) => void host.setSignals(s));
    void (async () => {
      for (;;) {
        try {
          await outer.write(await host.read(4096, { timeoutMs: 3_600_000 }));
        } catch (err) {
          if (err instanceof FlashError && err.code === 'timeout') continue;
          return;
        }
      }
    })();
    void (async () => {
      for (;;) {
        try {
          await host.write(await outer.read(4096, { timeoutMs: 3_600_000 }));
        } catch (err) {
          if (err instanceof FlashError && err.code === 'timeout') continue;
          await host.close();
          return;
        }
      }
    })();
    return following;
  }
}

interface CommandResult {
  replies: Uint8Array[];
  /** CPU + flash time from the start of the command to its answer. */
  ms: number;
  /** State changes that take effect when the answer leaves (baud change, stub start, reboot). */
  after?: (finish: number) => void;
}

function newWrite(offset: number, size: number, blockSize: number, numBlocks: number, deflated: boolean): DeflateState {
  const state: DeflateState = { offset, size, written: 0, blockSize, numBlocks, nextSeq: 0, inflater: null, pending: [], failed: 0 };
  if (deflated) state.inflater = new Unzlib((chunk) => state.pending.push(chunk));
  return state;
}

function takeInflated(state: DeflateState): Uint8Array[] {
  return state.pending.splice(0, state.pending.length);
}

function isSync(data: Uint8Array): boolean {
  if (data.length !== 36) return false;
  if (data[0] !== 0x07 || data[1] !== 0x07 || data[2] !== 0x12 || data[3] !== 0x20) return false;
  for (let i = 4; i < 36; i++) if (data[i] !== 0x55) return false;
  return true;
}

/**
 * `opts.pty` (set by `webprog simulate`; not yet a SimulatorOptions field) or the variant token "pty":
 * the simulator is served on a PTY and times its own line.
 */
export function createSimulator(opts: SimulatorOptions & { pty?: boolean }): EspRomSimulator {
  const chip = chipById(opts.targetId ?? 'esp32');
  if (!chip) throw new FlashError('not-found', `Unknown Espressif chip "${opts.targetId}".`);
  const variant = parseVariant(opts.variant);
  if (opts.pty) variant.pty = true;
  return new EspRomSimulator(opts.clock, chip, variant);
}

