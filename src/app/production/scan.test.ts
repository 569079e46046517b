import { describe, expect, it } from 'vitest';
import { parseScan } from './scan';

describe('parseScan', () => {
  it('reads lot, work order and board codes, and plain codes as board IDs', () => {
    expect(parseScan('LOT:2026-W02-A')).toEqual({ kind: 'lot', value: '2026-W02-A' });
    expect(parseScan('wo=4711')).toEqual({ kind: 'workOrder', value: '4711' });
    expect(parseScan('SN: PCB-000123 ')).toEqual({ kind: 'boardId', value: 'PCB-000123' });
    expect(parseScan('PCB000124\r')).toEqual({ kind: 'boardId', value: 'PCB000124' });
    expect(parseScan('LOTTERY')).toEqual({ kind: 'boardId', value: 'LOTTERY' });
    expect(parseScan('  \t')).toEqual({ kind: 'empty' });
  });

  it('reads command sheet codes', () => {
    expect(parseScan('CMD:START')).toEqual({ kind: 'command', command: 'start-all' });
    expect(parseScan('#stop')).toEqual({ kind: 'command', command: 'stop-all' });
    expect(parseScan('CMD:RESTART:12')).toEqual({ kind: 'command', command: 'restart', slot: 12 });
    expect(parseScan('CMD:RESTART')).toEqual({ kind: 'boardId', value: 'CMD:RESTART' });
  });
});
