import { FlashError } from '../../shared/errors';

/** ASCII code points the text formats are built from. */
export const CH = {
  TAB: 0x09,
  LF: 0x0a,
  CR: 0x0d,
  SPACE: 0x20,
  COLON: 0x3a,
  S: 0x53,
  s: 0x73,
  /** DOS end-of-file padding that old tools leave after the last record. */
  SUB: 0x1a,
} as const;

/** Value of an ASCII hex digit, or -1. Indexed by byte so parsers never build strings. */
export const NIBBLE: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) t[0x41 + i] = t[0x61 + i] = 10 + i;
  return t;
})();

/** Upper-case ASCII hex digits, for writers. */
export const HEX_DIGIT = new Uint8Array([...'0123456789ABCDEF'].map((c) => c.charCodeAt(0)));

/** A byte as a reader sees it in an error message: the character if printable, else its code. */
export function showChar(c: number | undefined): string {
  if (c === undefined) return 'end of file';
  if (c >= 0x21 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** A rejected file, always located: `where` is 'line 12' for text, 'offset 0x200' for binary. */
export function badImage(
  format: string,
  where: string,
  message: string,
  details: Record<string, string | number | boolean> = {},
): FlashError {
  return new FlashError('bad-image', `${format} ${where}: ${message}`, { details: { format, where, ...details } });
}

/** An image a writer cannot represent (addresses past what the format can express, or too big to flatten). */
export function cannotWrite(format: string, message: string, details: Record<string, string | number | boolean> = {}): FlashError {
  return new FlashError('image-out-of-range', `${format}: ${message}`, {
    hint: 'Write another format, or only the memory you need (--memory).',
    details: { format, ...details },
  });
}

export function offsetText(offset: number): string {
  return `offset 0x${offset.toString(16).toUpperCase()}`;
}

/** Grows a byte buffer for writers; avoids string concatenation for multi-megabyte outputs. */
export class ByteWriter {
  #buf: Uint8Array;
  #len = 0;

  constructor(capacity = 1024) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Make room for `n` more bytes and return the buffer to write them into at `length`. */
  reserve(n: number): Uint8Array {
    if (this.#len + n > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    return this.#buf;
  }

  get length(): number {
    return this.#len;
  }

  advance(n: number): void {
    this.#len += n;
  }

  byte(b: number): void {
    this.reserve(1)[this.#len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length).set(b, this.#len);
    this.#len += b.length;
  }

  ascii(s: string): void {
    const buf = this.reserve(s.length);
    for (let i = 0; i < s.length; i++) buf[this.#len++] = s.charCodeAt(i) & 0x7f;
  }

  /** Two upper-case hex digits. */
  hex8(v: number): void {
    const buf = this.reserve(2);
    buf[this.#len++] = HEX_DIGIT[(v >>> 4) & 0xf]!;
    buf[this.#len++] = HEX_DIGIT[v & 0xf]!;
  }

  done(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
