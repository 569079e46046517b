import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import type { ByteStream } from './byte-stream';
import type { AbortSignalLike, Clock } from './clock';

/** mulberry32: tiny, seedable, good enough to make fault runs reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Wraps the host end of a link with reproducible line faults: bit flips, dropped and duplicated
 * bytes (in both directions, or one: `direction`), stalls before reads, and a disconnect after N bytes in total.
 * The same seed gives the same faults for the same traffic.
 */
export function withFaults(inner: ByteStream, spec: FaultSpec, clock: Clock): ByteStream {
  const random = seededRandom(spec.seed);
  let bytesSeen = 0;
  /** A duplicated byte can make a chunk longer than the reader asked for: the rest waits here. */
  let carry: Uint8Array = new Uint8Array(0);
  let disconnected = false;

  const disconnectIfDue = async () => {
    if (spec.disconnectAfterBytes !== undefined && bytesSeen >= spec.disconnectAfterBytes && !disconnected) {
      disconnected = true;
      await inner.close();
    }
    if (disconnected) throw new FlashError('device-lost', 'The device disconnected.');
  };

  const toDevice = spec.direction !== 'to-host';
  const toHost = spec.direction !== 'to-device';
  const mangle = (data: Uint8Array): Uint8Array => {
    const out: number[] = [];
    for (let byte of data) {
      if (spec.dropRate && random() < spec.dropRate) continue;
      if (spec.bitFlipRate && random() < spec.bitFlipRate) byte ^= 1 << Math.floor(random() * 8);
      out.push(byte);
      if (spec.duplicateRate && random() < spec.duplicateRate) out.push(byte);
    }
    return Uint8Array.from(out);
  };

  return {
    async write(data) {
      await disconnectIfDue();
      const limit = spec.disconnectAfterBytes;
      if (limit !== undefined && bytesSeen + data.length > limit) {
        // The cable goes mid-frame: the first part leaves, the rest never does.
        const part = data.subarray(0, limit - bytesSeen);
        bytesSeen = limit;
        await inner.write(toDevice ? mangle(part) : part);
        await disconnectIfDue();
      }
      bytesSeen += data.length;
      await inner.write(toDevice ? mangle(data) : data);
    },
    async read(max, opts) {
      await disconnectIfDue();
      if (carry.length === 0) {
        if (spec.stallRate && random() < spec.stallRate) await clock.sleep(spec.stallMs ?? 200, opts.signal);
        // Every byte of a chunk may be dropped: keep waiting, as a UART would.
        while (carry.length === 0) {
          const chunk = await inner.read(max, opts);
          carry = toHost ? mangle(chunk) : chunk;
          bytesSeen += carry.length;
        }
      }
      const out = carry.subarray(0, max);
      carry = carry.subarray(out.length);
      return out;
    },
    setSignals: (s) => inner.setSignals(s),
    setBaud: (b) => inner.setBaud(b),
    close: () => inner.close(),
    closed: inner.closed,
  };
}

/**
 * The fault schedule of a transfer-based link (USB, HID, drive): whether a transfer of `n` bytes is
 * hit by line noise (the link's CRC turns a flipped, dropped or doubled byte into a failed transfer),
 * a stall before it, and the cable pulled once `disconnectAfterBytes` have moved (`unplug`, then a throw
 * of `lost()`). One seeded sequence per link, so a seed replays the same run.
 */
export function transferFaults(spec: FaultSpec, clock: Clock, unplug: () => Promise<void> | void, lost: () => FlashError) {
  const random = seededRandom(spec.seed);
  const perByte = (spec.bitFlipRate ?? 0) + (spec.dropRate ?? 0) + (spec.duplicateRate ?? 0);
  let bytes = 0;
  return {
    /** Whether noise hits a transfer of `n` data bytes (plus about 8 bytes of packet overhead). */
    hit: (n: number) => perByte > 0 && random() < 1 - Math.pow(1 - perByte, n + 8),
    async account(n: number): Promise<void> {
      bytes += n;
      if (spec.disconnectAfterBytes !== undefined && bytes >= spec.disconnectAfterBytes) {
        await unplug();
        throw lost();
      }
    },
    async stall(signal?: AbortSignalLike): Promise<void> {
      if (spec.stallRate && random() < spec.stallRate) await clock.sleep(spec.stallMs ?? 200, signal);
    },
  };
}
