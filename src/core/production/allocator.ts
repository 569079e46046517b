/**
 * Serial numbers for production. A number is reserved durably *before* its device is programmed and
 * is never handed out again: a device that fails, or a job cut off by a crash, voids its number.
 * Storage differs (a journal file for the CLI, IndexedDB in the app); the rules live here.
 */
export interface SerialReservation {
  value: bigint;
  /** Which slot/port took it, for the log. */
  slot: string;
}

/**
 * 'used': programmed and verified; 'unverified': programmed with verification turned off, so the number
 * is on the device but unproven (never handed out again); 'voided': the device did not get it.
 */
export type SerialOutcome = 'used' | 'unverified' | 'voided';

export interface SerialAllocator {
  reserve(slot: string): Promise<SerialReservation>;
  settle(reservation: SerialReservation, outcome: SerialOutcome, note?: string): Promise<void>;
}

/** Where numbers come from: a counter, or an imported list taken in order. */
export type SerialSource = { kind: 'counter'; start: bigint; step: bigint } | { kind: 'list'; values: bigint[] };

/** The next number given everything reserved so far (used, voided or still open). */
export function nextSerial(source: SerialSource, reserved: bigint[]): bigint | null {
  if (source.kind === 'counter') {
    const max = reserved.reduce<bigint | null>((m, v) => (m === null || v > m ? v : m), null);
    // A counter restarted with a higher --serial-start jumps forward; a lower one never goes back.
    return max === null || max + source.step < source.start ? source.start : max + source.step;
  }
  const taken = new Set(reserved);
  return source.values.find((v) => !taken.has(v)) ?? null;
}
