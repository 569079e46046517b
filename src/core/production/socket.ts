import type { ErrorCode } from '../../shared/errors';

/**
 * Socket bookkeeping for offline (in-socket) programming: ZIF and pogo sockets wear out after a
 * rated number of insertions, and a rising rate of failed IDs is the first sign. Drivers have no
 * storage: the CLI (--state-dir) and the app keep one record per socket (keyed by driver and port)
 * and feed it each job's identify outcome through `recordInsertion`. Pogo fixtures for in-system
 * programming wear the same way, so every driver counts.
 */
export interface SocketRecord {
  insertions: number;
  /** Parts that answered with an ID other than the selected one. */
  idFailures: number;
  /** No chip answering, or an ID that reads differently twice: contact problems. */
  contactFailures: number;
  /** Rated insertions (typical ZIF sockets: 10 000 to 50 000; clips much fewer). */
  ratedLife: number;
  /** Warn from this fraction of the rated life on. */
  warnAt: number;
}

export type InsertionOutcome = 'ok' | 'wrong-id' | 'contact';

export function newSocketRecord(ratedLife = 10_000, warnAt = 0.9): SocketRecord {
  return { insertions: 0, idFailures: 0, contactFailures: 0, ratedLife, warnAt };
}

/**
 * The outcome of one identify() for the socket's record: 'ok', 'wrong-id' (another part answered)
 * or 'contact' (no chip answered, or its ID read differently twice). Null when the failure was not
 * the socket's (no programmer, a link error): that attempt is not an insertion result.
 */
export function insertionOutcome(error?: { code: ErrorCode; details?: Record<string, unknown> } | null): InsertionOutcome | null {
  if (!error) return 'ok';
  if (error.code === 'no-chip') return 'contact';
  if (error.code === 'wrong-target') return error.details && 'second' in error.details ? 'contact' : 'wrong-id';
  return null;
}

/** Counts one insertion and returns the updated record with a wear warning when one is due. */
export function recordInsertion(record: SocketRecord, outcome: InsertionOutcome): { record: SocketRecord; warning: string | null } {
  const next: SocketRecord = {
    ...record,
    insertions: record.insertions + 1,
    idFailures: record.idFailures + (outcome === 'wrong-id' ? 1 : 0),
    contactFailures: record.contactFailures + (outcome === 'contact' ? 1 : 0),
  };
  return { record: next, warning: socketWarning(next) };
}

export function socketWarning(r: SocketRecord): string | null {
  const used = r.insertions / r.ratedLife;
  if (used >= 1) return `The socket is past its rated life (${r.insertions} of ${r.ratedLife} insertions): replace it.`;
  if (used >= r.warnAt) return `The socket has had ${r.insertions} of its rated ${r.ratedLife} insertions: plan to replace it.`;
  // More than 5 % contact failures over the last stretch of use is a worn or dirty socket.
  if (r.insertions >= 20 && r.contactFailures / r.insertions > 0.05) {
    return `${r.contactFailures} of ${r.insertions} insertions had contact failures: clean or replace the socket.`;
  }
  return null;
}
