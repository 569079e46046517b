/**
 * SLIP framing (RFC 1055) as the Espressif ROM loader and flasher stub use it: every packet is wrapped
 * in END bytes, END and ESC inside are escaped. Lengths in packet headers count unescaped bytes.
 */
export const SLIP = {
  END: 0xc0,
  ESC: 0xdb,
  ESC_END: 0xdc,
  ESC_ESC: 0xdd,
} as const;

/** One packet as it goes on the wire: END, escaped payload, END. */
export function slipEncode(payload: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of payload) if (b === SLIP.END || b === SLIP.ESC) extra++;
  const out = new Uint8Array(payload.length + extra + 2);
  let at = 0;
  out[at++] = SLIP.END;
  for (const b of payload) {
    if (b === SLIP.END) {
      out[at++] = SLIP.ESC;
      out[at++] = SLIP.ESC_END;
    } else if (b === SLIP.ESC) {
      out[at++] = SLIP.ESC;
      out[at++] = SLIP.ESC_ESC;
    } else {
      out[at++] = b;
    }
  }
  out[at] = SLIP.END;
  return out;
}

/** What the decoder hands out: a whole packet, or text seen between packets (boot log, app output). */
export type SlipEvent =
  | { kind: 'packet'; data: Uint8Array; /** Index of the closing END in the pushed chunk. */ end: number; /** Bytes on the wire, both ENDs included. */ wireLength: number }
  | { kind: 'noise'; data: Uint8Array };

/**
 * Streaming decoder. Invariants:
 * - a packet is emitted only if it was closed by END and every escape in it was valid;
 * - an invalid escape drops the packet being assembled (a corrupted frame never becomes a packet);
 * - bytes outside packets are reported as noise, so the caller can look for "boot:0x.." messages;
 * - consecutive END bytes (empty packets) are ignored, as both ends send END to start and to finish.
 */
export class SlipDecoder {
  private buf = new Uint8Array(256);
  private len = 0;
  private inFrame = false;
  private escaping = false;
  private broken = false;
  private noise: number[] = [];
  private wireLength = 0;

  /** Feeds received bytes; returns the packets (and noise runs) they completed, in order. */
  push(bytes: Uint8Array): SlipEvent[] {
    const events: SlipEvent[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      this.wireLength++;
      if (!this.inFrame) {
        if (b === SLIP.END) {
          this.flushNoise(events);
          this.startFrame();
        } else {
          this.noise.push(b);
        }
        continue;
      }
      if (b === SLIP.END) {
        if (this.len > 0 && !this.broken && !this.escaping) {
          events.push({ kind: 'packet', data: this.buf.slice(0, this.len), end: i, wireLength: this.wireLength });
        }
        // An END both closes a packet and may open the next one: stay in frame with an empty buffer.
        this.startFrame();
        continue;
      }
      if (this.escaping) {
        this.escaping = false;
        if (b === SLIP.ESC_END) this.append(SLIP.END);
        else if (b === SLIP.ESC_ESC) this.append(SLIP.ESC);
        else this.broken = true;
      } else if (b === SLIP.ESC) {
        this.escaping = true;
      } else {
        this.append(b);
      }
    }
    // Noise is reported once the line has it, so a boot message is visible without a closing END.
    this.flushNoise(events);
    return events;
  }

  /** Forgets any half-received packet (after a reset or a baud change). */
  reset(): void {
    this.inFrame = false;
    this.len = 0;
    this.escaping = false;
    this.broken = false;
    this.noise = [];
  }

  private startFrame(): void {
    this.inFrame = true;
    this.wireLength = 1;
    this.len = 0;
    this.escaping = false;
    this.broken = false;
  }

  private append(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }

  private flushNoise(events: SlipEvent[]): void {
    if (this.noise.length === 0) return;
    events.push({ kind: 'noise', data: Uint8Array.from(this.noise) });
    this.noise = [];
  }
}
