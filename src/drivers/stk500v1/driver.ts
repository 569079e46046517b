import { resolveAvrPart, signatureHex, type AvrPart } from '../../chips/avr';
import { concatBytes } from '../../core/bytes/concat';
import { drain, readExactly } from '../../core/io/byte-stream';
import { bitsPerFrame, FORMAT_8N1 } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import type { BlockConstraints, Driver, DriverContext, Identified, TargetMemory } from '../types';
import {
  Cmnd_STK,
  loadAddressFrame,
  MAX_BYTE_ADDRESS,
  MemType,
  Parm_STK,
  progPageFrame,
  readPageFrame,
  Resp_STK,
  Sync_CRC_EOP,
} from './protocol';
import { variantFromVersion, type BootloaderVariant } from './variants';
import { stk500v1Meta } from './meta';

/** Low time of the DTR/RTS reset pulse; the board's 100 nF capacitor turns the edge into the pulse. */
const RESET_PULSE_MS = 1;
/** Time the lines stay released before the pulse, so the capacitor has charged (avrdude waits 250 ms). */
const RESET_RELEASE_MS = 20;
/**
 * From the reset pulse to the first byte we send. An Uno's fuses hold the MCU for 65 ms after reset;
 * a byte that arrives half-received would look like a bad frame, and optiboot answers a bad frame by
 * starting the application.
 */
const STARTUP_WAIT_MS = 80;
/** Optiboot leaves for the application after 1 s without a valid byte. */
const BOOTLOADER_WINDOW_MS = 1000;
const SYNC_ATTEMPT_MS = 50;
/** Margin on top of line time and device time for USB-serial latency and OS scheduling. */
const REPLY_MARGIN_MS = 250;
const EEPROM_BYTE_MS = 3.4;
/** Tries of one page exchange before the job fails: a line that garbles three in a row is not usable. */
const RECOVERY_ATTEMPTS = 3;

const SYNC_FRAME = Uint8Array.of(Cmnd_STK.GET_SYNC, Sync_CRC_EOP);

/**
 * Host side of STK500 v1 for Arduino bootloaders. Each page goes out as LOAD_ADDRESS and PROG_PAGE in
 * one write (the bootloader is idle between them, so nothing overruns its 2-byte UART FIFO), which
 * saves one turnaround per page over avrdude; verify does the same with READ_PAGE.
 */
export class Stk500v1Driver implements Driver {
  private baudRate = 0;
  private part: AvrPart | null = null;
  private variant: BootloaderVariant | null = null;

  constructor(private readonly ctx: DriverContext) {}

  async connect(): Promise<void> {
    const defaults = stk500v1Meta.serialDefaults!;
    const rates = this.ctx.baudRate ? [this.ctx.baudRate] : [defaults.baudRate, ...(defaults.fallbackBaudRates ?? [])];
    for (const rate of rates) {
      if (this.ctx.signal.aborted) throw new FlashError('aborted', 'Cancelled.');
      await this.ctx.stream.setBaud(rate);
      this.baudRate = rate;
      await arduinoAutoReset(this.ctx);
      if (await this.sync()) {
        this.ctx.log('info', `Bootloader answered at ${rate} baud.`);
        return;
      }
      this.ctx.log('info', `No answer at ${rate} baud.`);
    }
    const tried = rates.join(' and ');
    throw new FlashError('no-sync', `No answer from the bootloader at ${tried} baud.`, {
      hint:
        'Check that the right port is selected and nothing else uses it. Press RESET on the board just as ' +
        'flashing starts; for a Nano with the old bootloader, choose 57600 baud.',
      details: { baudRates: tried },
    });
  }

  async identify(): Promise<Identified> {
    const major = (await this.transact(Uint8Array.of(Cmnd_STK.GET_PARAMETER, Parm_STK.SW_MAJOR, Sync_CRC_EOP), 1))[0]!;
    const minor = (await this.transact(Uint8Array.of(Cmnd_STK.GET_PARAMETER, Parm_STK.SW_MINOR, Sync_CRC_EOP), 1))[0]!;
    this.variant = variantFromVersion(major, minor);
    await this.transact(Uint8Array.of(Cmnd_STK.ENTER_PROGMODE, Sync_CRC_EOP), 0);
    const signature = await this.transact(Uint8Array.of(Cmnd_STK.READ_SIGN, Sync_CRC_EOP), 3);
    const found = resolveAvrPart(signature, this.ctx.targetId);
    const sigHex = signatureHex(signature);
    if (found.flashSize > MAX_BYTE_ADDRESS) {
      throw new FlashError('unsupported', `${found.name} needs extended addressing, which STK500 v1 bootloaders lack.`, {
        hint: 'Arduino Mega boards use the STK500 v2 bootloader: choose that programmer.',
      });
    }
    this.part = found;
    return {
      device: {
        id: sigHex,
        name: found.name,
        bootloader: this.variant.label,
        baudRate: this.baudRate,
      },
      memories: this.memories(found, this.variant),
    };
  }

  /** 8N1 at the rate the bootloader answered at: the ceiling the job's time left respects. */
  lineRate(): number | undefined {
    return this.baudRate ? this.baudRate / bitsPerFrame(FORMAT_8N1) : undefined;
  }

  constraints(memory: string): BlockConstraints {
    const part = this.requirePart();
    if (memory === 'eeprom') return { pageSize: part.eepromPageSize, maxBlock: 128, fill: 0xff };
    // Optiboot buffers exactly one page and writes the whole SPM page: send whole pages only. Reads
    // stream from flash with no buffer: optiboot, ATmegaBOOT and optiboot 8 all serve 256 bytes
    // (optiboot 4.4 keeps only the low length byte, and its do-while turns 0 into 256).
    return { pageSize: part.flashPageSize, maxBlock: part.flashPageSize, maxReadBlock: 256, fill: 0xff };
  }

  async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    const memType = this.memType(memory);
    const frame = concatBytes(loadAddressFrame(address), progPageFrame(memType, data));
    const deviceMs = memType === MemType.eeprom ? EEPROM_BYTE_MS * data.length : 2 * this.requirePart().flashPageWriteMs;
    try {
      const write = () => this.exchange(frame, 4, deviceMs, [Resp_STK.INSYNC, Resp_STK.OK, Resp_STK.INSYNC, null]);
      // Page writes are idempotent: after a garbled frame the page is simply written again.
      await (memType === MemType.flash ? this.recovering(`write at 0x${address.toString(16)}`, write) : write());
    } catch (err) {
      if (memType === MemType.eeprom && isFlashError(err, 'timeout')) {
        throw new FlashError('unsupported', 'The bootloader stopped answering during an EEPROM write.', {
          hint: 'This Optiboot build has no EEPROM support: flash without EEPROM, or use an ISP programmer.',
          cause: err,
        });
      }
      throw err;
    }
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    const memType = this.memType(memory);
    const frame = concatBytes(loadAddressFrame(address), readPageFrame(memType, length));
    return this.recovering(`read at 0x${address.toString(16)}`, async () => {
      const reply = await this.exchange(frame, length + 4, 0, [Resp_STK.INSYNC, Resp_STK.OK, Resp_STK.INSYNC]);
      if (reply[reply.length - 1] !== Resp_STK.OK) throw this.badReply(reply, 'OK after the data');
      return reply.subarray(3, 3 + length);
    });
  }

  async close(): Promise<void> {
    try {
      await this.transact(Uint8Array.of(Cmnd_STK.LEAVE_PROGMODE, Sync_CRC_EOP), 0);
    } catch (err) {
      this.ctx.log('debug', `Leaving programming mode failed: ${(err as Error).message}`);
    }
  }

  private memories(part: AvrPart, variant: BootloaderVariant): TargetMemory[] {
    const bootStart = part.flashSize - variant.bootSize;
    const eeprom: TargetMemory = { name: 'eeprom', base: 0, size: part.eepromSize, pageSize: part.eepromPageSize, reserved: [] };
    if (variant.eeprom !== 'supported') {
      eeprom.reserved.push({
        start: 0,
        end: part.eepromSize,
        what: `${variant.label} cannot program EEPROM (it would write the data into flash)`,
      });
    }
    return [
      {
        name: 'flash',
        base: 0,
        size: part.flashSize,
        pageSize: part.flashPageSize,
        reserved: [{ start: bootStart, end: part.flashSize, what: `the bootloader (${variant.label})` }],
      },
      eeprom,
    ];
  }

  private memType(memory: string): number {
    if (memory === 'flash') return MemType.flash;
    if (memory === 'eeprom') {
      if (this.variant?.eeprom !== 'supported') {
        throw new FlashError('unsupported', `${this.variant?.label ?? 'This bootloader'} cannot access EEPROM.`);
      }
      return MemType.eeprom;
    }
    throw new FlashError('unsupported', `STK500 v1 bootloaders have no "${memory}" memory.`);
  }

  /**
   * Sends GET_SYNC until INSYNC OK comes back, within the bootloader's window after reset. Anything
   * else on the line (an application's output, noise) is skipped; a match must be followed by
   * silence, so a stale reply to an earlier attempt cannot be taken for this one.
   */
  private async sync(): Promise<boolean> {
    const { stream, clock, signal } = this.ctx;
    const deadline = clock.now() + BOOTLOADER_WINDOW_MS;
    await drain(stream, 0, signal);
    while (clock.now() < deadline) {
      await stream.write(SYNC_FRAME);
      const attemptEnd = clock.now() + SYNC_ATTEMPT_MS;
      let seen: number[] = [];
      while (clock.now() < attemptEnd) {
        let chunk: Uint8Array;
        try {
          chunk = await stream.read(64, { timeoutMs: attemptEnd - clock.now(), signal });
        } catch (err) {
          if (isFlashError(err, 'timeout')) break;
          throw err;
        }
        seen = [...seen, ...chunk].slice(-2);
        if (seen[0] === Resp_STK.INSYNC && seen[1] === Resp_STK.OK) {
          if ((await drain(stream, 5 * this.frameMs() + 2, signal)) === 0) return true;
          seen = [];
        }
      }
    }
    return false;
  }

  /**
   * Runs one exchange again after a garbled or missing reply: STK500 v1 has no checksum, and optiboot
   * answers a damaged frame by starting the application, so the session is brought back first (sync,
   * else the auto-reset and sync) and programming mode entered again.
   */
  private async recovering<T>(what: string, op: () => Promise<T>): Promise<T> {
    let first: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        first ??= err;
        if (!(isFlashError(err, 'protocol') || isFlashError(err, 'timeout')) || this.ctx.signal.aborted) throw err;
        if (attempt >= RECOVERY_ATTEMPTS) throw first;
        this.ctx.log('debug', `${what} failed (${(err as Error).message}); resynchronising, attempt ${attempt + 1} of ${RECOVERY_ATTEMPTS}.`);
        // A board that does not come back (unplugged, powered off) fails with what went wrong first.
        if (!(await this.resync().then(() => true, () => false))) throw first;
      }
    }
  }

  /** Back to a bootloader in programming mode: the same session if it still answers, else after a reset. */
  private async resync(): Promise<void> {
    if (!(await this.sync())) {
      await arduinoAutoReset(this.ctx);
      if (!(await this.sync())) throw new FlashError('no-sync', 'The bootloader stopped answering and did not come back after a reset.');
    }
    await this.transact(Uint8Array.of(Cmnd_STK.ENTER_PROGMODE, Sync_CRC_EOP), 0);
  }

  /** One command, reply = INSYNC + `payload` bytes + OK. */
  private async transact(frame: Uint8Array, payload: number): Promise<Uint8Array> {
    const reply = await this.exchange(frame, payload + 2, 0, [Resp_STK.INSYNC]);
    if (reply[reply.length - 1] !== Resp_STK.OK) throw this.badReply(reply, 'OK');
    return reply.subarray(1, 1 + payload);
  }

  /** Writes a frame in one piece and reads exactly `replyLength` bytes, checking the fixed ones. */
  private async exchange(
    frame: Uint8Array,
    replyLength: number,
    deviceMs: number,
    expect: (number | null)[],
  ): Promise<Uint8Array> {
    const { stream, clock, signal } = this.ctx;
    await stream.write(frame);
    const lineMs = (frame.length + replyLength) * this.frameMs();
    const reply = await readExactly(stream, replyLength, {
      timeoutMs: lineMs + deviceMs + REPLY_MARGIN_MS,
      signal,
      now: () => clock.now(),
    });
    expect.forEach((want, i) => {
      if (want !== null && reply[i] !== want) throw this.badReply(reply, want === Resp_STK.INSYNC ? 'INSYNC' : 'OK');
    });
    return reply;
  }

  private badReply(reply: Uint8Array, wanted: string): FlashError {
    const got = signatureHex(reply.subarray(0, 16));
    if (reply[0] === Resp_STK.NOSYNC) {
      return new FlashError('protocol', 'The bootloader lost sync with webprog.', { details: { reply: got } });
    }
    return new FlashError('protocol', `Unexpected answer from the bootloader (expected ${wanted}).`, {
      hint: 'Noise on the line or a different programmer type: check the cable and the selected programmer.',
      details: { reply: got },
    });
  }

  private frameMs(): number {
    return (bitsPerFrame(FORMAT_8N1) * 1000) / (this.baudRate || 115200);
  }

  private requirePart(): AvrPart {
    if (!this.part) throw new FlashError('internal', 'identify() must run before programming.');
    return this.part;
  }
}

/**
 * The Arduino auto-reset: DTR and RTS pulsed together, as avrdude's arduino and wiring programmers do,
 * then the MCU's start-up time. A PTY has neither line, which is fine (its host resets on open).
 */
export async function arduinoAutoReset(ctx: DriverContext): Promise<void> {
  const { stream, clock, signal } = ctx;
  try {
    await stream.setSignals({ dtr: false, rts: false });
    await clock.sleep(RESET_RELEASE_MS, signal);
    await stream.setSignals({ dtr: true, rts: true });
    await clock.sleep(RESET_PULSE_MS, signal);
    await stream.setSignals({ dtr: false, rts: false });
  } catch (err) {
    if (isFlashError(err, 'device-lost') || isFlashError(err, 'aborted') || signal.aborted) throw err;
    ctx.log('debug', `This port cannot drive DTR/RTS (${(err as Error).message}); press RESET by hand if needed.`);
  }
  await clock.sleep(STARTUP_WAIT_MS, signal);
}

export function createDriver(ctx: DriverContext): Driver {
  return new Stk500v1Driver(ctx);
}
