/**
 * The flasher stub images, loaded on demand: each chip's JSON is its own chunk, so a page that flashes
 * an ESP32-C3 never downloads the other eleven. Provenance and licence: ./stubs/README.md.
 */
export interface StubImage {
  name: string;
  text: Uint8Array;
  textStart: number;
  data: Uint8Array;
  dataStart: number;
  entry: number;
}

interface StubJson {
  entry: number;
  text: string;
  text_start: number;
  data?: string;
  data_start?: number;
}

const cache = new Map<string, Promise<StubImage>>();

/** The stub for `name` (a file in ./stubs without .json), decoded once per session. */
export function loadStub(name: string): Promise<StubImage> {
  let p = cache.get(name);
  if (!p) {
    p = import(`./stubs/${name}.json`).then((m: { default: StubJson }) => {
      const j = m.default;
      return {
        name,
        text: base64ToBytes(j.text),
        textStart: j.text_start,
        data: base64ToBytes(j.data ?? ''),
        dataStart: j.data_start ?? 0,
        entry: j.entry,
      };
    });
    cache.set(name, p);
  }
  return p;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** RFC 4648 base64 (core has no atob: no DOM or Node types there). */
export function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = LOOKUP[clean.charCodeAt(i)] ?? -1;
    if (v < 0) throw new Error(`invalid base64 character at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, at);
}
