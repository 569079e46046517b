import { FlashError, isFlashError } from '../../shared/errors';
import type { JobEvent, JobPhase } from '../../shared/events';
import type { JobOptions, JobReport } from '../../shared/model';
import type { AbortSignalLike, Clock } from '../io/clock';
import { concatBytes } from '../bytes/concat';
import { byteCount, hex, type FirmwareImage } from '../image/memory-image';
import { planBlocks, readGroups, validateImage, type Block } from '../plan/blocks';
import type { Driver, Identified } from './driver-api';
import { PhaseTracker } from './progress';
import { verifyReadBack, type VerifyLog } from './verify';

export interface JobRuntime {
  clock: Clock;
  signal: AbortSignalLike;
  emit: (event: JobEvent) => void;
  /** What the caller adds between identify and validate; see JobHooks. */
  hooks?: JobHooks;
}

/**
 * The caller's say once the device has answered, before anything is planned, erased or written:
 * the seam for what depends on the device (a recipe's expected ID, a manifest's build for the chip
 * that answered, a serial number reserved for this device) without touching the driver.
 */
export interface JobHooks {
  /** Refuses the identified device by throwing (e.g. 'wrong-target'); every job kind runs it. */
  accept?(identified: Identified): void | Promise<void>;
  /**
   * The image to write on this device, given the one the job was started with. Runs after `accept`
   * and before the driver's own `prepareImage` and validation, so whatever it returns is checked
   * against the device like any image.
   */
  prepare?(identified: Identified, image: FirmwareImage): FirmwareImage | Promise<FirmwareImage>;
}

/**
 * The one loop every driver shares: connect → identify → validate → erase → write → verify → finish.
 *
 * Invariants:
 * - nothing is erased or written before the device is identified, accepted (`hooks.accept`), its image
 *   prepared (`hooks.prepare`, then `driver.prepareImage`) and validated against it;
 * - cancellation is checked between blocks, never mid-frame;
 * - the job resolves only after every written byte was read back equal (unless verify is turned off,
 *   and then the report says `verified: false`);
 * - any failure rejects with a FlashError naming the phase (`error.phase`) and, for block errors, the
 *   address; events carry progress only, never the outcome.
 */
export async function runJob(driver: Driver, original: FirmwareImage, options: JobOptions, rt: JobRuntime): Promise<JobReport> {
  const verify = options.verify !== false;
  return session(driver, rt, async (tracker) => {
    if (options.skipUnchanged && options.erase) {
      throw new FlashError('invalid-argument', 'Erase and skip-unchanged cannot be combined: the erase would wipe the blocks that are skipped.', {
        hint: 'Choose one: skip-unchanged for quick re-flashing, or erase for a clean chip.',
      });
    }
    const identified = await connectAndIdentify(driver, tracker, rt);
    tracker.enter('validate');
    const image = await prepareFor(driver, identified, original, rt);
    if (byteCount(image) === 0) throw new FlashError('bad-image', 'The file contains no data to program.');
    validateImage(image, identified.memories, identified.device.name);
    let blocks = image.segments
      .map((s) => s.memory)
      .filter((m, i, all) => all.indexOf(m) === i)
      .flatMap((memory) => planBlocks(image, memory, driver.constraints(memory)));
    const planned = blocks.reduce((n, b) => n + b.data.length, 0);
    if (options.skipUnchanged) {
      if (!driver.readBlock && !driver.verifyBlock) throw new FlashError('unsupported', 'This programmer cannot read, so it cannot skip unchanged blocks.');
      tracker.plan([{ phase: 'read', bytes: planned }]);
      tracker.enter('read');
      blocks = await changedBlocks(driver, readGroups(blocks, maxRead(driver, blocks)), tracker);
    }
    const total = blocks.reduce((n, b) => n + b.data.length, 0);
    tracker.plan([
      { phase: 'write', bytes: total },
      ...(verify ? [{ phase: 'verify' as const, bytes: total, how: driver.verifyBlock ? ('device-digest' as const) : ('read-back' as const) }] : []),
    ]);

    if (options.erase && driver.erase) {
      tracker.enter('erase');
      await driver.erase();
    }
    tracker.enter('write');
    for (const block of blocks) {
      tracker.checkAbort();
      let acknowledged = 0;
      const progress = (bytes: number) => {
        const take = Math.min(bytes, block.data.length - acknowledged);
        acknowledged += take;
        tracker.advance(take);
      };
      await atBlock(block, 'writing', () => driver.writeBlock(block.memory, block.address, block.data, progress));
      tracker.advance(block.data.length - acknowledged);
    }
    if (verify) {
      if (!driver.readBlock && !driver.verifyBlock) throw new FlashError('unsupported', 'This programmer cannot read back, so it cannot verify.');
      tracker.enter('verify');
      const log: VerifyLog = (level, message) => rt.emit({ type: 'log', level, message });
      for (const group of readGroups(blocks, maxRead(driver, blocks))) {
        tracker.checkAbort();
        try {
          await atBlock(group, 'verifying', () => blockMatches(driver, group, true, log));
        } catch (err) {
          // The chip holds other bytes (read the same twice): a write the line garbled on its way in.
          // Write those blocks once more, where the driver's writes are self-contained, then verify again.
          if (!isFlashError(err, 'verify-mismatch') || err.details.verdict !== 'chip') throw err;
          log('warn', `${err.message} Writing ${hex(group.address)} again.`);
          for (const block of blocks.filter((b) => b.memory === group.memory && b.address < group.address + group.data.length && b.address + b.data.length > group.address)) {
            await atBlock(block, 'rewriting', () => driver.writeBlock(block.memory, block.address, block.data));
          }
          await atBlock(group, 'verifying', () => blockMatches(driver, group, true, log));
        }
        tracker.advance(group.data.length);
      }
    }
    tracker.enter('finish');
    await driver.close({ ok: true });
    const report: JobReport = {
      device: identified.device,
      bytesWritten: total,
      bytesVerified: verify ? total : 0,
      bytesSkipped: planned - total,
      ...(verify ? { verifiedBy: driver.verifyBlock ? ('device-digest' as const) : ('read-back' as const) } : {}),
      durationMs: tracker.elapsed(),
      phaseMs: tracker.phaseMs,
      verified: verify,
    };
    return report;
  });
}

/**
 * Compares the device with an image and writes nothing (avrdude -U flash:v, esptool verify-flash):
 * by device digest where the driver has one, else by reading back. A difference rejects with
 * 'verify-mismatch' naming the address.
 */
export async function runVerify(driver: Driver, original: FirmwareImage, rt: JobRuntime): Promise<JobReport> {
  return session(driver, rt, async (tracker) => {
    if (!driver.readBlock && !driver.verifyBlock) throw new FlashError('unsupported', 'This programmer cannot read back, so it cannot verify.');
    const identified = await connectAndIdentify(driver, tracker, rt);
    tracker.enter('validate');
    const image = await prepareFor(driver, identified, original, rt);
    if (byteCount(image) === 0) throw new FlashError('bad-image', 'The file contains no data to compare.');
    validateImage(image, identified.memories, identified.device.name);
    const memories = image.segments.map((s) => s.memory).filter((m, i, all) => all.indexOf(m) === i);
    const blocks = memories.flatMap((memory) => planBlocks(image, memory, driver.constraints(memory)));
    const total = blocks.reduce((n, b) => n + b.data.length, 0);
    tracker.plan([{ phase: 'verify', bytes: total, how: driver.verifyBlock ? 'device-digest' : 'read-back' }]);
    tracker.enter('verify');
    for (const block of readGroups(blocks, maxRead(driver, blocks))) {
      tracker.checkAbort();
      await atBlock(block, 'verifying', () => blockMatches(driver, block, true));
      tracker.advance(block.data.length);
    }
    tracker.enter('finish');
    await driver.close({ ok: true });
    return {
      device: identified.device,
      bytesWritten: 0,
      bytesVerified: total,
      bytesSkipped: 0,
      verifiedBy: driver.verifyBlock ? 'device-digest' : 'read-back',
      durationMs: tracker.elapsed(),
      phaseMs: tracker.phaseMs,
      verified: true,
    };
  });
}

/** Connects and identifies, nothing else: what a probe reports. */
export async function runProbe(driver: Driver, rt: JobRuntime): Promise<Identified> {
  return session(driver, rt, async (tracker) => {
    const identified = await connectAndIdentify(driver, tracker, rt);
    const unitId = await driver.unitId?.();
    tracker.enter('finish');
    await driver.close({ ok: true });
    return unitId ? { ...identified, device: { ...identified.device, unitId } } : identified;
  });
}

/** Erases the whole device, where the driver has a real erase. */
export async function runErase(driver: Driver, rt: JobRuntime): Promise<Identified> {
  return session(driver, rt, async (tracker) => {
    if (!driver.erase) throw new FlashError('unsupported', 'This programmer has no erase command (it erases each page as it writes it).');
    const identified = await connectAndIdentify(driver, tracker, rt);
    tracker.enter('erase');
    await driver.erase();
    tracker.enter('finish');
    await driver.close({ ok: true });
    return identified;
  });
}

/** Reads `length` bytes of one memory, in the driver's block size, with progress. */
export async function runRead(
  driver: Driver,
  memory: string,
  range: { address?: number; length?: number },
  rt: JobRuntime,
): Promise<{ data: Uint8Array; address: number; identified: Identified; /** The erased value. */ fill: number }> {
  return session(driver, rt, async (tracker) => {
    if (!driver.readBlock) throw new FlashError('unsupported', 'This programmer cannot read memory.');
    const identified = await connectAndIdentify(driver, tracker, rt);
    const mem = identified.memories.find((m) => m.name === memory);
    if (!mem) throw new FlashError('image-out-of-range', `${identified.device.name} has no ${memory} memory.`);
    const address = range.address ?? mem.base;
    const length = range.length ?? mem.base + mem.size - address;
    if (address < mem.base || length < 0 || address + length > mem.base + mem.size) {
      throw new FlashError('image-out-of-range', `${hex(address)}+${length} is outside ${memory} (${hex(mem.base)}–${hex(mem.base + mem.size - 1)}).`);
    }
    const c = driver.constraints(memory);
    tracker.plan([{ phase: 'read', bytes: length }]);
    tracker.enter('read');
    const data = new Uint8Array(length);
    // Reads start on a page boundary, so every request is one the bootloader serves in one go.
    const first = Math.floor(address / c.pageSize) * c.pageSize;
    const step = c.maxReadBlock ?? c.maxBlock;
    for (let at = first; at < address + length; at += step) {
      tracker.checkAbort();
      const size = Math.min(step, Math.ceil((address + length - at) / c.pageSize) * c.pageSize, mem.base + mem.size - at);
      const block = { memory, address: at, data: new Uint8Array(0) };
      const chunk = await atBlock(block, 'reading', () => driver.readBlock!(memory, at, size));
      const from = Math.max(at, address);
      const to = Math.min(at + size, address + length);
      data.set(chunk.subarray(from - at, to - at), from - address);
      tracker.advance(to - from);
    }
    tracker.enter('finish');
    await driver.close({ ok: true });
    return { data, address, identified, fill: c.fill };
  });
}

/**
 * The one failure path of every job kind: whatever ends the body early becomes a FlashError that
 * names the phase it happened in, and the driver is closed as failed (it stays in its bootloader).
 */
async function session<T>(driver: Driver, rt: JobRuntime, body: (tracker: PhaseTracker) => Promise<T>): Promise<T> {
  const tracker = new PhaseTracker(rt, { lineRate: () => driver.lineRate?.() });
  try {
    return await body(tracker);
  } catch (err) {
    const failure = asFlashError(err, rt.signal);
    failure.phase ??= tracker.phase;
    await driver.close({ ok: false });
    throw failure;
  }
}

/**
 * Reads what the device holds and keeps only the pages that differ, joined again into blocks of at
 * most the driver's size. A page that already matches is as good as verified: it was just read.
 */
async function changedBlocks(driver: Driver, blocks: Block[], tracker: PhaseTracker): Promise<Block[]> {
  const out: Block[] = [];
  for (const block of blocks) {
    tracker.checkAbort();
    const c = driver.constraints(block.memory);
    // With a device-side digest, ask page by page; otherwise one read serves every page of the block.
    const current = driver.verifyBlock ? null : await atBlock(block, 'reading', () => driver.readBlock!(block.memory, block.address, block.data.length));
    for (let at = 0; at < block.data.length; at += c.pageSize) {
      const wanted = block.data.subarray(at, at + c.pageSize);
      const page = { memory: block.memory, address: block.address + at, data: wanted };
      const same = current ? sameBytes(wanted, current.subarray(at, at + c.pageSize)) : await atBlock(page, 'comparing', () => blockMatches(driver, page, false));
      if (same) continue;
      const last = out[out.length - 1];
      const address = block.address + at;
      if (last && last.memory === block.memory && last.address + last.data.length === address && last.data.length + wanted.length <= c.maxBlock) {
        last.data = concatBytes(last.data, wanted);
      } else {
        out.push({ memory: block.memory, address, data: wanted });
      }
    }
    tracker.advance(block.data.length);
  }
  return out;
}

/** The read size for a block list (one memory at a time in practice; the smallest wins otherwise). */
function maxRead(driver: Driver, blocks: Block[]): number {
  const sizes = [...new Set(blocks.map((b) => b.memory))].map((m) => {
    const c = driver.constraints(m);
    return c.maxReadBlock ?? c.maxBlock;
  });
  return Math.min(...sizes);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The image for the device that answered: the caller's prepare hook first, then the driver's own. */
async function prepareFor(driver: Driver, identified: Identified, original: FirmwareImage, rt: JobRuntime): Promise<FirmwareImage> {
  const prepared = rt.hooks?.prepare ? await rt.hooks.prepare(identified, original) : original;
  return driver.prepareImage ? driver.prepareImage(prepared) : prepared;
}

async function connectAndIdentify(driver: Driver, tracker: PhaseTracker, rt: JobRuntime): Promise<Identified> {
  tracker.enter('connect');
  await driver.connect();
  tracker.enter('identify');
  const identified = await driver.identify();
  tracker.identified(identified);
  await rt.hooks?.accept?.(identified);
  return identified;
}

/**
 * Whether the device holds `block`: by device-side digest when the driver has one, else by reading it
 * back. With `strict`, a difference throws 'verify-mismatch' naming the place instead of returning false.
 */
async function blockMatches(driver: Driver, block: Block, strict: boolean, log: VerifyLog = () => {}): Promise<boolean> {
  if (driver.verifyBlock) {
    const r = await driver.verifyBlock(block.memory, block.address, block.data);
    if (r.equal || !strict) return r.equal;
    const end = block.address + block.data.length - 1;
    throw new FlashError('verify-mismatch', `Verify failed: ${block.memory} ${hex(block.address)}–${hex(end)} holds other data (device digest ${r.device}, expected ${r.expected}).`, {
      details: { memory: block.memory, address: block.address, length: block.data.length, device: r.device, expected: r.expected },
    });
  }
  if (!strict) return sameBytes(block.data, await driver.readBlock!(block.memory, block.address, block.data.length));
  // Read-back has no checksum on several protocols (STK500, AN3155 Read Memory, serprog): core/job/verify
  // re-reads only the pieces that differ and tells a garbled line from a wrong chip.
  await verifyReadBack(driver, block, log);
  return true;
}

/** Runs one block operation; a failure gets the block's address added, so the log says where it broke. */
async function atBlock<T>(block: Block, doing: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (!(err instanceof FlashError) || 'address' in err.details) throw err;
    const what = err.message.replace(/\.$/, '');
    throw new FlashError(err.code, `${what} while ${doing} ${block.memory} at ${hex(block.address)}.`, {
      hint: err.hint,
      details: { ...err.details, memory: block.memory, address: block.address },
      cause: err,
    });
  }
}

function asFlashError(err: unknown, signal: AbortSignalLike): FlashError {
  if (isFlashError(err)) return err;
  if (signal.aborted) return new FlashError('aborted', 'The job was cancelled.', { cause: err });
  return new FlashError('internal', `Unexpected error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
