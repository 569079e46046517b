/**
 * Additive and XOR checksums that firmware formats and bootloaders use:
 * sum8/sum16 (modular byte sums), xor8 (STK500v2 frames; Espressif image checksum, seeded 0xEF).
 */

export interface Checksum {
  update(bytes: Uint8Array): Checksum;
  digest(): number;
}

function accumulator(step: (acc: number, bytes: Uint8Array) => number, init: number): Checksum {
  let acc = init;
  const self: Checksum = {
    update(bytes) {
      acc = step(acc, bytes);
      return self;
    },
    digest: () => acc,
  };
  return self;
}

/** Streaming sum of bytes modulo 256. */
export function createSum8(init = 0): Checksum {
  return accumulator((acc, b) => {
    for (let i = 0; i < b.length; i++) acc += b[i]!;
    return acc & 0xff;
  }, init & 0xff);
}

/** Streaming sum of bytes modulo 65536 (what many vendor tools print as "checksum"). */
export function createSum16(init = 0): Checksum {
  return accumulator((acc, b) => {
    for (let i = 0; i < b.length; i++) acc += b[i]!;
    return acc & 0xffff;
  }, init & 0xffff);
}

/** Streaming XOR of bytes. */
export function createXor8(init = 0): Checksum {
  return accumulator((acc, b) => {
    for (let i = 0; i < b.length; i++) acc ^= b[i]!;
    return acc;
  }, init & 0xff);
}

export const sum8 = (bytes: Uint8Array, init = 0): number => createSum8(init).update(bytes).digest();
export const sum16 = (bytes: Uint8Array, init = 0): number => createSum16(init).update(bytes).digest();
export const xor8 = (bytes: Uint8Array, init = 0): number => createXor8(init).update(bytes).digest();
