import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { describeImage, type FirmwareImage } from '../../core/image/index';
import type { SerialSource } from '../../core/production/allocator';
import { checkSerialSpace, parseSerialList, serialEncoding, type SerialRule } from '../../core/production/serialize';
import { JournalSerialAllocator } from '../state-dir';
import { stringFlag, wholeBigInt, wholeNumber } from './args';
import { UsageError, type FlagSpec, type Flags } from './spec';

export const PRODUCTION_FLAGS: readonly FlagSpec[] = [
  { name: 'state-dir', type: 'string', value: 'DIR', description: 'Production state: audit.jsonl, the serial journal, socket wear (sockets.json).' },
  { name: 'station', type: 'string', value: 'NAME', description: 'Station name in the audit trail (default: the host name).' },
  { name: 'socket-life', type: 'string', value: 'N', description: 'Rated insertions of a socket: warns as a port\'s socket wears out (needs --state-dir).' },
  { name: 'serial-address', type: 'string', value: 'A', description: 'Write a unique serial number at this address in each device (needs --state-dir).' },
  { name: 'serial-format', type: 'string', value: 'F', description: 'u16le|u16be|u32le|u32be|u64le|u64be|mac|ascii-dec:W|ascii-hex:W|bcd:W (default u32le).' },
  { name: 'serial-start', type: 'string', value: 'N', description: 'First serial of the counter (default 1).' },
  { name: 'serial-step', type: 'string', value: 'S', description: 'Counter step (default 1).' },
  { name: 'serial-list', type: 'string', value: 'CSV', description: 'Take serials in order from this file instead of a counter.' },
  { name: 'serial-memory', type: 'string', value: 'M', description: 'Memory the serial goes into (default flash).' },
  { name: 'serial-overwrite', type: 'boolean', description: 'Write the serial over bytes the image has there; refused without it unless that space is erased (0xFF).' },
];

export interface Production {
  stateDir?: string;
  station: string;
  imageSha256: string;
  socketLife?: number;
  serial?: { allocator: JournalSerialAllocator; rule: SerialRule };
}

/** Serialization and the audit trail, when --state-dir is given; every mistake is refused before a number is reserved. */
export async function productionSetup(flags: Flags, image: FirmwareImage, cwd: string): Promise<Production> {
  const dir = stringFlag(flags, 'state-dir');
  const stateDir = dir === undefined ? undefined : resolve(cwd, dir);
  const station = stringFlag(flags, 'station') ?? hostname();
  const imageSha256 = describeImage(image).sha256;
  const socketLife = wholeNumber(flags, 'socket-life');
  const address = wholeNumber(flags, 'serial-address');
  const base = { stateDir, station, imageSha256, ...(socketLife === undefined ? {} : { socketLife }) };
  if (address === undefined) return base;
  if (!stateDir) throw new UsageError('--serial-address needs --state-dir DIR', 'The counter and journal are kept there: add --state-dir ./production.');
  const rule: SerialRule = {
    memory: stringFlag(flags, 'serial-memory') ?? 'flash',
    address,
    format: stringFlag(flags, 'serial-format') ?? 'u32le',
    ...(flags['serial-overwrite'] ? { overwrite: true } : {}),
  };
  try {
    serialEncoding(rule.format);
  } catch (err) {
    throw new UsageError((err as Error).message, 'Use u16le|u16be|u32le|u32be|u64le|u64be|mac|ascii-dec:W|ascii-hex:W|bcd:W.');
  }
  // Before a number is reserved or a port opened: a serial over code (the vectors) is refused (exit 2).
  checkSerialSpace(image, rule);
  const listFile = stringFlag(flags, 'serial-list');
  const source: SerialSource = listFile
    ? { kind: 'list', values: parseSerialList(await readFile(resolve(cwd, listFile), 'utf8')) }
    : { kind: 'counter', start: wholeBigInt(flags, 'serial-start') ?? 1n, step: wholeBigInt(flags, 'serial-step') ?? 1n };
  return { ...base, serial: { allocator: new JournalSerialAllocator(stateDir, source), rule } };
}
