/** Lower-case hex of a byte string, the way sha256sum and md5sum print digests. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return s;
}

/** Parses an even-length hex string ('0a1B…', spaces allowed) into bytes. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new RangeError(`not a hex byte string: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** An unsigned 32-bit number as 8 lower-case hex digits. */
export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
