import { verifyAsync } from '@noble/ed25519';
import { FlashError } from '../../shared/errors';

/*
 * Manifest signatures: Ed25519 (RFC 8032) over the manifest's canonical JSON without its "signature"
 * member, so the signature travels inside the file it signs and any change to any field (a part's
 * SHA-256, an offset, the release notes) breaks it.
 *
 *   "signature": { "alg": "Ed25519", "value": "<base64 of the 64-byte signature>" }
 *
 * Canonical JSON (in the spirit of RFC 8785): object members sorted by key (UTF-16 code units), no
 * whitespace, strings and numbers as JSON.stringify writes them. The key that must have signed is
 * pinned by whoever links to the manifest (`?manifest=…&key=…`, the embed's `key` attribute, the
 * CLI's --pubkey): a signature by any other key is refused.
 */

export interface ManifestSignature {
  alg: 'Ed25519';
  /** base64 or base64url, 64 bytes once decoded. */
  value: string;
}

/** The bytes a signature covers: canonical JSON of the manifest object without "signature". */
export function signedBytes(manifest: Record<string, unknown>): Uint8Array {
  const { signature: _ignored, ...rest } = manifest;
  return utf8(canonicalJson(rest));
}

/** UTF-8 bytes of a string (core has no TextEncoder: lib ES2022 only). Lone surrogates become U+FFFD. */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new FlashError('bad-image', 'The manifest holds a number JSON cannot carry.');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Decodes base64 or base64url (padding optional); null when it is neither. */
export function fromBase64(text: string): Uint8Array | null {
  const clean = text.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) return null;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const c of clean) {
    acc = (acc << 6) | alphabet.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function toBase64Url(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let k = 0; k < chars; k++) out += alphabet[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}

/** A vendor's public key as given in a link or attribute: 32 bytes, base64url (or base64). */
export function parsePublicKey(text: string): Uint8Array {
  const key = fromBase64(text);
  if (!key || key.length !== 32) {
    throw new FlashError('bad-image', 'The vendor key in this link is not a valid Ed25519 public key.', {
      hint: 'Ask the vendor for the install link again; nothing was written.',
    });
  }
  return key;
}

interface SubtleEd25519 {
  importKey(format: 'raw', key: Uint8Array, alg: { name: 'Ed25519' }, extractable: false, usages: ['verify']): Promise<unknown>;
  verify(alg: { name: 'Ed25519' }, key: unknown, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
}

/** Which implementation checked the last signature: the platform's WebCrypto, or @noble/ed25519. */
export let lastVerifier: 'webcrypto' | 'noble' | null = null;

/**
 * Ed25519 verification: WebCrypto where the platform has Ed25519 (Chrome 137+, Firefox 129+, Safari
 * 17+, Node 18.4+), else @noble/ed25519 in its strict RFC 8032 mode (not ZIP-215), so both accept
 * exactly the same signatures.
 */
export async function verifyEd25519(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const subtle = (globalThis as { crypto?: { subtle?: SubtleEd25519 } }).crypto?.subtle;
  let key: unknown = null;
  try {
    key = subtle ? await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']) : null;
  } catch {
    key = null; // no Ed25519 in this WebCrypto (or a key it rejects): the library decides
  }
  if (subtle && key) {
    lastVerifier = 'webcrypto';
    return subtle.verify({ name: 'Ed25519' }, key, signature, message);
  }
  lastVerifier = 'noble';
  try {
    return await verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Checks the manifest's signature against the pinned key; throws one calm 'bad-signature' sentence
 * when it is missing or does not verify. `raw` is the manifest as parsed JSON.
 */
export async function checkManifestSignature(raw: unknown, publicKey: Uint8Array): Promise<void> {
  const refuse = (message: string) => new FlashError('bad-signature', message, { hint: 'Do not install it: ask the vendor for a fresh download link. Nothing was written.' });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw refuse('This manifest is not signed by the vendor.');
  const sig = (raw as { signature?: unknown }).signature as Partial<ManifestSignature> | undefined;
  if (!sig || typeof sig !== 'object') throw refuse('This manifest is not signed by the vendor, but the link requires a signature.');
  if (sig.alg !== 'Ed25519' || typeof sig.value !== 'string') throw refuse('This manifest is signed in a way webprog does not check (only Ed25519).');
  const signature = fromBase64(sig.value);
  if (!signature || !(await verifyEd25519(publicKey, signature, signedBytes(raw as Record<string, unknown>)))) {
    throw refuse('The vendor signature on this manifest does not match: it was changed after signing, or signed by someone else.');
  }
}
