/*
 * Builds an Espressif image field by field from the format description (not with any writer under
 * test): the "Try it" ESP sample (worker/samples.ts) and the tests' fixtures.
 */

/** An Espressif image: 24-byte header (8 for the ESP8266), segments, XOR checksum, optional SHA-256. */
export function buildEspImage(opts: {
  chipId?: number | null; // null: ESP8266 layout without the extended header
  entry?: number;
  segments: { address: number; data: Uint8Array }[];
  sha256?: (bytes: Uint8Array) => Uint8Array;
}): Uint8Array {
  const extended = opts.chipId !== null;
  const header = extended ? 24 : 8;
  let end = header + opts.segments.reduce((t, s) => t + 8 + s.data.length, 0);
  const checksumAt = end | 0xf;
  end = checksumAt + 1 + (opts.sha256 ? 32 : 0);
  const out = new Uint8Array(end);
  const v = new DataView(out.buffer);
  out[0] = 0xe9;
  out[1] = opts.segments.length;
  out[2] = 2; // DIO
  out[3] = 0x20; // 4 MB, 40 MHz
  v.setUint32(4, opts.entry ?? 0x40080000, true);
  if (extended) {
    out[8] = 0xee;
    v.setUint16(12, opts.chipId ?? 0, true);
    out[23] = opts.sha256 ? 1 : 0;
  }
  let at = header;
  let sum = 0xef;
  for (const s of opts.segments) {
    v.setUint32(at, s.address, true);
    v.setUint32(at + 4, s.data.length, true);
    out.set(s.data, at + 8);
    for (const b of s.data) sum ^= b;
    at += 8 + s.data.length;
  }
  out[checksumAt] = sum;
  if (opts.sha256) out.set(opts.sha256(out.subarray(0, checksumAt + 1)), checksumAt + 1);
  return out;
}
