/** A streaming hash: feed bytes, then take the digest once. */
export interface StreamingHash<T> {
  update(bytes: Uint8Array): T;
  /** The digest. Ends the stream: further updates throw. */
  digest(): Uint8Array;
}

/**
 * The 64-byte-block framing MD5 and SHA-256 share (Merkle–Damgård): buffer partial blocks, then pad
 * with 0x80, zeros and the message length in bits as 64 bits, in the hash's own byte order.
 */
export function blockHash<T extends StreamingHash<T>>(
  name: string,
  compress: (src: Uint8Array, at: number) => void,
  lengthLittleEndian: boolean,
  output: () => Uint8Array,
): T {
  const block = new Uint8Array(64);
  let blockLen = 0;
  let total = 0; // bytes hashed so far; exact up to 2^53
  let finished = false;
  const self = {
    update(bytes: Uint8Array) {
      if (finished) throw new Error(`${name}: update after digest`);
      total += bytes.length;
      let i = 0;
      if (blockLen > 0) {
        const take = Math.min(64 - blockLen, bytes.length);
        block.set(bytes.subarray(0, take), blockLen);
        blockLen += take;
        i = take;
        if (blockLen < 64) return self as unknown as T;
        compress(block, 0);
        blockLen = 0;
      }
      for (; i + 64 <= bytes.length; i += 64) compress(bytes, i);
      block.set(bytes.subarray(i), 0);
      blockLen = bytes.length - i;
      return self as unknown as T;
    },
    digest() {
      if (!finished) {
        const bits = total * 8;
        block[blockLen++] = 0x80;
        if (blockLen > 56) {
          block.fill(0, blockLen);
          compress(block, 0);
          blockLen = 0;
        }
        block.fill(0, blockLen, 56);
        const lo = bits >>> 0;
        const hi = Math.floor(bits / 0x1_0000_0000);
        for (let k = 0; k < 4; k++) {
          if (lengthLittleEndian) {
            block[56 + k] = (lo >>> (8 * k)) & 0xff;
            block[60 + k] = (hi >>> (8 * k)) & 0xff;
          } else {
            block[56 + k] = (hi >>> (24 - 8 * k)) & 0xff;
            block[60 + k] = (lo >>> (24 - 8 * k)) & 0xff;
          }
        }
        compress(block, 0);
        finished = true;
      }
      return output();
    },
  };
  return self as unknown as T;
}
