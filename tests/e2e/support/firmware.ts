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
  const data = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x >>> 24;
  }
  const lines: string[] = [];
  const record = (bytes: number[]) => {
    const sum = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
    lines.push(':' + [...bytes, sum].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(''));
  };
  for (let at = 0; at < size; at += 16) {
    // Type 04 (extended linear address) at every 64 KiB boundary, as linkers write it.
    if (at > 0 && at % 0x10000 === 0) record([2, 0, 0, 4, (at >>> 24) & 0xff, (at >>> 16) & 0xff]);
    const chunk = data.subarray(at, Math.min(size, at + 16));
    record([chunk.length, (at >> 8) & 0xff, at & 0xff, 0, ...chunk]);
  }
  lines.push(':00000001FF');
  const text = lines.join('\r\n') + '\r\n';
  const path = join(mkdtempSync(join(tmpdir(), 'webprog-fw-')), name);
  writeFileSync(path, text);
  return { path, name, sha256: createHash('sha256').update(text).digest('hex') };
}
