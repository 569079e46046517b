import { concatBytes } from '../../core/bytes/concat';
import type { ByteStream } from '../../core/io/byte-stream';
import { FORMAT_8N1, frameMs } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import type { DriverContext } from '../types';
import {
  BUS,
  hasCommand,
  MAX_24BIT,
  readU16,
  readU24,
  readU32,
  S_ACK,
  S_CMD,
  S_NAK,
  SERPROG_INTERFACE_VERSION,
  spiOpFrame,
} from './protocol';

/** One CS-low SPI transaction: `write` clocked out, then `readLength` bytes clocked in. */
export interface SpiTransaction {
  write: Uint8Array;
  readLength: number;
}

/** What the programmer said about itself during init. */
export interface ProgrammerInfo {
  name: string;
  commands: Uint8Array;
  busTypes: number;
  /** Bytes it can buffer; flashrom assumes 16 when Q_SERBUF is missing. */
  serialBuffer: number;
  /** Largest O_SPIOP write / read phase, from Q_WRNMAXLEN / Q_RDNMAXLEN, when it tells. */
  writeMax?: number;
  readMax?: number;
  /** The SPI clock it set, when it has S_SPI_FREQ. */
  spiHz?: number;
}

/** flashrom serprog_init: the buffer size assumed when Q_SERBUF is not answered. */
const DEFAULT_SERBUF = 16;
/** How long connect() keeps trying before it reports that no programmer answers. */
const SYNC_WINDOW_MS = 3000;
/** The line must stay quiet this long before a SYNCNOP, and after the final NAK ACK. */
const QUIET_MS = 30;
const SYNC_ATTEMPT_MS = 150;
/** On top of line and SPI time: USB-serial latency and OS scheduling. */
const REPLY_MARGIN_MS = 250;

/**
 * Host side of serprog on a ByteStream: synchronisation, the init queries, single commands, and
 * O_SPIOP batches pipelined within the programmer's serial buffer.
 *
 * Invariants:
 * - nothing but NOP, Q_IFACE, Q_CMDMAP and SYNCNOP is sent before the command map is known, and
 *   after it only advertised commands;
 * - the bytes sent whose answers have not been read stay within the programmer's serial buffer
 *   (one command at a time may exceed it: a device streams O_SPIOP payloads as they arrive);
 * - every answer is checked: NAK becomes FlashError 'nak', anything else unexpected 'protocol'.
 */
export class SerprogClient {
  info: ProgrammerInfo | null = null;
  private readonly byteMs: number;
  /** Bytes received and not yet consumed. */
  private rx: Uint8Array = new Uint8Array(0);

  constructor(private readonly ctx: DriverContext) {
    // USB CDC programmers ignore the rate and are faster; for timeouts the slow case is the safe one.
    this.byteMs = frameMs({ ...FORMAT_8N1, baudRate: ctx.baudRate ?? 115200 });
  }

  private get stream(): ByteStream {
    return this.ctx.stream;
  }

  /**
   * flashrom sp_synchronize, with a bounded wait: NOPs flush a half-received command, then SYNCNOP
   * until NAK ACK comes back twice in a row with silence after it.
   */
  async sync(windowMs = SYNC_WINDOW_MS): Promise<void> {
    const { clock } = this.ctx;
    const deadline = clock.now() + windowMs;
    await this.stream.write(new Uint8Array(8).fill(S_CMD.NOP));
    await this.quiet(QUIET_MS, deadline);
    for (let attempt = 0; clock.now() < deadline; attempt++) {
      // A device still swallowing the payload of a long O_SPIOP (a length garbled on the line) hears
      // SYNCNOPs as data: feed it NOPs in growing bursts until it comes back to the command level.
      if (attempt >= 2) {
        await this.stream.write(new Uint8Array(Math.min(16 << (2 * (attempt - 2)), 65536)).fill(S_CMD.NOP));
        await this.quiet(QUIET_MS, deadline);
      }
      await this.stream.write(Uint8Array.of(S_CMD.SYNCNOP));
      if (!(await this.seekNakAck(Math.min(deadline, clock.now() + SYNC_ATTEMPT_MS)))) continue;
      // A NAK ACK inside stale data could be a coincidence: a second SYNCNOP must answer exactly.
      await this.stream.write(Uint8Array.of(S_CMD.SYNCNOP));
      const second = await this.readSome(2, clock.now() + SYNC_ATTEMPT_MS);
      if (second.length === 2 && second[0] === S_NAK && second[1] === S_ACK && (await this.quiet(QUIET_MS, clock.now() + QUIET_MS * 2))) return;
    }
    throw new FlashError('no-sync', 'No serprog programmer answered on this port.', {
      hint:
        'Check that this is the programmer’s port (not the target board’s) and that it runs serprog firmware ' +
        '(pico-serprog, stm32-vserprog, frser-duino); for a UART programmer give its baud rate; unplug and replug it.',
    });
  }

  /** The init queries (flashrom serprog_init), then SPI selected, clock set and drivers enabled. */
  async init(opts: { spiHz?: number; cs?: number } = {}): Promise<ProgrammerInfo> {
    const iface = await this.command(S_CMD.Q_IFACE, [], 2);
    if (!iface || readU16(iface, 0) !== SERPROG_INTERFACE_VERSION) {
      throw new FlashError('protocol', `The programmer speaks serprog interface version ${iface ? readU16(iface, 0) : '(none)'}, not 1.`, {
        hint: 'Update the programmer firmware to a current serprog release.',
      });
    }
    const commands = await this.command(S_CMD.Q_CMDMAP, [], 32);
    if (!commands) throw new FlashError('protocol', 'The programmer refused to list its commands (Q_CMDMAP).');
    const has = (c: number) => hasCommand(commands, c);
    const info: ProgrammerInfo = { name: '(unnamed)', commands, busTypes: 0, serialBuffer: DEFAULT_SERBUF };
    if (has(S_CMD.Q_PGMNAME)) {
      const name = await this.command(S_CMD.Q_PGMNAME, [], 16);
      if (name) info.name = String.fromCharCode(...name.filter((c) => c >= 0x20 && c < 0x7f));
    }
    if (has(S_CMD.Q_SERBUF)) {
      const serbuf = await this.command(S_CMD.Q_SERBUF, [], 2);
      if (serbuf) info.serialBuffer = Math.max(DEFAULT_SERBUF, readU16(serbuf, 0));
    }
    const bus = has(S_CMD.Q_BUSTYPE) ? await this.command(S_CMD.Q_BUSTYPE, [], 1) : null;
    info.busTypes = bus?.[0] ?? 0;
    if (!(info.busTypes & BUS.SPI) || !has(S_CMD.O_SPIOP)) {
      throw new FlashError('unsupported', `The programmer "${info.name}" has no SPI bus (it reports ${busNames(info.busTypes)}).`, {
        hint: 'webprog programs SPI flash through serprog: flash the programmer with an SPI serprog firmware (pico-serprog, stm32-vserprog).',
        details: { busTypes: info.busTypes },
      });
    }
    if (has(S_CMD.S_BUSTYPE) && !(await this.command(S_CMD.S_BUSTYPE, [BUS.SPI], 0))) {
      throw new FlashError('nak', `The programmer "${info.name}" refused to select its SPI bus.`);
    }
    if (has(S_CMD.Q_WRNMAXLEN)) {
      const v = await this.command(S_CMD.Q_WRNMAXLEN, [], 3);
      if (v) info.writeMax = readU24(v, 0) || MAX_24BIT;
    }
    if (has(S_CMD.Q_RDNMAXLEN)) {
      const v = await this.command(S_CMD.Q_RDNMAXLEN, [], 3);
      if (v) info.readMax = readU24(v, 0) || MAX_24BIT;
    }
    this.info = info;
    if (opts.spiHz) await this.setSpiClock(opts.spiHz);
    if (opts.cs !== undefined) {
      if (!has(S_CMD.S_SPI_CS) || !(await this.command(S_CMD.S_SPI_CS, [opts.cs], 0))) {
        throw new FlashError('unsupported', `The programmer has no chip-select line ${opts.cs}.`);
      }
    }
    if (has(S_CMD.S_PIN_STATE) && !(await this.command(S_CMD.S_PIN_STATE, [1], 0))) {
      throw new FlashError('nak', 'The programmer refused to enable its output drivers.');
    }
    return info;
  }

  /**
   * S_SPI_FREQ: the programmer picks the nearest rate it can at or below `hz` and says which.
   * Returns the rate in use; a programmer without the command keeps its own (unknown) rate.
   */
  async setSpiClock(hz: number): Promise<number | undefined> {
    const info = this.requireInfo();
    if (!hasCommand(info.commands, S_CMD.S_SPI_FREQ)) return info.spiHz;
    const v = Math.round(hz) >>> 0;
    const set = await this.command(S_CMD.S_SPI_FREQ, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24], 4);
    if (set) info.spiHz = readU32(set, 0);
    else this.ctx.log('warn', `The programmer refused an SPI clock of ${v} Hz; it keeps its own.`);
    return info.spiHz;
  }

  /** Tri-states the programmer's pins so the target board can boot from its flash (flashrom shutdown). */
  async release(): Promise<void> {
    if (this.info && hasCommand(this.info.commands, S_CMD.S_PIN_STATE)) await this.command(S_CMD.S_PIN_STATE, [0], 0);
  }

  /** One command; null when the programmer answers NAK. */
  async command(op: number, params: number[], replyLength: number): Promise<Uint8Array | null> {
    await this.stream.write(Uint8Array.of(op, ...params));
    const first = await this.take(1, (2 + params.length + replyLength) * this.byteMs + REPLY_MARGIN_MS);
    if (first[0] === S_NAK) return null;
    if (first[0] !== S_ACK) throw badReply(first[0]!, op);
    return replyLength > 0 ? this.take(replyLength, replyLength * this.byteMs + REPLY_MARGIN_MS) : new Uint8Array(0);
  }

  /**
   * Runs SPI transactions in order, each its own O_SPIOP (CS low for the whole of it), and returns
   * each one's read bytes. Frames go out back to back as long as the unanswered ones fit in the
   * programmer's buffer, so the line never idles waiting for an answer.
   */
  async spi(transactions: readonly SpiTransaction[], spiHz = this.info?.spiHz ?? 1_000_000): Promise<Uint8Array[]> {
    const info = this.requireInfo();
    const frames = transactions.map((t) => {
      if ((info.writeMax && t.write.length > info.writeMax) || (info.readMax && t.readLength > info.readMax)) {
        throw new FlashError('internal', `SPI transaction of ${t.write.length}+${t.readLength} bytes exceeds the programmer's limits.`);
      }
      return spiOpFrame(t.write, t.readLength);
    });
    const results: Uint8Array[] = new Array(frames.length);
    let sent = 0;
    let inFlight = 0;
    for (let done = 0; done < frames.length; done++) {
      if (sent === done || (sent < frames.length && inFlight + frames[sent]!.length <= info.serialBuffer)) {
        const batch: Uint8Array[] = [];
        let size = 0;
        while (sent < frames.length && (sent === done || inFlight + frames[sent]!.length <= info.serialBuffer)) {
          batch.push(frames[sent]!);
          inFlight += frames[sent]!.length;
          size += frames[sent]!.length;
          sent++;
        }
        await this.stream.write(batch.length === 1 ? batch[0]! : concatBytes(...batch));
      }
      const t = transactions[done]!;
      const spiMs = ((t.write.length + t.readLength) * 8000) / spiHz;
      const lineMs = (frames[done]!.length + 1 + t.readLength) * this.byteMs;
      const ack = await this.take(1, lineMs + spiMs + REPLY_MARGIN_MS);
      if (ack[0] !== S_ACK) {
        if (ack[0] === S_NAK) {
          throw new FlashError('nak', `The programmer refused an SPI transaction (opcode ${hex2(t.write[0] ?? 0)}, ${t.write.length}+${t.readLength} bytes).`, {
            hint: 'The programmer lost track of the commands or does not take transfers this long: unplug it, plug it back in and try again.',
          });
        }
        throw badReply(ack[0]!, S_CMD.O_SPIOP);
      }
      results[done] = t.readLength > 0 ? await this.take(t.readLength, t.readLength * this.byteMs + spiMs + REPLY_MARGIN_MS) : new Uint8Array(0);
      inFlight -= frames[done]!.length;
    }
    return results;
  }

  private requireInfo(): ProgrammerInfo {
    if (!this.info) throw new FlashError('internal', 'serprog: init() must run first.');
    return this.info;
  }

  /**
   * Exactly `n` answer bytes within `timeoutMs`. Reads through `rx`, so bytes a stream hands over
   * beyond what was asked for (a faulty link can duplicate them) wait for the next answer instead
   * of overflowing this one.
   */
  private async take(n: number, timeoutMs: number): Promise<Uint8Array> {
    const { clock, signal } = this.ctx;
    const deadline = clock.now() + timeoutMs;
    while (this.rx.length < n) {
      const left = deadline - clock.now();
      let chunk: Uint8Array;
      try {
        if (left <= 0) throw new FlashError('timeout', 'No answer in time.');
        chunk = await this.stream.read(n - this.rx.length, { timeoutMs: left, signal });
      } catch (err) {
        if (!isFlashError(err, 'timeout')) throw err;
        throw new FlashError('timeout', 'The serprog programmer stopped answering.', {
          hint: 'Check the USB cable; if the programmer is a UART one, check the baud rate. Unplug and replug it, then try again.',
          details: { wanted: n, got: this.rx.length },
          cause: err,
        });
      }
      this.rx = this.rx.length === 0 ? chunk : concatBytes(this.rx, chunk);
    }
    const out = this.rx.subarray(0, n);
    this.rx = this.rx.subarray(n);
    return out;
  }

  /** Reads up to `n` bytes until `deadline`; fewer if the time runs out. */
  private async readSome(n: number, deadline: number): Promise<Uint8Array> {
    const { clock, signal } = this.ctx;
    const out: number[] = [];
    while (out.length < n) {
      const left = deadline - clock.now();
      if (left <= 0) break;
      try {
        out.push(...(await this.stream.read(n - out.length, { timeoutMs: left, signal })));
      } catch (err) {
        if (isFlashError(err, 'timeout')) break;
        throw err;
      }
    }
    return Uint8Array.from(out);
  }

  /** Reads until NAK then ACK has gone by; false at the deadline. */
  private async seekNakAck(deadline: number): Promise<boolean> {
    const { clock, signal } = this.ctx;
    let previous = -1;
    for (;;) {
      const left = deadline - clock.now();
      if (left <= 0) return false;
      let chunk: Uint8Array;
      try {
        chunk = await this.stream.read(64, { timeoutMs: left, signal });
      } catch (err) {
        if (isFlashError(err, 'timeout')) return false;
        throw err;
      }
      for (const b of chunk) {
        if (previous === S_NAK && b === S_ACK) return true;
        previous = b;
      }
    }
  }

  /** Drops input until the line has been silent for `quietMs`; false if `deadline` came first. */
  private async quiet(quietMs: number, deadline: number): Promise<boolean> {
    const { clock, signal } = this.ctx;
    this.rx = new Uint8Array(0);
    for (;;) {
      const left = deadline - clock.now();
      if (left <= 0) return false;
      const wait = Math.min(quietMs, left);
      try {
        await this.stream.read(4096, { timeoutMs: wait, signal });
      } catch (err) {
        if (isFlashError(err, 'timeout')) return wait >= quietMs;
        throw err;
      }
    }
  }
}

function badReply(byte: number, op: number): FlashError {
  return new FlashError('protocol', `Unexpected answer ${hex2(byte)} from the programmer to command ${hex2(op)}.`, {
    hint: 'The link lost sync or another device answers on this port: unplug and replug the programmer, then try again.',
    details: { reply: hex2(byte), command: hex2(op) },
  });
}

function hex2(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0').toUpperCase();
}

function busNames(bits: number): string {
  const names = [
    [BUS.PARALLEL, 'parallel'],
    [BUS.LPC, 'LPC'],
    [BUS.FWH, 'FWH'],
    [BUS.SPI, 'SPI'],
  ] as const;
  const found = names.filter(([bit]) => bits & bit).map(([, n]) => n);
  return found.length > 0 ? found.join(', ') : 'no bus at all';
}
