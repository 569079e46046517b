import { zlibSync } from 'fflate';
import { md5 } from '../../core/bytes/md5';
import { toHex } from '../../core/bytes/hex';
import { FlashError, isFlashError } from '../../shared/errors';
import { CONSENT_OPTION } from '../../shared/options';
import type { BlockConstraints, Driver, DriverContext, Identified } from '../types';
import type { FirmwareImage } from '../../core/image/memory-image';
import { chipById, chipByImageId, chipByMagic, RETIRED_CHIP_IDS, RTC_WDT_WKEY, type EspChip } from './chips/index';
import { applyFlashParams, foreignImage, sizeName, type FlashParams } from './image-header';
import { checkStatus, EspLink, REPLY_MARGIN_MS } from './link';
import {
  BlockSize,
  CHIP_DETECT_MAGIC_REG_ADDR,
  Command,
  dataPacket,
  decodeResponse,
  DETECTED_FLASH_SIZES,
  encodeRequest,
  ESP_ROM_BAUD,
  FLASH_BLOCK_SIZE,
  readWord,
  SECTOR_SIZE,
  SpiUser,
  SPIFLASH_RDID,
  STUB_HELLO,
  SYNC_PAYLOAD,
  words,
} from './protocol';
import { loadStub } from './stub';

/** Rate used after the stub is up when the user forces none (esptool/idf.py write at 460800). */
export const DEFAULT_WORK_BAUD = 460800;
/** Largest block core hands to writeBlock / readBlock; regions inside are cut at 64 KiB boundaries. */
const MAX_BLOCK = 256 * 1024;
/**
 * Frames sent but not answered. esp-flasher-stub receives into two buffers and frees one only after the
 * work in it is done (slip.c SLIP_NUM_BUFFERS), so a third frame could land nowhere.
 */
const WINDOW = 2;
/** Worst-case flash times (W25Q32JV datasheet maxima: tBE2 2 s per 64 KiB, tPP 3 ms per page). */
const MAX_BLOCK_ERASE_MS = 2000;
const MAX_PAGE_PROGRAM_MS = 3;
const MAX_SECTOR_ERASE_MS = 400;
const CHIP_ERASE_TIMEOUT_MS = 120_000;
/** Sync attempts per reset, and how long to wait for the first SYNC answer (esptool: 5 x 100 ms). */
const SYNC_TRIES = 3;
const SYNC_WAIT_MS = 100;
/** Attempts per RAM block and per flash region on a faulty line (esptool WRITE_BLOCK_ATTEMPTS). */
const BLOCK_ATTEMPTS = 3;
/** How many 4 KiB pages ahead a page-by-page comparison fetches device digests. */
const MD5_PREFETCH_PAGES = 32;

type ResetKind = 'classic' | 'classic-slow' | 'usb-jtag-serial';
const RESET_SEQUENCE: readonly ResetKind[] = ['classic', 'usb-jtag-serial', 'classic-slow', 'usb-jtag-serial'];

/** Extra knobs that DriverContext has no room for yet (see the driver README). */
export interface EspRomOptions extends FlashParams {
  /**
   * Reset strategies to try in order; default alternates classic and USB-Serial/JTAG. An empty list
   * means "no reset": the chip is already in download mode (e.g. re-acquired after USB re-enumeration).
   */
  resets?: readonly ResetKind[];
  /** After a successful job: 'hard-reset' (default) starts the application; the others leave the chip in the loader. */
  after?: 'hard-reset' | 'no-reset' | 'stay';
}

interface Region {
  address: number;
  /** Uncompressed bytes, as they must end up in flash. */
  data: Uint8Array;
  frames: Uint8Array[];
  /** Device work per frame, for timeouts. */
  frameDeviceMs: number[];
  next: number;
  acked: number;
  retries: number;
  /** Image bytes done once frame i is acknowledged (a compressed frame counts its share of the region). */
  imageBytesAfter: number[];
  /** Image bytes already reported to `progress`; a resent region reports nothing twice. */
  reported: number;
  progress?: (imageBytes: number) => void;
}

interface InFlight {
  region: Region;
  index: number;
  command: number;
  deadline: number;
}

/**
 * Host side of the Espressif serial loader. connect() resets the chip into download mode and syncs;
 * identify() finds the chip, raises the baud, starts the flasher stub and measures the flash;
 * writeBlock() sends zlib streams per 64 KiB region with two frames in flight, so the UART never waits
 * for the stub while the stub inflates and programs; verifyBlock() compares MD5 digests on the device.
 *
 * Invariants:
 * - nothing is erased before the chip is identified, and no image built for another chip is written;
 * - every region is proven by MD5; a region that fails it is rewritten once, then reported by address;
 * - a lost or damaged frame costs one region retry, never a wrong byte: the stub checks each data
 *   frame's checksum and the final MD5 decides.
 */
export class EspRomDriver implements Driver {
  readonly link: EspLink;
  chip: EspChip | null = null;
  stubRunning = false;
  flashSize = 0;
  flashId = 0;
  /** Which reset sequence brought the chip into download mode, for the app's native-USB guidance. */
  resetUsed: ResetKind | 'none' = 'none';
  /**
   * The port the ROM talks on, as it reports it. On 'usb-otg' and 'usb-serial-jtag' a reset re-enumerates
   * the USB device (the port object goes away): the app re-acquires it (chips/index nativeUsbIds).
   */
  port: 'uart' | 'usb-otg' | 'usb-serial-jtag' = 'uart';
  private readonly workBaud: number;
  private pending: Region[] = [];
  private inflight: InFlight[] = [];
  private written: { start: number; end: number }[] = [];
  private rewritten = new Set<number>();
  private md5Cache = new Map<number, string>();
  private closed = false;
  private bootText = '';
  /** A loader answered in this session: only then is the chip known to be in download mode. */
  private loaderAnswered = false;

  constructor(
    private readonly ctx: DriverContext,
    private readonly options: EspRomOptions = {},
  ) {
    this.link = new EspLink(ctx.stream, ctx.clock, ctx.signal, ESP_ROM_BAUD);
    this.workBaud = ctx.baudRate ?? DEFAULT_WORK_BAUD;
  }

  // ---- session -------------------------------------------------------------------------------------------

  async connect(): Promise<void> {
    await this.link.setBaud(ESP_ROM_BAUD);
    if (this.options.resets?.length === 0 && (await this.sync())) {
      this.ctx.log('info', `ESP loader answered without a reset (${this.stubRunning ? 'flasher stub already running' : 'ROM'}).`);
      this.loaderAnswered = true;
      return;
    }
    for (const kind of this.options.resets ?? RESET_SEQUENCE) {
      this.checkAbort();
      const signals = await this.resetIntoLoader(kind);
      if (await this.sync()) {
        this.resetUsed = signals ? kind : 'none';
        this.ctx.log('info', `ESP loader answered${signals ? ` after a ${kind} reset` : ''} (${this.stubRunning ? 'flasher stub already running' : 'ROM'}).`);
        this.loaderAnswered = true;
      return;
      }
      if (!signals) break; // without DTR/RTS every strategy is the same non-reset
    }
    // A stub left running by an earlier session on a link without DTR/RTS still talks at its last rate.
    if (this.workBaud !== ESP_ROM_BAUD) {
      await this.link.setBaud(this.workBaud);
      if (await this.sync()) {
        this.ctx.log('info', `A flasher stub was still running at ${this.workBaud} baud.`);
        this.loaderAnswered = true;
      return;
      }
      await this.link.setBaud(ESP_ROM_BAUD);
    }
    throw this.noLoaderError();
  }

  async identify(): Promise<Identified> {
    const chip = await this.detectChip();
    this.chip = chip;
    const wanted = this.ctx.targetId ? chipById(this.ctx.targetId) : undefined;
    if (this.ctx.targetId && !wanted) {
      throw new FlashError('not-found', `Unknown Espressif chip "${this.ctx.targetId}".`, {
        hint: 'Use one of esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c5, esp32c6, esp32h2, esp32p4, esp8266.',
      });
    }
    if (wanted && wanted.id !== chip.id) {
      throw new FlashError('wrong-target', `The board has an ${chip.name}, but ${wanted.name} was selected.`, {
        hint: `Select ${chip.name}, or use a firmware built for ${chip.name}; nothing was written.`,
        details: { expected: wanted.name, actual: chip.name },
      });
    }
    if (!this.stubRunning) await this.probePort(chip);
    await this.startStubFast(chip);
    if (chip.watchdog && this.port === 'usb-serial-jtag') await this.disableWatchdogs(chip);
    await this.detectFlash();
    // esptool sends the flash geometry to the stub too (flash_set_parameters).
    await this.link.command(Command.SPI_SET_PARAMS, words(0, this.flashSize, FLASH_BLOCK_SIZE, SECTOR_SIZE, 0x100, 0xffff));
    const jedec = this.flashId.toString(16).padStart(6, '0');
    return {
      device: {
        id: `${chip.id}/${jedec}`,
        name: chip.name,
        bootloader: `ROM loader + flasher stub, ${sizeName(this.flashSize)} flash (JEDEC ${jedec})`,
        baudRate: this.link.baud,
      },
      memories: [{ name: 'flash', base: 0, size: this.flashSize, pageSize: SECTOR_SIZE, reserved: [] }],
    };
  }

  /** The factory MAC address from eFuse (esptool read_mac), where the chip record knows where it is. */
  async unitId(): Promise<{ kind: 'mac'; value: string } | undefined> {
    const at = this.chip?.macEfuse;
    if (at === undefined) return undefined;
    const low = (await this.link.command(Command.READ_REG, words(at))).value >>> 0;
    const high = (await this.link.command(Command.READ_REG, words(at + 4))).value >>> 0;
    const bytes = [(high >>> 8) & 0xff, high & 0xff, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff];
    return { kind: 'mac', value: bytes.map((b) => b.toString(16).padStart(2, '0')).join(':') };
  }

  constraints(_memory: string): BlockConstraints {
    return { pageSize: SECTOR_SIZE, maxBlock: MAX_BLOCK, maxReadBlock: MAX_BLOCK, fill: 0xff };
  }

  /**
   * ESP-IDF headers in the image, segment by segment (a whole bootloader image sits in one segment):
   * an image built for another chip is refused, and the bootloader's flash parameters are set as the
   * options say (esptool's behaviour), before anything is planned or written.
   */
  prepareImage(image: FirmwareImage): FirmwareImage {
    const chip = this.chip;
    if (!chip) return image;
    const segments = image.segments.map((s) => {
      if (s.memory !== 'flash') return s;
      const foreign = foreignImage(s.address, s.data, chip);
      if (foreign) {
        throw new FlashError('wrong-target', `The image at 0x${foreign.address.toString(16)} was built for ${foreign.builtFor}, but the board has an ${chip.name}.`, {
          hint: `Use the firmware build for ${chip.name} (in ESP-IDF: idf.py set-target ${chip.id}); nothing was written.`,
          details: { address: foreign.address, expected: chip.name, actual: foreign.builtFor },
        });
      }
      const r = applyFlashParams(s.address, s.data, chip, this.options, this.flashSize);
      if (r.reason) this.ctx.log('warn', `Flash parameters left as they are at 0x${s.address.toString(16)}: ${r.reason}.`);
      return r.changed ? { ...s, data: r.data } : s;
    });
    return { ...image, segments };
  }

  async writeBlock(memory: string, address: number, bytes: Uint8Array, progress?: (imageBytes: number) => void): Promise<void> {
    this.requireStub(memory);
    this.forgetDigests(address, bytes.length);
    // Regions end on 64 KiB boundaries, so the stub erases them with 64 KiB block erases.
    for (let at = address; at < address + bytes.length; ) {
      const end = Math.min(address + bytes.length, (Math.floor(at / FLASH_BLOCK_SIZE) + 1) * FLASH_BLOCK_SIZE);
      this.pending.push(this.region(at, bytes.subarray(at - address, end - address), progress));
      at = end;
      await this.pump(false);
    }
    this.written.push({ start: address, end: address + bytes.length });
    // The block is done only when the stub has programmed it: its errors belong to this call (and a job
    // without verify must still fail on them). The line idles for one frame's programming time here.
    await this.pump(true);
  }

  async verifyBlock(memory: string, address: number, bytes: Uint8Array): Promise<{ equal: boolean; device: string; expected: string }> {
    this.requireStub(memory);
    await this.pump(true);
    const want = toHex(md5(bytes));
    let device = await this.deviceMd5(address, bytes.length);
    if (device !== want && this.wasWritten(address, bytes.length) && !this.rewritten.has(address)) {
      // One rewrite of the region: a flaky cell or a frame the checksum let through gets a second chance.
      this.rewritten.add(address);
      this.ctx.log('warn', `MD5 mismatch at 0x${address.toString(16)}+${bytes.length}: writing that region again.`);
      for (let at = address; at < address + bytes.length; ) {
        const end = Math.min(address + bytes.length, (Math.floor(at / FLASH_BLOCK_SIZE) + 1) * FLASH_BLOCK_SIZE);
        this.pending.push(this.region(at, bytes.subarray(at - address, end - address)));
        at = end;
      }
      await this.pump(true);
      this.forgetDigests(address, bytes.length);
      device = await this.deviceMd5(address, bytes.length);
    }
    return { equal: device === want, device, expected: want };
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    this.requireStub(memory);
    await this.pump(true);
    try {
      return await this.readFlash(address, length);
    } catch (err) {
      if (!retryable(err)) throw err;
      this.ctx.log('warn', `Reading 0x${address.toString(16)}+${length} failed (${(err as Error).message}); reading it again.`);
      await this.recover();
      return this.readFlash(address, length);
    }
  }

  async erase(): Promise<void> {
    this.requireStub('flash');
    await this.pump(true);
    this.md5Cache.clear();
    await this.link.command(Command.ERASE_FLASH, new Uint8Array(0), { deviceMs: CHIP_ERASE_TIMEOUT_MS });
  }

  /** ERASE_REGION: sector-aligned erase of part of the flash (stub only). */
  async eraseRegion(address: number, size: number): Promise<void> {
    this.requireStub('flash');
    if (address % SECTOR_SIZE || size % SECTOR_SIZE) throw new FlashError('unsupported', 'Erase regions must be whole 4 KiB sectors.');
    await this.pump(true);
    this.forgetDigests(address, size);
    const deviceMs = (size / FLASH_BLOCK_SIZE + 1) * MAX_BLOCK_ERASE_MS;
    await this.link.command(Command.ERASE_REGION, words(address, size), { deviceMs });
  }

  /**
   * Leaves the chip running its application: waits for the last acknowledgements, puts the stub back to
   * 115200 (so a link without DTR/RTS finds it again), then pulses EN through RTS. Never throws.
   */
  async close(outcome?: { ok: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const step = async (what: string, op: () => Promise<unknown>) => {
      try {
        await op();
      } catch (err) {
        this.ctx.log('debug', `${what} failed: ${(err as Error).message}`);
      }
    };
    if (this.stubRunning) {
      await step('Finishing the last writes', () => this.pump(true));
      if (this.link.baud !== ESP_ROM_BAUD && !(outcome?.ok !== false && this.options.after === 'no-reset')) {
        await step('Returning to 115200 baud', async () => {
          await this.link.command(Command.CHANGE_BAUDRATE, words(ESP_ROM_BAUD, this.link.baud));
          await this.link.setBaud(ESP_ROM_BAUD);
        });
      }
    }
    // After a failed job the chip stays in download mode, so "Flash" again needs no BOOT button.
    if (outcome?.ok === false) {
      if (this.loaderAnswered) this.ctx.log('info', 'Left the chip in download mode after the failure: flash again to finish.');
      return;
    }
    if (this.options.after === 'stay' || this.options.after === 'no-reset') {
      this.ctx.log('info', 'Left the chip in download mode, as asked (--after).');
      return;
    }
    await step('Hard reset', () => this.hardReset());
  }

  // ---- connect ----------------------------------------------------------------------------------------

  /**
   * Reset sequences (esp-pylib serial_reset.py). DTR drives IO0 and RTS drives EN through the dev board's
   * transistor pair, so (dtr, rts) = (F, T) holds the chip in reset and (T, F) releases it with IO0 low.
   * Web Serial and our streams set both lines in one call, which is esptool's "unix tight" reset.
   */
  private async resetIntoLoader(kind: ResetKind): Promise<boolean> {
    const { clock, signal } = this.ctx;
    const set = (dtr: boolean, rts: boolean) => this.ctx.stream.setSignals({ dtr, rts });
    try {
      if (kind === 'usb-jtag-serial') {
        await set(false, false);
        await clock.sleep(100, signal);
        await set(true, false);
        await clock.sleep(100, signal);
        await set(false, true);
        await clock.sleep(100, signal);
        await set(false, false);
      } else {
        await set(false, false);
        await set(true, true);
        await set(false, true);
        await clock.sleep(100, signal);
        await set(true, false);
        await clock.sleep(kind === 'classic' ? 50 : 550, signal);
        await set(false, false);
      }
    } catch (err) {
      if (isFlashError(err, 'device-lost') || this.ctx.signal.aborted) throw err;
      this.ctx.log('debug', `This port cannot drive DTR/RTS (${(err as Error).message}); the chip must already be in download mode.`);
      this.link.forgetInput();
      return false;
    }
    this.link.forgetInput();
    return true;
  }

  /**
   * SYNC until the loader answers. The ROM answers 8 times with a non-zero value, a running stub once
   * with 0 (esptool sync()). Boot text that arrives meanwhile is kept for the error message.
   */
  private async sync(): Promise<boolean> {
    const { clock } = this.ctx;
    for (let i = 0; i < SYNC_TRIES; i++) {
      this.checkAbort();
      await this.link.drain(i === 0 ? 5 : 20);
      await this.link.sendFrame(encodeRequest(Command.SYNC, SYNC_PAYLOAD));
      const deadline = clock.now() + this.link.lineMs(60) + SYNC_WAIT_MS;
      try {
        const first = await this.link.response(Command.SYNC, deadline);
        checkStatus(first, 0);
        this.stubRunning = first.value === 0;
        // The ROM's seven further answers: let them arrive and go.
        await this.link.drain(Math.max(5, this.link.lineMs(14)) * 2);
        this.bootText += this.link.takeText();
        return true;
      } catch (err) {
        this.bootText = (this.bootText + this.link.takeText()).slice(-4096);
        if (!retryable(err)) throw err;
      }
    }
    return false;
  }

  private noLoaderError(): FlashError {
    const boot = /boot:(0x[0-9a-f]+)/i.exec(this.bootText);
    const hint =
      'Put the board in download mode: hold BOOT (IO0), press and release RESET (EN), release BOOT, then try again. ' +
      'If it keeps failing, check the port and the USB cable (some are charge-only).';
    if (boot && !/waiting for download/i.test(this.bootText)) {
      return new FlashError('no-sync', `The chip restarted into its application (boot mode ${boot[1]}), not into download mode.`, {
        hint,
        details: { reason: 'not-download-mode', bootMode: boot[1]! },
        action: { kind: 'press-boot', picture: 'esp-boot-reset-buttons' },
      });
    }
    return new FlashError('no-sync', 'No answer from the ESP ROM loader.', {
      hint,
      details: { reason: boot ? 'download-mode-no-sync' : 'no-answer' },
      action: { kind: 'press-boot', picture: 'esp-boot-reset-buttons' },
    });
  }

  // ---- identify ---------------------------------------------------------------------------------------

  /** GET_SECURITY_INFO's chip_id (ESP32-S3 and later), else the magic value at 0x40001000. */
  private async detectChip(): Promise<EspChip> {
    let chipId: number | null = null;
    try {
      const r = await this.link.command(Command.GET_SECURITY_INFO, new Uint8Array(0), { resultLength: 20, retry: false });
      chipId = readWord(r.data, 3);
    } catch (err) {
      if (!(isFlashError(err, 'unsupported') || retryable(err))) throw err;
      // ESP8266/ESP32 lack the command and the ESP32-S2 answers 12 bytes: the magic value decides.
      await this.link.drain(10);
    }
    if (chipId !== null) {
      const retired = RETIRED_CHIP_IDS[chipId];
      if (retired) throw new FlashError('unsupported', `This is a pre-release ${retired}, which Espressif no longer supports.`);
      const chip = chipByImageId(chipId);
      if (chip && chip.securityInfo === 'full') return chip;
    }
    const magic = (await this.link.command(Command.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR))).value >>> 0;
    const chip = chipByMagic(magic);
    if (!chip) {
      throw new FlashError('wrong-target', `The chip answers with magic value 0x${magic.toString(16)}, which webprog does not know.`, {
        hint: 'This may be a newer Espressif chip: check for a webprog update.',
        details: { actual: magic.toString(16) },
      });
    }
    return chip;
  }

  /**
   * Starts the flasher stub as fast as the chip allows: ESP32 and later ROMs change their baud rate
   * first, so the ~7 KiB stub goes up at the working rate (esptool uploads it at 115200, then switches).
   */
  private async startStubFast(chip: EspChip): Promise<void> {
    if (this.stubRunning) {
      await this.setWorkBaud();
      return;
    }
    // The ESP32-C2 ROM assumes a 40 MHz crystal when it computes the divider (esptool ESP32C2ROM.change_baud).
    const romCanSwitch = chip.romHasFlashExtensions && chip.id !== 'esp32c2' && this.workBaud !== ESP_ROM_BAUD;
    if (romCanSwitch) {
      try {
        await this.changeBaud(this.workBaud, 0);
      } catch (err) {
        if (!retryable(err)) throw err;
        this.ctx.log('warn', `The ROM did not take ${this.workBaud} baud; loading the stub at 115200.`);
        await this.reconnect();
      }
    }
    await this.uploadStub(chip);
    await this.setWorkBaud();
  }

  private async setWorkBaud(): Promise<void> {
    if (this.link.baud === this.workBaud) return;
    await this.changeBaud(this.workBaud, this.link.baud);
  }

  /** CHANGE_BAUDRATE: the answer comes at the old rate, then both ends switch; a READ_REG proves it. */
  private async changeBaud(baud: number, oldArg: number): Promise<void> {
    const previous = this.link.baud;
    await this.link.command(Command.CHANGE_BAUDRATE, words(baud, oldArg), { retry: false });
    await this.link.setBaud(baud);
    for (let i = 0; i < 2; i++) {
      try {
        await this.link.command(Command.READ_REG, words(CHIP_DETECT_MAGIC_REG_ADDR));
        this.ctx.log('info', `Now at ${baud} baud.`);
        return;
      } catch (err) {
        if (!retryable(err)) throw err;
      }
    }
    await this.link.setBaud(previous);
    throw new FlashError('no-sync', `The chip stopped answering after switching to ${baud} baud.`, {
      hint: 'Choose a lower baud rate (460800 or 115200); some USB-serial adapters cannot do this one.',
      details: { baudRate: baud },
      action: { kind: 'lower-baud', baudRate: baud > 460800 ? 460800 : 115200 },
    });
  }

  private async reconnect(): Promise<void> {
    await this.link.setBaud(ESP_ROM_BAUD);
    this.stubRunning = false;
    await this.connect();
  }

  /** MEM_BEGIN / MEM_DATA / MEM_END for the stub's text and data, then its "OHAI". */
  private async uploadStub(chip: EspChip): Promise<void> {
    const stub = await loadStub(chip.stub);
    for (let attempt = 0; ; attempt++) {
      try {
        for (const [bytes, start] of [
          [stub.text, stub.textStart],
          [stub.data, stub.dataStart],
        ] as const) {
          if (bytes.length === 0) continue;
          // The ROM's USB-OTG CDC buffers less (esptool USB_RAM_BLOCK).
          const ram = this.port === 'usb-otg' ? BlockSize.RAM_USB_OTG : BlockSize.RAM;
          const blocks = Math.ceil(bytes.length / ram);
          await this.link.command(Command.MEM_BEGIN, words(bytes.length, blocks, ram, start));
          for (let seq = 0; seq < blocks; seq++) {
            const block = bytes.subarray(seq * ram, (seq + 1) * ram);
            await this.memBlock(dataPacket(Command.MEM_DATA, seq, block));
          }
        }
        // The ROM may not answer MEM_END once the stub takes the UART over (esptool ignores it): wait for OHAI.
        await this.link.sendFrame(encodeRequest(Command.MEM_END, words(0, stub.entry)));
        const deadline = this.ctx.clock.now() + 1000;
        for (;;) {
          const p = await this.link.packet(deadline);
          if (p.length === STUB_HELLO.length && p.every((b, i) => b === STUB_HELLO[i])) break;
          const r = decodeResponse(p);
          if (r && r.command === Command.MEM_END) checkStatus(r, 0);
        }
        this.stubRunning = true;
        this.ctx.log('info', `Flasher stub running on the ${chip.name}.`);
        return;
      } catch (err) {
        if (!retryable(err) || attempt >= 2) {
          if (retryable(err)) {
            throw new FlashError('no-sync', `The flasher stub did not start on the ${chip.name}.`, {
              hint: 'Reset the board into download mode and try again; if it persists, try a lower baud rate.',
              cause: err,
            });
          }
          throw err;
        }
        this.ctx.log('warn', `Loading the stub failed (${(err as Error).message}); starting over.`);
        await this.reconnect();
        if (this.stubRunning) return;
        const romCanSwitch = chip.romHasFlashExtensions && chip.id !== 'esp32c2' && this.workBaud !== ESP_ROM_BAUD;
        if (romCanSwitch && attempt === 0) await this.changeBaud(this.workBaud, 0).catch(() => this.reconnect());
      }
    }
  }

  /** Reads the ROM's "port in use" byte: native USB changes block sizes and needs the watchdog off. */
  private async probePort(chip: EspChip): Promise<void> {
    const probe = chip.portProbe;
    if (!probe) return;
    const value = (await this.link.command(Command.READ_REG, words(probe.address))).value & 0xff;
    this.port = value === probe.usbOtg ? 'usb-otg' : value === probe.usbSerialJtag ? 'usb-serial-jtag' : 'uart';
    if (this.port !== 'uart') this.ctx.log('info', `The ${chip.name} talks over its own USB port (${this.port}).`);
  }

  /** One MEM_DATA block; a block refused for its checksum or lost is sent again (esptool: 3 attempts). */
  private async memBlock(packet: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.link.sendFrame(packet);
        const r = await this.link.response(Command.MEM_DATA, this.ctx.clock.now() + this.link.lineMs(packet.length + 20) + REPLY_MARGIN_MS);
        checkStatus(r, 0);
        return;
      } catch (err) {
        if (!retryable(err) || attempt >= BLOCK_ATTEMPTS) throw err;
        await this.link.drain(20);
      }
    }
  }

  /** esptool disable_watchdogs: on USB-Serial/JTAG nothing feeds the RTC watchdog during long writes. */
  private async disableWatchdogs(chip: EspChip): Promise<void> {
    const w = chip.watchdog!;
    const conf = (await this.link.command(Command.READ_REG, words(w.swdConf))).value;
    await this.link.command(
      Command.WRITE_REG,
      concatWords(
        [w.wdtWprotect, RTC_WDT_WKEY],
        [w.wdtConfig0, 0],
        [w.wdtWprotect, 0],
        [w.swdWprotect, w.swdKey],
        [w.swdConf, (conf | w.swdAutoFeed) >>> 0],
        [w.swdWprotect, 0],
      ),
    );
  }

  /** JEDEC RDID through the SPI controller's user-command registers (esptool run_spiflash_command). */
  private async detectFlash(): Promise<void> {
    const spi = this.chip!.spi;
    const reg = (off: number) => spi.base + off;
    const readReg = async (addr: number) => (await this.link.command(Command.READ_REG, words(addr))).value >>> 0;
    const oldUsr = await readReg(reg(spi.usr));
    const oldUsr2 = await readReg(reg(spi.usr2));
    const writes: [number, number][] = [];
    if (spi.misoDlen !== undefined) writes.push([reg(spi.misoDlen), 24 - 1]);
    else writes.push([reg(spi.usr1), (24 - 1) << SpiUser.ESP8266_MISO_BITLEN_SHIFT]);
    writes.push([reg(spi.usr), (SpiUser.USR_COMMAND | SpiUser.USR_MISO) >>> 0]);
    writes.push([reg(spi.usr2), ((7 << SpiUser.USR2_COMMAND_LEN_SHIFT) | SPIFLASH_RDID) >>> 0]);
    writes.push([reg(spi.w0), 0]);
    writes.push([spi.base, SpiUser.CMD_USR]);
    await this.link.command(Command.WRITE_REG, concatWords(...writes));
    let done = false;
    for (let i = 0; i < 10 && !done; i++) done = ((await readReg(spi.base)) & SpiUser.CMD_USR) === 0;
    if (!done) throw new FlashError('protocol', 'The SPI flash did not finish the ID command.');
    const id = (await readReg(reg(spi.w0))) & 0xffffff;
    await this.link.command(Command.WRITE_REG, concatWords([reg(spi.usr), oldUsr], [reg(spi.usr2), oldUsr2]));
    this.flashId = id;
    const mfr = id & 0xff;
    const type = (id >> 8) & 0xff;
    const capacity = (id >> 16) & 0xff;
    if (id === 0 || id === 0xffffff) {
      throw new FlashError('protocol', `The flash chip does not answer (JEDEC ID 0x${id.toString(16).padStart(6, '0')}).`, {
        hint: 'Check the module: the flash pins may be used by other hardware, or the flash is damaged.',
        details: { jedec: id },
      });
    }
    // Adesto/Dialog parts code the size in the low bits of the type byte (esptool detect_flash_size).
    const size = mfr === 0x1f ? (type & 0x1f) >= 4 && (type & 0x1f) <= 9 ? (256 * 1024) << ((type & 0x1f) - 3) : undefined : DETECTED_FLASH_SIZES[capacity];
    if (!size) {
      throw new FlashError('unsupported', `Unknown flash size code 0x${capacity.toString(16)} (JEDEC ID 0x${id.toString(16)}).`, { details: { jedec: id } });
    }
    this.flashSize = size;
    this.ctx.log('info', `Flash: ${sizeName(size)} (JEDEC ${id.toString(16).padStart(6, '0')}).`);
  }

  // ---- writing ----------------------------------------------------------------------------------------

  /** One region as the frames that write it: FLASH_DEFL_BEGIN + DATA blocks, or plain when deflate does not help. */
  private region(address: number, data: Uint8Array, progress?: (imageBytes: number) => void): Region {
    const compressed = zlibSync(data, { level: 9 });
    const deflate = compressed.length < data.length;
    const block = this.port === 'usb-otg' ? BlockSize.FLASH_STUB_USB_OTG : BlockSize.FLASH_STUB;
    const payload = deflate ? compressed : data;
    const count = Math.ceil(payload.length / block);
    const kib = data.length / 1024;
    const programMs = Math.ceil(kib * 4) * MAX_PAGE_PROGRAM_MS;
    const eraseMs = data.length >= FLASH_BLOCK_SIZE ? MAX_BLOCK_ERASE_MS : Math.ceil(data.length / SECTOR_SIZE) * MAX_SECTOR_ERASE_MS;
    const frames: Uint8Array[] = [encodeRequest(deflate ? Command.FLASH_DEFL_BEGIN : Command.FLASH_BEGIN, words(data.length, count, block, address))];
    const frameDeviceMs = [eraseMs];
    for (let seq = 0; seq < count; seq++) {
      let chunk = payload.subarray(seq * block, (seq + 1) * block);
      if (!deflate && chunk.length < block) {
        const padded = new Uint8Array(block).fill(0xff);
        padded.set(chunk);
        chunk = padded;
      }
      frames.push(dataPacket(deflate ? Command.FLASH_DEFL_DATA : Command.FLASH_DATA, seq, chunk));
      frameDeviceMs.push(programMs / count + programMs / 4);
    }
    frames.push(encodeRequest(deflate ? Command.FLASH_DEFL_END : Command.FLASH_END, words(1)));
    frameDeviceMs.push(0);
    // Progress in image bytes: data frame `seq` carries payload up to (seq + 1) * block of `payload.length`.
    const imageBytesAfter = [0, ...Array.from({ length: count }, (_, seq) => Math.round((data.length * Math.min(payload.length, (seq + 1) * block)) / payload.length)), data.length];
    return { address, data, frames, frameDeviceMs, next: 0, acked: 0, retries: 0, imageBytesAfter, reported: 0, ...(progress ? { progress } : {}) };
  }

  /**
   * Sends pending regions' frames, keeping WINDOW frames in flight; with `all`, waits for every answer.
   * Without it, returns once everything is sent, so the next region's frames can follow without a gap.
   * A failed frame resends its region (and those after it), up to BLOCK_ATTEMPTS in all.
   */
  private async pump(all: boolean): Promise<void> {
    for (;;) {
      try {
        const next = this.pending.find((r) => r.next < r.frames.length);
        if (next && this.inflight.length < WINDOW) {
          await this.sendFrame(next);
          continue;
        }
        if (this.inflight.length === 0) return;
        if (!all && !next) return;
        await this.settleOldest();
      } catch (err) {
        if (!retryable(err)) throw err;
        const failed = this.inflight[0]?.region ?? this.pending[0];
        this.inflight = [];
        if (!failed) throw err;
        if (failed.retries >= BLOCK_ATTEMPTS - 1) throw this.regionError(failed, err);
        for (const r of this.pending) {
          if (r.next > 0) r.retries++;
          r.next = 0;
          r.acked = 0;
        }
        this.ctx.log('warn', `Writing 0x${failed.address.toString(16)} failed (${(err as Error).message}); sending that region again.`);
        await this.recover();
      }
    }
  }

  private async sendFrame(region: Region): Promise<void> {
    const index = region.next++;
    const frame = region.frames[index]!;
    const wire = await this.link.sendFrame(frame);
    // Everything queued ahead must cross the line and be worked off before this answer can come.
    const ahead = this.inflight.reduce((ms, f) => ms + f.region.frameDeviceMs[f.index]!, 0);
    const deadline = this.ctx.clock.now() + this.link.lineMs(wire * (this.inflight.length + 1) + 16) + ahead + region.frameDeviceMs[index]! + REPLY_MARGIN_MS;
    this.inflight.push({ region, index, command: frame[1]!, deadline });
  }

  private async settleOldest(): Promise<void> {
    const f = this.inflight[0]!;
    const r = await this.link.response(f.command, f.deadline);
    checkStatus(r, 0);
    this.inflight.shift();
    f.region.acked++;
    const done = f.region.imageBytesAfter[f.index]!;
    if (f.region.progress && done > f.region.reported) {
      f.region.progress(done - f.region.reported);
      f.region.reported = done;
    }
    if (f.region.acked === f.region.frames.length) this.pending = this.pending.filter((p) => p !== f.region);
  }

  private regionError(region: Region, cause: unknown): FlashError {
    const end = region.address + region.data.length - 1;
    const base = isFlashError(cause) ? cause : null;
    return new FlashError(base?.code ?? 'timeout', `Writing flash 0x${region.address.toString(16)}–0x${end.toString(16)} failed ${BLOCK_ATTEMPTS} times: ${(cause as Error).message}`, {
      hint: base?.hint,
      details: { memory: 'flash', address: region.address, length: region.data.length },
      cause,
    });
  }

  /**
   * After a lost or refused frame: let the stub finish what it holds, end any READ_FLASH stream, and
   * resynchronise with SYNC (a stub answers it once, with value 0; the ROM would answer 8 times).
   */
  private async recover(): Promise<void> {
    await this.link.drain(30);
    for (let i = 0; i < 4; i++) {
      await this.link.sendFrame(encodeRequest(Command.SYNC, SYNC_PAYLOAD));
      try {
        const r = await this.link.response(Command.SYNC, this.ctx.clock.now() + this.link.lineMs(60) + MAX_BLOCK_ERASE_MS / 4 + REPLY_MARGIN_MS);
        if (r.value !== 0) throw new FlashError('device-lost', 'The chip restarted during the job (it answers as the ROM loader again).', {
          hint: 'Check the power supply and the cable; then flash again.',
        });
        await this.link.drain(20);
        return;
      } catch (err) {
        if (!retryable(err)) throw err;
      }
    }
    throw new FlashError('timeout', 'The flasher stub stopped answering.', { hint: 'Reset the board into download mode and flash again.' });
  }

  // ---- verify and read ---------------------------------------------------------------------------------

  /** SPI_FLASH_MD5 of a range; whole 4 KiB pages are fetched ahead with two requests in flight. */
  private async deviceMd5(address: number, length: number): Promise<string> {
    if (length !== SECTOR_SIZE || address % SECTOR_SIZE) return this.md5Command(address, length);
    const cached = this.md5Cache.get(address);
    if (cached) {
      this.md5Cache.delete(address);
      return cached;
    }
    const last = Math.min(this.flashSize, address + MD5_PREFETCH_PAGES * SECTOR_SIZE);
    const queue: number[] = [];
    let next = address;
    let result = '';
    const perPageMs = (SECTOR_SIZE / 1024) * 0.5;
    while (next < last || queue.length > 0) {
      if (next < last && queue.length < WINDOW) {
        await this.link.sendFrame(encodeRequest(Command.SPI_FLASH_MD5, words(next, SECTOR_SIZE, 0, 0)));
        queue.push(next);
        next += SECTOR_SIZE;
        continue;
      }
      const at = queue.shift()!;
      const r = await this.link.response(Command.SPI_FLASH_MD5, this.ctx.clock.now() + this.link.lineMs(120) + 2 * perPageMs + REPLY_MARGIN_MS);
      checkStatus(r, 16);
      const digest = toHex(r.data.subarray(0, 16));
      if (at === address) result = digest;
      else this.md5Cache.set(at, digest);
    }
    return result;
  }

  private async md5Command(address: number, length: number): Promise<string> {
    const deviceMs = (length / 1024) * 0.5 + 100;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.link.command(Command.SPI_FLASH_MD5, words(address, length, 0, 0), { resultLength: 16, deviceMs });
        return toHex(r.data.subarray(0, 16));
      } catch (err) {
        if (!retryable(err) || attempt >= 1) throw err;
        await this.recover();
      }
    }
  }

  /** READ_FLASH: the stub streams 4 KiB packets; each is acknowledged with the running total; MD5 last. */
  private async readFlash(address: number, length: number): Promise<Uint8Array> {
    await this.link.command(Command.READ_FLASH, words(address, length, BlockSize.READ_PACKET, 64));
    const out = new Uint8Array(length);
    let got = 0;
    const packetMs = () => this.link.lineMs(BlockSize.READ_PACKET * 1.05 + 20) + REPLY_MARGIN_MS + 50;
    while (got < length) {
      const p = await this.link.packet(this.ctx.clock.now() + packetMs());
      if (got + p.length > length) throw new FlashError('protocol', `READ_FLASH sent ${got + p.length} bytes of ${length}.`);
      out.set(p, got);
      got += p.length;
      await this.link.sendFrame(words(got));
    }
    const digest = await this.link.packet(this.ctx.clock.now() + packetMs());
    const want = md5(out);
    if (digest.length !== 16 || !digest.every((b, i) => b === want[i])) {
      throw new FlashError('bad-checksum', `The data read from 0x${address.toString(16)} does not match the stub's MD5.`, {
        details: { address, length, device: toHex(digest), computed: toHex(want) },
      });
    }
    return out;
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private wasWritten(address: number, length: number): boolean {
    return this.written.some((w) => w.start <= address && address + length <= w.end);
  }

  private forgetDigests(address: number, length: number): void {
    for (const at of [...this.md5Cache.keys()]) if (at + SECTOR_SIZE > address && at < address + length) this.md5Cache.delete(at);
  }

  private requireStub(memory: string): EspChip {
    if (memory !== 'flash') throw new FlashError('unsupported', `Espressif chips have no "${memory}" memory here; use flash.`);
    if (!this.chip || !this.stubRunning) throw new FlashError('internal', 'identify() must run before programming.');
    return this.chip;
  }

  /** EN low for 100 ms through RTS (esptool HardReset), then the application starts. */
  private async hardReset(): Promise<void> {
    await this.ctx.stream.setSignals({ dtr: false, rts: true });
    await this.ctx.clock.sleep(100);
    await this.ctx.stream.setSignals({ dtr: false, rts: false });
  }

  private checkAbort(): void {
    if (this.ctx.signal.aborted) throw new FlashError('aborted', 'Cancelled.');
  }
}

/** Faults of the line or of one frame: worth another try. */
function retryable(err: unknown): boolean {
  return isFlashError(err) && (err.code === 'timeout' || err.code === 'nak' || err.code === 'bad-checksum' || err.code === 'protocol');
}

function concatWords(...pairs: [number, number][]): Uint8Array {
  return words(...pairs.flatMap(([addr, value]) => [addr, value, 0xffffffff, 0]));
}

export function createDriver(ctx: DriverContext, options?: EspRomOptions): EspRomDriver {
  return new EspRomDriver(ctx, options ?? optionsFromContext(ctx.options ?? {}));
}

/**
 * `--option flash-mode=dio`, `flash-freq=80m`, `flash-size=4MB|detect|keep` and
 * `reset=none|classic|classic-slow|usb-jtag-serial` (comma-separated, tried in order).
 */
function optionsFromContext(o: Readonly<Record<string, string>>): EspRomOptions {
  const known = new Set(['flash-mode', 'flash-freq', 'flash-size', 'reset', 'before', 'after', CONSENT_OPTION]);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new FlashError('unsupported', `esp-rom has no option "${unknown[0]}".`, { hint: `Options: ${[...known].join(', ')}.` });
  }
  const out: EspRomOptions = {};
  if (o['flash-mode'] !== undefined) out.flashMode = o['flash-mode'] as EspRomOptions['flashMode'];
  if (o['flash-freq'] !== undefined) out.flashFreq = o['flash-freq'];
  if (o['flash-size'] !== undefined) out.flashSize = o['flash-size'];
  if (o.after !== undefined) out.after = o.after as EspRomOptions['after'];
  // --before as esptool spells it; a `reset` list, when given too, is the finer choice.
  if (o.before === 'no-reset') out.resets = [];
  if (o.before === 'usb-reset') out.resets = ['usb-jtag-serial'];
  if (o.reset !== undefined) {
    const resets = o.reset === 'none' ? [] : o.reset.split(',');
    const valid: readonly string[] = ['classic', 'classic-slow', 'usb-jtag-serial'];
    const bad = resets.find((r) => !valid.includes(r));
    if (bad) throw new FlashError('unsupported', `Unknown reset "${bad}".`, { hint: `Use none or ${valid.join(', ')}.` });
    out.resets = resets as ResetKind[];
  }
  return out;
}
