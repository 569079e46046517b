import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes an Intel HEX file the way a compiler would (16 data bytes a record, an EOF record), with
 * `size` bytes of pseudo-random program at address 0. Written here, independently of the app's
 * own HEX writer, so the test does not check the parser against itself.
 */
export function writeHexFile(name: string, size: number, seed = 1): { path: string; name: string; sha256: string } {
  return writeHexSegments(name, [{ address: 0, data: randomBytes(size, seed) }]);
}

/** `size` pseudo-random bytes, the same for the same seed (the program writeHexFile puts in its file). */
export function randomBytes(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

/** Writes an Intel HEX file as writeHexFile does, with data at any addresses below 4 GiB. */
export function writeHexSegments(name: string, segments: { address: number; data: Uint8Array }[]): { path: string; name: string; sha256: string } {
  const lines: string[] = [];
  const record = (bytes: number[]) => {
    const sum = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
    lines.push(':' + [...bytes, sum].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(''));
  };
  let upper = 0;
  for (const { address, data } of segments) {
    let off = 0;
    while (off < data.length) {
      const at = address + off;
      // Type 04 (extended linear address) whenever the upper 16 bits change, as linkers write it.
      if (at >>> 16 !== upper) {
        upper = at >>> 16;
        record([2, 0, 0, 4, (upper >>> 8) & 0xff, upper & 0xff]);
      }
      // 16 bytes a record, and a record never crosses a 64 KiB boundary.
      const n = Math.min(16, data.length - off, 0x10000 - (at & 0xffff));
      record([n, (at >> 8) & 0xff, at & 0xff, 0, ...data.subarray(off, off + n)]);
      off += n;
    }
  }
  lines.push(':00000001FF');
  const text = lines.join('\r\n') + '\r\n';
  const path = join(mkdtempSync(join(tmpdir(), 'webprog-fw-')), name);
  writeFileSync(path, text);
  return { path, name, sha256: createHash('sha256').update(text).digest('hex') };
}
