import type { ByteStream } from '../../core/io/byte-stream';
import type { AbortSignalLike, Clock } from '../../core/io/clock';
import { FORMAT_8N1, frameMs } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import { commandName, decodeResponse, encodeRequest, RomError, StubError, type Response } from './protocol';
import { SlipDecoder, slipEncode } from './slip';

/** Margin on every reply for USB-serial latency and OS scheduling (as the STK500 driver uses). */
export const REPLY_MARGIN_MS = 250;

const ERROR_NAMES: Record<number, string> = Object.fromEntries([
  ...Object.entries(RomError).map(([k, v]) => [v, k]),
  ...Object.entries(StubError).map(([k, v]) => [v, k]),
]);

export interface CommandOptions {
  checksum?: number;
  /** Result bytes before the status bytes (MD5: 16 from the stub, 32 from the ROM; security info: 20). */
  resultLength?: number;
  /** Device time to allow on top of the line time and the margin. */
  deviceMs?: number;
  /** Send once more when the answer is lost or damaged (default: yes; not for commands with side effects). */
  retry?: boolean;
}

/**
 * The SLIP command channel to an ESP loader: frames out, responses in, boot text kept for diagnosis.
 * Responses are matched by command byte; anything else on the line (stale answers, the app's output,
 * a frame damaged by noise) is skipped, never taken for an answer.
 */
export class EspLink {
  baud: number;
  /** Status bytes the current loader appends (4 for ESP32+ ROMs, 2 for the stub and the ESP8266 ROM). */
  private decoder = new SlipDecoder();
  private queue: Uint8Array[] = [];
  /** Text seen outside packets since the last `takeText()` (boot banner, application output). */
  private text = '';

  constructor(
    private readonly stream: ByteStream,
    private readonly clock: Clock,
    private readonly signal: AbortSignalLike,
    baud: number,
  ) {
    this.baud = baud;
  }

  /** Milliseconds `bytes` occupy the line at the current rate. */
  lineMs(bytes: number): number {
    return bytes * frameMs({ ...FORMAT_8N1, baudRate: this.baud });
  }

  async setBaud(baud: number): Promise<void> {
    this.baud = baud;
    await this.stream.setBaud(baud);
    this.decoder.reset();
    this.queue = [];
  }

  /** Sends one SLIP frame; returns its length on the wire. */
  async sendFrame(packet: Uint8Array): Promise<number> {
    const framed = slipEncode(packet);
    await this.stream.write(framed);
    return framed.length;
  }

  /** Next complete packet, or FlashError 'timeout' at `deadline` (clock ms). */
  async packet(deadline: number): Promise<Uint8Array> {
    while (this.queue.length === 0) {
      const left = deadline - this.clock.now();
      if (left <= 0) throw new FlashError('timeout', 'The ESP loader stopped answering.');
      const chunk = await this.stream.read(4096, { timeoutMs: left, signal: this.signal });
      for (const ev of this.decoder.push(chunk)) {
        if (ev.kind === 'packet') this.queue.push(ev.data);
        else this.text = (this.text + String.fromCharCode(...ev.data)).slice(-4096);
      }
    }
    return this.queue.shift()!;
  }

  /** The next response to `command`, skipping everything else; 'unsupported' for the ROM's invalid-message answer. */
  async response(command: number, deadline: number): Promise<Response> {
    for (;;) {
      const r = decodeResponse(await this.packet(deadline));
      if (!r) continue;
      if (r.command === command) return r;
      // The ROM answers a command it lacks with status 1, error 0x05, under another command byte.
      if (r.data.length >= 2 && r.data[0] === 1 && r.data[1] === RomError.INVALID_MESSAGE) {
        throw new FlashError('unsupported', `The ESP loader does not know ${commandName(command)}.`, { details: { command } });
      }
    }
  }

  /** Sends a command and waits for its response, checking the status bytes. */
  async command(command: number, data: Uint8Array = new Uint8Array(0), opts: CommandOptions = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        const sent = await this.sendFrame(encodeRequest(command, data, opts.checksum ?? 0));
        const resultLength = opts.resultLength ?? 0;
        const deadline = this.clock.now() + this.lineMs(sent + 2 * (resultLength + 16)) + (opts.deviceMs ?? 0) + REPLY_MARGIN_MS;
        const r = await this.response(command, deadline);
        checkStatus(r, resultLength);
        return r;
      } catch (err) {
        const lineFault = isFlashError(err, 'timeout') || isFlashError(err, 'protocol') || isFlashError(err, 'bad-checksum');
        if (!lineFault || opts.retry === false || attempt >= 1) throw err;
        await this.drain(20);
      }
    }
  }

  /** Discards input until the line is quiet for `quietMs`. */
  async drain(quietMs: number): Promise<void> {
    this.queue = [];
    for (;;) {
      try {
        const chunk = await this.stream.read(4096, { timeoutMs: quietMs, signal: this.signal });
        for (const ev of this.decoder.push(chunk)) {
          if (ev.kind === 'noise') this.text = (this.text + String.fromCharCode(...ev.data)).slice(-4096);
        }
      } catch (err) {
        if (isFlashError(err, 'timeout')) break;
        throw err;
      }
    }
    this.queue = [];
  }

  /** Text received outside packets since the last call. */
  takeText(): string {
    const t = this.text;
    this.text = '';
    return t;
  }

  forgetInput(): void {
    this.decoder.reset();
    this.queue = [];
  }
}

/** Status bytes follow the result: 0 = success, else the second byte says why. */
export function checkStatus(r: Response, resultLength: number): void {
  if (r.data.length < resultLength + 2) {
    throw new FlashError('protocol', `The answer to ${commandName(r.command)} is ${r.data.length} bytes, too short.`, {
      details: { command: r.command, length: r.data.length },
    });
  }
  const status = r.data[resultLength]!;
  const error = r.data[resultLength + 1]!;
  if (status !== 0) {
    const name = ERROR_NAMES[error] ?? `0x${error.toString(16)}`;
    throw new FlashError(error === StubError.BAD_DATA_CHECKSUM || error === RomError.INVALID_CRC ? 'bad-checksum' : 'nak', `The ESP loader refused ${commandName(r.command)} (${name}).`, {
      details: { command: r.command, status, error },
    });
  }
}
