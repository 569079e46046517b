import { bitsPerFrame, FORMAT_8N1 } from '../../core/io/uart-link';
import { FlashError, isFlashError } from '../../shared/errors';
import type { DriverContext } from '../types';
import { encodeFrame, FRAME_OVERHEAD, FrameParser, STATUS } from './protocol';

/** Margin on top of line time and device time for USB-serial latency and OS scheduling. */
const REPLY_MARGIN_MS = 250;

export interface CommandOptions {
  /** Time the device spends on the command after the frame arrived (page erase and write). */
  deviceMs?: number;
  /** Reply body length, for the line-time part of the timeout. */
  replyBody?: number;
  /** Status bytes besides CMD_OK that are a normal answer to this command. */
  accept?: number[];
  /** Timeout override, for sync attempts. */
  timeoutMs?: number;
}

/**
 * The STK500 v2 message layer of one session (AVR068 "Message format"): sequence numbers, framing,
 * XOR checksum, and matching each answer to its request by sequence number *and* command id, so a
 * late answer to an earlier attempt is never taken for the current one.
 *
 * The sequence number advances only after an answer, as avrdude's stk500v2_command does: bootloaders
 * without the fix for Arduino issue 505 accept only 1 or the number they expect next.
 */
export class Stk500v2Link {
  private seq = 1;
  private readonly parser = new FrameParser();
  baudRate = 115200;

  constructor(private readonly ctx: DriverContext) {}

  /** Starts a new session's numbering (AVR068: the host begins at 1 after a reset). */
  restart(): void {
    this.seq = 1;
    this.parser.reset();
  }

  /** Sends one command and returns the answer body (`cmd status …`); a status other than OK throws 'nak'. */
  async command(body: Uint8Array, opts: CommandOptions = {}): Promise<Uint8Array> {
    const { stream, clock, signal } = this.ctx;
    const cmd = body[0]!;
    this.parser.reset();
    await stream.write(encodeFrame(this.seq, body));
    const lineMs = (body.length + (opts.replyBody ?? 2) + 2 * FRAME_OVERHEAD) * this.frameMs();
    const deadline = clock.now() + (opts.timeoutMs ?? lineMs + (opts.deviceMs ?? 0) + REPLY_MARGIN_MS);
    for (;;) {
      const left = deadline - clock.now();
      if (left <= 0) throw this.noAnswer(cmd);
      let chunk: Uint8Array;
      try {
        chunk = await stream.read(4096, { timeoutMs: left, signal });
      } catch (err) {
        if (isFlashError(err, 'timeout')) throw this.noAnswer(cmd);
        throw err;
      }
      const { frames, badChecksums } = this.parser.push(chunk);
      const answer = frames.find((f) => f.seq === this.seq && f.body[0] === cmd && f.body.length >= 2);
      if (answer) {
        this.seq = (this.seq + 1) & 0xff;
        const status = answer.body[1]!;
        if (status !== STATUS.CMD_OK && !opts.accept?.includes(status)) throw refused(cmd, status);
        return answer.body;
      }
      if (badChecksums > 0) {
        throw new FlashError('bad-checksum', 'An answer from the bootloader arrived damaged (checksum error).', {
          details: { command: hex2(cmd) },
        });
      }
      // Anything else (an application's output, a stale answer) is skipped.
    }
  }

  /**
   * `command` with retries for commands that may safely run twice (everything but page writes): a
   * frame lost on the way in gets no answer at all, since the bootloader drops frames with a bad checksum.
   */
  async retrying(body: Uint8Array, opts: CommandOptions = {}, attempts = 3): Promise<Uint8Array> {
    for (let i = 1; ; i++) {
      try {
        return await this.command(body, opts);
      } catch (err) {
        if (i >= attempts || !(isFlashError(err, 'timeout') || isFlashError(err, 'bad-checksum'))) throw err;
        this.ctx.log('debug', `Retrying command 0x${hex2(body[0]!)}: ${(err as Error).message}`);
      }
    }
  }

  frameMs(): number {
    return (bitsPerFrame(FORMAT_8N1) * 1000) / this.baudRate;
  }

  private noAnswer(cmd: number): FlashError {
    return new FlashError('timeout', `The bootloader did not answer command 0x${hex2(cmd)}.`, {
      hint: 'Check the cable and the port; if it keeps happening, reset the board and flash again.',
      details: { command: hex2(cmd) },
    });
  }
}

function refused(cmd: number, status: number): FlashError {
  const name = Object.entries(STATUS).find(([, v]) => v === status)?.[0] ?? 'unknown status';
  return new FlashError('nak', `The bootloader refused command 0x${hex2(cmd)} (${name}, 0x${hex2(status)}).`, {
    hint: 'Reset the board and try again; if it persists, the bootloader may not support this operation.',
    details: { command: hex2(cmd), status: hex2(status) },
  });
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}
