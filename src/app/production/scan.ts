/**
 * Barcode-scanner input. A scanner in keyboard-wedge mode types the code and presses Enter into the
 * focused field; this turns one scanned line into what it means for the station.
 *
 * Codes, case-insensitive, with ':' or '=' after the prefix:
 * - `LOT:…`, `WO:…` (work order), `SN:…`/`BOARD:…` (board ID), anything else is a board ID too;
 * - command sheets: `CMD:START` (start all), `CMD:RESTART:n` (restart slot n), `CMD:STOP` (stop all).
 */
export type ScanResult =
  | { kind: 'empty' }
  | { kind: 'lot' | 'workOrder' | 'boardId'; value: string }
  | { kind: 'command'; command: 'start-all' | 'stop-all' }
  | { kind: 'command'; command: 'restart'; slot: number };

const FIELDS: [RegExp, 'lot' | 'workOrder' | 'boardId'][] = [
  [/^(?:lot|l)\s*[:=]\s*(.+)$/i, 'lot'],
  [/^(?:wo|work\s*order|w)\s*[:=]\s*(.+)$/i, 'workOrder'],
  [/^(?:sn|board|b|pcb)\s*[:=]\s*(.+)$/i, 'boardId'],
];

export function parseScan(raw: string): ScanResult {
  // Scanners may add a carriage return or a tab; control characters are never part of a code.
  const text = raw.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (text === '') return { kind: 'empty' };
  const cmd = /^(?:cmd|#)\s*[:=]?\s*(start|stop|restart)\s*(?:[:= ]\s*(\d+))?$/i.exec(text);
  if (cmd) {
    const verb = cmd[1]!.toLowerCase();
    if (verb === 'restart') {
      const slot = Number(cmd[2]);
      if (Number.isInteger(slot) && slot > 0) return { kind: 'command', command: 'restart', slot };
    } else if (cmd[2] === undefined) {
      return { kind: 'command', command: verb === 'start' ? 'start-all' : 'stop-all' };
    }
  }
  for (const [re, kind] of FIELDS) {
    const m = re.exec(text);
    if (m) return { kind, value: m[1]!.trim().slice(0, 128) };
  }
  return { kind: 'boardId', value: text.slice(0, 128) };
}
