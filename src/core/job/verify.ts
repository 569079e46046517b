import { FlashError, isFlashError } from '../../shared/errors';
import { hex } from '../image/memory-image';
import type { Block } from '../plan/blocks';
import type { Driver } from './driver-api';

/**
 * Read-back verify that tells a bad line from a bad chip. Several protocols carry no checksum on what
 * they read (STK500, AN3155 Read Memory, serprog), so a noisy cable garbles the copy, not the flash.
 * After a mismatch, only the pieces that differ are read again, small enough that a line flipping a
 * bit every few KiB rarely hits one twice, until two reads of a piece agree byte for byte:
 * - they agree with the image: the line garbled the first read, the piece is verified;
 * - they agree on other bytes: the chip holds them, 'verify-mismatch' naming address and bytes;
 * - no two agree: 'noisy-line', the chip is probably fine.
 * Accepting needs two reads equal to the image, so a wrong chip never passes by luck of the line.
 */

/** Piece size for re-reads: small against one flip per 4 KiB, still few requests. */
const PIECE = 64;
/** Reads of one piece before giving up on the line. */
const MAX_READS = 6;

/** Errors a garbled reply causes: the driver resynchronises, and a read may be tried again. */
export function isLineError(err: unknown): boolean {
  return isFlashError(err) && (err.code === 'protocol' || err.code === 'bad-checksum' || err.code === 'timeout' || err.code === 'nak');
}

export interface VerifyLog {
  (level: 'debug' | 'info' | 'warn', message: string): void;
}

/** Verifies `block` by reading it back; resolves when it matches, throws a typed FlashError when not. */
export async function verifyReadBack(driver: Driver, block: Block, log: VerifyLog): Promise<void> {
  let first: Uint8Array | null = null;
  try {
    first = await driver.readBlock!(block.memory, block.address, block.data.length);
  } catch (err) {
    if (!isLineError(err)) throw err;
    log('debug', `Read-back at ${hex(block.address)} failed (${(err as Error).message}); reading it again in pieces.`);
  }
  if (first && equal(first, block.data)) return;
  const step = pieceSize(driver, block);
  let garbled = 0;
  for (let at = 0; at < block.data.length; at += step) {
    const end = Math.min(at + step, block.data.length);
    const firstPiece = first?.subarray(at, end);
    if (firstPiece && equal(firstPiece, block.data.subarray(at, end))) continue;
    await settlePiece(driver, block, at, end, firstPiece);
    garbled++;
  }
  if (garbled > 0) log('info', `The line garbled the read-back of ${garbled} piece(s) at ${hex(block.address)}; read again, they match the image.`);
}

async function settlePiece(driver: Driver, block: Block, from: number, to: number, firstPiece: Uint8Array | undefined): Promise<void> {
  const address = block.address + from;
  const expected = block.data.subarray(from, to);
  const reads: Uint8Array[] = firstPiece ? [firstPiece] : [];
  let lastError: unknown;
  for (let n = 0; n < MAX_READS; n++) {
    let piece: Uint8Array;
    try {
      piece = await driver.readBlock!(block.memory, address, to - from);
    } catch (err) {
      if (!isLineError(err)) throw err;
      lastError = err;
      continue;
    }
    const twin = reads.find((r) => equal(r, piece));
    if (twin) {
      if (equal(piece, expected)) return;
      throw chipMismatch(block.memory, address, expected, piece);
    }
    reads.push(piece);
  }
  const end = address + (to - from) - 1;
  throw new FlashError('noisy-line', `Verify could not read ${block.memory} ${hex(address)}–${hex(end)} the same way twice: the line garbled the read-back; the chip is probably fine.`, {
    hint: 'Check the cable (shorter, shielded, no hub) or lower the baud rate, then flash again.',
    details: { memory: block.memory, address, length: to - from, reads: reads.length, verdict: 'line', ...(lastError instanceof Error ? { lastError: lastError.message } : {}) },
  });
}

function chipMismatch(memory: string, address: number, expected: Uint8Array, actual: Uint8Array): FlashError {
  const i = expected.findIndex((b, k) => actual[k] !== b);
  const at = address + i;
  const has = hex(actual[i]!, 2);
  const want = hex(expected[i]!, 2);
  return new FlashError('verify-mismatch', `Verify failed: the chip holds ${has} at ${hex(at, 8)} where the image has ${want} (read twice the same).`, {
    hint: 'Flash again; if the same address fails again, the flash there is worn or write-protected.',
    details: { memory, address: at, expected: want, actual: has, verdict: 'chip' },
  });
}

/** Pieces start on the block's page grid, so a driver that reads whole pages gets whole pages. */
function pieceSize(driver: Driver, block: Block): number {
  const page = driver.constraints(block.memory).pageSize;
  if (page < PIECE) return PIECE - (PIECE % page);
  return page <= 256 ? page : PIECE; // large erase units (NOR sectors) read at any address
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
