import { createSha256 } from '../core/bytes/sha256';
import { toHex } from '../core/bytes/hex';

/** SHA-256 as hex: the platform's digest where there is one (fast, native), the pure one otherwise. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle) {
    try {
      return toHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
    } catch {
      // fall through to the pure implementation
    }
  }
  return toHex(createSha256().update(bytes).digest());
}
