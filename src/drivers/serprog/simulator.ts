import { findSpiNorChip } from '../../chips/spi-nor/index';
import type { SpiNorChip } from '../../chips/spi-nor/types';
import type { Clock } from '../../core/io/clock';
import { FORMAT_8N1, frameMs, type DevicePort } from '../../core/io/uart-link';
import { FlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';
import { FlashModel, type FlashModelOptions } from './flash-model';
import { BUS, commandMap, PARAM_LENGTH, readU24, readU32, S_ACK, S_CMD, S_NAK, u24 } from './protocol';
import { parseTarget } from './target';

/** What distinguishes one serprog firmware from another, as far as a host can tell. */
export interface ProgrammerVariant {
  id: string;
  /** Q_PGMNAME, at most 16 characters. */
  name: string;
  /** Line rate of the simulated link (a USB CDC link is modelled as a fast line). */
  baudRate: number;
  commands: readonly number[];
  busTypes: number;
  /** Q_SERBUF answer. */
  serbuf: number;
  /** Bytes the device can hold while it is not reading its input; Infinity for USB flow control. */
  rxBuffer: number;
  /** Reply bytes it can queue before it must wait for the line. */
  txBuffer: number;
  /** Q_WRNMAXLEN / Q_RDNMAXLEN answers, when the firmware has those commands. */
  writeMax?: number;
  readMax?: number;
  spiMaxHz: number;
  spiDefaultHz: number;
  /** Firmware time per command on top of the SPI clock. */
  opOverheadMs: number;
}

const COMMON = [S_CMD.NOP, S_CMD.Q_IFACE, S_CMD.Q_CMDMAP, S_CMD.Q_PGMNAME, S_CMD.Q_SERBUF, S_CMD.Q_BUSTYPE, S_CMD.SYNCNOP, S_CMD.S_BUSTYPE];

/**
 * The simulated programmers:
 * - pico-serprog: RP2040 over USB CDC, the command set serprog.md lists for it (no max-length
 *   queries, no opbuf); USB flow control, modelled as a 4 Mbit/s line (~400 KB/s, what USB
 *   full-speed CDC serprog firmwares reach);
 * - uart: an Arduino-class firmware on a 115200 baud UART with a 256-byte receive buffer and no
 *   flow control: bytes that arrive while it is busy sending a long reply and its buffer is full
 *   are lost, as on the real thing; it answers Q_WRNMAXLEN / Q_RDNMAXLEN;
 * - no-spi: a parallel/LPC/FWH-only programmer (for the "programmer without SPI" error).
 */
export const PROGRAMMERS: Readonly<Record<string, ProgrammerVariant>> = {
  'pico-serprog': {
    id: 'pico-serprog',
    name: 'pico-serprog',
    baudRate: 4_000_000,
    commands: [...COMMON, S_CMD.O_SPIOP, S_CMD.S_SPI_FREQ, S_CMD.S_PIN_STATE],
    busTypes: BUS.SPI,
    serbuf: 0xffff,
    rxBuffer: Infinity,
    txBuffer: Infinity,
    spiMaxHz: 62_500_000,
    spiDefaultHz: 1_000_000,
    opOverheadMs: 0.005,
  },
  uart: {
    id: 'uart',
    name: 'serprog-uart',
    baudRate: 115200,
    commands: [...COMMON, S_CMD.Q_WRNMAXLEN, S_CMD.Q_RDNMAXLEN, S_CMD.O_SPIOP, S_CMD.S_SPI_FREQ, S_CMD.S_PIN_STATE, S_CMD.S_SPI_CS],
    busTypes: BUS.SPI,
    serbuf: 256,
    rxBuffer: 256,
    txBuffer: 64,
    writeMax: 512,
    readMax: 4096,
    spiMaxHz: 8_000_000,
    spiDefaultHz: 8_000_000,
    opOverheadMs: 0.02,
  },
  'no-spi': {
    id: 'no-spi',
    name: 'lpc-serprog',
    baudRate: 115200,
    commands: [...COMMON, S_CMD.Q_OPBUF, S_CMD.R_BYTE, S_CMD.R_NBYTES, S_CMD.O_INIT, S_CMD.O_WRITEB, S_CMD.O_DELAY, S_CMD.O_EXEC],
    busTypes: BUS.LPC | BUS.FWH,
    serbuf: 64,
    rxBuffer: 64,
    txBuffer: 64,
    spiMaxHz: 0,
    spiDefaultHz: 0,
    opOverheadMs: 0.02,
  },
};

/**
 * A serprog programmer with an SPI NOR part in its socket, at byte level and with time.
 *
 * Commands are framed byte by byte as they arrive; each runs when its last byte is in, no earlier
 * than the previous one finished (one command at a time, as the firmwares do). O_SPIOP clocks the
 * write phase as the bytes arrive, then the read phase, at the SPI rate set by S_SPI_FREQ; answers
 * go out with `sendAt`, so simulated time stays exact whatever the host's timers do.
 */
export class SerprogSimulator implements Simulator {
  readonly variant: ProgrammerVariant;
  /** The part in the socket, or null for an empty socket. */
  readonly flash: FlashModel | null;
  /** MISO level with nothing driving it: empty socket reads FFh (pull-up) or 00h. */
  readonly floatingLevel: number;
  spiHz: number;
  pinsEnabled = true;
  /** Bytes dropped because the receive buffer overflowed (uart variant). */
  overruns = 0;
  /** Commands executed, by opcode, for tests. */
  readonly commandCounts = new Map<number, number>();

  private port: DevicePort | null = null;
  private frame: number[] = [];
  private need = 1;
  private deviceFree = 0;
  /** Until when the firmware is blocked pushing a reply out, not reading its input. */
  private stallUntil = 0;
  private heldDuringStall = 0;
  private lastArrival = -Infinity;
  private readonly byteMs: number;

  constructor(
    private readonly clock: Clock,
    variant: ProgrammerVariant,
    flash: FlashModel | null,
    floatingLevel = 0xff,
  ) {
    this.variant = variant;
    this.flash = flash;
    this.floatingLevel = floatingLevel;
    this.spiHz = variant.spiDefaultHz;
    this.byteMs = frameMs({ ...FORMAT_8N1, baudRate: variant.baudRate });
  }

  get baudRate(): number {
    return this.variant.baudRate;
  }

  /** A USB CDC programmer (pico-serprog) ignores the rate the host sets; a UART one does not. */
  get anyBaud(): boolean {
    return this.variant.id === 'pico-serprog';
  }

  memory(name: string): Uint8Array {
    if (name !== 'flash') throw new FlashError('unsupported', `No memory called ${name}.`);
    return this.flash?.memory ?? new Uint8Array(0);
  }

  attach(port: DevicePort): void {
    this.port = port;
    void this.run(port);
  }

  /** A host opening the port: a USB CDC device does not reset, but a half-received command is void. */
  reset(): void {
    this.frame = [];
    this.need = 1;
  }

  private async run(port: DevicePort): Promise<void> {
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = await port.read(1024, { timeoutMs: 3_600_000 });
      } catch (err) {
        if (err instanceof FlashError && err.code === 'timeout') continue;
        return; // closed
      }
      if (this.port !== port) return;
      const now = this.clock.now();
      for (let i = 0; i < chunk.length; i++) {
        // Byte i of the chunk arrived (n-1-i) byte times before the last one, and never sooner than one
        // byte time after the byte before it: a late wake-up must not squeeze a stream together.
        const arrival = Math.max(this.lastArrival + this.byteMs, now - (chunk.length - 1 - i) * this.byteMs);
        this.lastArrival = arrival;
        if (!this.accept(arrival)) continue;
        this.feed(chunk[i]!, arrival);
      }
    }
  }

  /** Receive-buffer model: while the firmware is stalled, at most rxBuffer bytes wait; the rest are lost. */
  private accept(arrival: number): boolean {
    if (this.variant.rxBuffer === Infinity) return true;
    if (arrival >= this.stallUntil) {
      this.heldDuringStall = 0;
      return true;
    }
    if (this.heldDuringStall >= this.variant.rxBuffer) {
      this.overruns++;
      return false;
    }
    this.heldDuringStall++;
    return true;
  }

  private feed(byte: number, arrival: number): void {
    this.frame.push(byte);
    if (this.frame.length === 1) {
      const params = PARAM_LENGTH[byte];
      this.need = 1 + (this.supports(byte) ? (params ?? 0) : 0);
    }
    // O_SPIOP and O_WRITEN carry a payload whose u24 length is their first parameter.
    if (this.frame.length === 7 && this.need === 7 && (this.frame[0] === S_CMD.O_SPIOP || this.frame[0] === S_CMD.O_WRITEN)) {
      this.need = 7 + readU24(this.frame, 1);
    }
    if (this.frame.length < this.need) return;
    const cmd = Uint8Array.from(this.frame);
    this.frame = [];
    this.need = 1;
    this.execute(cmd, arrival);
  }

  private supports(cmd: number): boolean {
    return this.variant.commands.includes(cmd as never);
  }

  private execute(cmd: Uint8Array, arrival: number): void {
    const op = cmd[0]!;
    this.commandCounts.set(op, (this.commandCounts.get(op) ?? 0) + 1);
    const start = Math.max(arrival, this.deviceFree);
    const v = this.variant;
    let reply: number[];
    let ready = start + v.opOverheadMs;
    if (!this.supports(op)) {
      reply = [S_NAK];
    } else {
      switch (op) {
        case S_CMD.NOP:
        case S_CMD.O_INIT:
        case S_CMD.O_EXEC:
        case S_CMD.O_WRITEB:
        case S_CMD.O_DELAY:
        case S_CMD.O_WRITEN:
          reply = [S_ACK];
          break;
        case S_CMD.Q_IFACE:
          reply = [S_ACK, 1, 0];
          break;
        case S_CMD.Q_CMDMAP:
          reply = [S_ACK, ...commandMap(v.commands)];
          break;
        case S_CMD.Q_PGMNAME:
          reply = [S_ACK, ...Array.from({ length: 16 }, (_, i) => v.name.charCodeAt(i) || 0)];
          break;
        case S_CMD.Q_SERBUF:
          reply = [S_ACK, v.serbuf & 0xff, v.serbuf >> 8];
          break;
        case S_CMD.Q_BUSTYPE:
          reply = [S_ACK, v.busTypes];
          break;
        case S_CMD.Q_OPBUF:
          reply = [S_ACK, 0, 1];
          break;
        case S_CMD.Q_WRNMAXLEN:
          reply = [S_ACK, ...u24(v.writeMax ?? 0)];
          break;
        case S_CMD.Q_RDNMAXLEN:
          reply = [S_ACK, ...u24(v.readMax ?? 0)];
          break;
        case S_CMD.SYNCNOP:
          reply = [S_NAK, S_ACK];
          break;
        case S_CMD.S_BUSTYPE:
          reply = [(cmd[1]! & ~v.busTypes) === 0 ? S_ACK : S_NAK];
          break;
        case S_CMD.R_BYTE:
          reply = [S_ACK, 0xff];
          break;
        case S_CMD.R_NBYTES:
          reply = [S_ACK, ...new Array<number>(readU24(cmd, 4)).fill(0xff)];
          break;
        case S_CMD.S_SPI_FREQ: {
          const hz = readU32(cmd, 1);
          if (hz === 0) reply = [S_NAK];
          else {
            this.spiHz = Math.min(hz, v.spiMaxHz);
            reply = [S_ACK, ...u24(this.spiHz), (this.spiHz >>> 24) & 0xff];
          }
          break;
        }
        case S_CMD.S_PIN_STATE:
          this.pinsEnabled = cmd[1] !== 0;
          reply = [S_ACK];
          break;
        case S_CMD.S_SPI_CS:
          reply = [cmd[1] === 0 ? S_ACK : S_NAK];
          break;
        case S_CMD.O_SPIOP:
          ({ reply, ready } = this.spiOp(cmd, arrival, start));
          break;
        default:
          reply = [S_NAK];
      }
    }
    this.deviceFree = ready;
    this.send(Uint8Array.from(reply), ready);
  }

  /**
   * O_SPIOP. The firmware clocks the write phase out as the bytes come in (so it ends one SPI
   * byte after the last one arrived, or later if SPI is the slower side), sends ACK, then clocks
   * the read phase and streams it back.
   */
  private spiOp(cmd: Uint8Array, arrival: number, start: number): { reply: number[]; ready: number } {
    const writeLength = readU24(cmd, 1);
    const readLength = readU24(cmd, 4);
    const v = this.variant;
    if ((v.writeMax && writeLength > v.writeMax) || (v.readMax && readLength > v.readMax)) {
      return { reply: [S_NAK], ready: start + v.opOverheadMs };
    }
    const spiByteMs = 8000 / this.spiHz;
    // The payload streams to SPI as it arrives: clocking can start with its first byte.
    const payloadStart = Math.max(arrival - (writeLength - 1) * this.byteMs, this.deviceFree);
    const writeEnd = Math.max(arrival + spiByteMs, payloadStart + writeLength * spiByteMs) + v.opOverheadMs;
    const csLow = writeEnd - writeLength * spiByteMs;
    const readEnd = writeEnd + readLength * spiByteMs;
    let data: Uint8Array;
    if (!this.flash || !this.pinsEnabled) data = new Uint8Array(readLength).fill(this.pinsEnabled ? this.floatingLevel : 0xff);
    else data = this.flash.transfer(cmd.subarray(7), readLength, csLow, spiByteMs);
    const reply = new Array<number>(1 + readLength);
    reply[0] = S_ACK;
    for (let i = 0; i < readLength; i++) reply[i + 1] = data[i]!;
    // The last data byte cannot leave before SPI clocked it in.
    const sendFrom = Math.max(writeEnd, readEnd - readLength * this.byteMs);
    return { reply, ready: Math.max(readEnd, sendFrom) };
  }

  private send(reply: Uint8Array, at: number): void {
    const v = this.variant;
    this.port?.sendAt(reply, at);
    if (reply.length > v.txBuffer) {
      // The firmware blocks in its write() until all but txBuffer bytes are on the line.
      const stall = at + (reply.length - v.txBuffer) * this.byteMs;
      this.stallUntil = Math.max(this.stallUntil, stall);
      this.deviceFree = Math.max(this.deviceFree, stall);
    }
  }
}

/**
 * `targetId`: `CHIP[+option...]` (default W25Q16). CHIP `none` is an empty socket. Options:
 * `protected` (BP bits set), `wp` (BP bits and SRP0 set, WP# held low), `nosfdp`, `unknown` (an ID
 * that is in no table, SFDP still answers), `dp` (part in deep power-down), `low` (an empty socket
 * reads 00h instead of FFh). `variant`: a key of PROGRAMMERS (default pico-serprog).
 */
export function createSimulator(opts: SimulatorOptions): SerprogSimulator {
  const variant = PROGRAMMERS[opts.variant ?? 'pico-serprog'];
  if (!variant) {
    throw new FlashError('unsupported', `Unknown serprog programmer "${opts.variant}" (try: ${Object.keys(PROGRAMMERS).join(', ')}).`);
  }
  const target = parseTarget(opts.targetId ?? 'W25Q16');
  const name = target.chip ?? 'W25Q16';
  if (name.toLowerCase() === 'none') return new SerprogSimulator(opts.clock, variant, null, target.options.has('low') ? 0x00 : 0xff);
  const chip: SpiNorChip | undefined = findSpiNorChip(name);
  if (!chip) throw new FlashError('not-found', `Unknown SPI flash part "${name}".`);
  const o = target.options;
  const model: FlashModelOptions = {
    protected: o.has('protected'),
    wpLocked: o.has('wp'),
    noSfdp: o.has('nosfdp'),
    deepPowerDown: o.has('dp'),
  };
  // An ID no table has: manufacturer 0xAB (unassigned in bank 1) with the part's own capacity byte.
  if (o.has('unknown')) model.jedecId = 0xab4000 | (chip.jedecId & 0xff);
  return new SerprogSimulator(opts.clock, variant, new FlashModel(chip, model));
}

