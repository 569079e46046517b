import { appendFileSync, closeSync, existsSync, fsyncSync, renameSync, writeFileSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { nextSerial, type SerialAllocator, type SerialOutcome, type SerialReservation, type SerialSource } from '../core/production/allocator';
import { FlashError, type ErrorCode } from '../shared/errors';
import { insertionOutcome, newSocketRecord, recordInsertion, type SocketRecord } from '../core/production/socket';
import { systemClock } from '../transports/clock';

type JournalLine =
  | { op: 'reserve'; value: string; slot: string; pid: number; time: string }
  | { op: 'settle'; value: string; outcome: SerialOutcome; note?: string; time: string };

/**
 * The CLI's serial counter: an append-only journal in --state-dir, written and fsynced under a lock
 * file before the device is touched, so several processes on one station share it and a killed
 * process never causes a number to be reused. Reservations left open by a dead process are voided
 * when the journal is next opened.
 */
export class JournalSerialAllocator implements SerialAllocator {
  private readonly journal: string;
  private readonly lock: string;

  constructor(
    dir: string,
    private readonly source: SerialSource,
  ) {
    mkdirSync(dir, { recursive: true });
    this.journal = join(dir, 'serials.jsonl');
    this.lock = join(dir, 'serials.lock');
  }

  async reserve(slot: string): Promise<SerialReservation> {
    return this.locked(() => {
      const lines = this.read();
      this.voidAbandoned(lines);
      const value = nextSerial(this.source, lines.filter((l) => l.op === 'reserve').map((l) => BigInt(l.value)));
      if (value === null) {
        throw new FlashError('storage', 'The serial number list is used up.', { hint: 'Import more numbers before programming more devices.' });
      }
      this.append({ op: 'reserve', value: value.toString(), slot, pid: process.pid, time: new Date().toISOString() });
      return { value, slot };
    });
  }

  async settle(reservation: SerialReservation, outcome: SerialOutcome, note?: string): Promise<void> {
    await this.locked(() =>
      this.append({ op: 'settle', value: reservation.value.toString(), outcome, ...(note ? { note } : {}), time: new Date().toISOString() }),
    );
  }

  /** Every number handed out and what became of it ('open' while its job runs). */
  history(): { value: bigint; slot: string; outcome: SerialOutcome | 'open'; note?: string }[] {
    const lines = this.read();
    return lines
      .filter((l): l is Extract<JournalLine, { op: 'reserve' }> => l.op === 'reserve')
      .map((r) => {
        const s = lines.find((l): l is Extract<JournalLine, { op: 'settle' }> => l.op === 'settle' && l.value === r.value);
        return { value: BigInt(r.value), slot: r.slot, outcome: s?.outcome ?? 'open', ...(s?.note ? { note: s.note } : {}) };
      });
  }

  private voidAbandoned(lines: JournalLine[]): void {
    const settled = new Set(lines.filter((l) => l.op === 'settle').map((l) => l.value));
    for (const l of lines) {
      if (l.op === 'reserve' && !settled.has(l.value) && !processAlive(l.pid)) {
        const entry: JournalLine = { op: 'settle', value: l.value, outcome: 'voided', note: `interrupted (process ${l.pid} ended)`, time: new Date().toISOString() };
        this.append(entry);
        lines.push(entry);
      }
    }
  }

  private read(): JournalLine[] {
    let text = '';
    try {
      text = readFileSync(this.journal, 'utf8');
    } catch {
      return [];
    }
    // A crash can leave a torn last line; every complete line before it is intact.
    return text.split('\n').flatMap((line) => {
      try {
        return line ? [JSON.parse(line) as JournalLine] : [];
      } catch {
        return [];
      }
    });
  }

  private append(line: JournalLine): void {
    const fd = openSync(this.journal, 'a');
    try {
      writeSync(fd, JSON.stringify(line) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private async locked<T>(fn: () => T): Promise<T> {
    const deadline = systemClock.now() + 10_000;
    for (;;) {
      try {
        closeSync(openSync(this.lock, 'wx'));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (staleLock(this.lock)) rmSync(this.lock, { force: true });
        else if (systemClock.now() > deadline) throw new FlashError('storage', `The serial journal is locked (${this.lock}).`, { hint: 'Another webprog may be stuck; remove the lock file if none runs.' });
        else await systemClock.sleep(5);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(this.lock, { force: true });
    }
  }
}

/** A lock held for seconds was left by a process that died between taking and releasing it. */
function staleLock(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > 5_000;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    // A killed process whose parent never reaped it is a zombie: it still answers kill(pid, 0).
    const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    if (state !== undefined) return state !== 'Z' && state !== 'X';
  } catch {
    if (existsSync('/proc/self/stat')) return false; // Linux, and no such process
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface AuditRecord {
  time: string;
  station: string;
  port: string;
  file: string;
  imageSha256: string;
  deviceId?: string;
  device?: string;
  serial?: string;
  /** Where the serial went: memory and address, 'flash@0x00007000'. */
  serialAt?: string;
  result: 'running' | 'pass' | 'unverified' | 'fail';
  durationMs?: number;
  error?: string;
  job: string;
}

/** One JSON line per event in --state-dir/audit.jsonl: 'running' before the device is touched, then the result. */
export function appendAudit(dir: string, record: AuditRecord): void {
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'audit.jsonl'), JSON.stringify(record) + '\n');
}

/**
 * Counts one insertion on a socket (--state-dir/sockets.json, keyed by driver and port) and returns
 * the wear warning due, if any. Attempts that failed for reasons not the socket's do not count.
 */
export function countInsertion(dir: string, socket: string, error: { code: ErrorCode; details?: Record<string, unknown> } | null, ratedLife?: number): string | null {
  const outcome = insertionOutcome(error);
  if (outcome === null) return null;
  const path = join(dir, 'sockets.json');
  let all: Record<string, SocketRecord> = {};
  try {
    all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, SocketRecord>;
  } catch {
    // first use
  }
  const base = all[socket] ?? newSocketRecord(ratedLife);
  const { record, warning } = recordInsertion(ratedLife === undefined ? base : { ...base, ratedLife }, outcome);
  all[socket] = record;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path + '.tmp', JSON.stringify(all, null, 2));
  renameSync(path + '.tmp', path);
  return warning;
}
