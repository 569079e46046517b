import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { readImage, type FirmwareImage } from '../../core/image/index';
import type { FirmwarePart } from '../../core/placement/index';
import { FlashError } from '../../shared/errors';
import { UsageError } from './spec';
export { userCwd } from './cwd';

/** "-" is stdin (for input) or stdout (for output), as in most Unix tools. */
export const STDIO = '-';

export function displayName(path: string): string {
  return path === STDIO ? 'stdin' : basename(path);
}

async function readInput(cwd: string, path: string): Promise<Uint8Array> {
  try {
    if (path === STDIO) {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    }
    return new Uint8Array(await readFile(resolve(cwd, path)));
  } catch (err) {
    throw new FlashError('bad-image', `Cannot read ${path === STDIO ? 'stdin' : path}: ${(err as Error).message}`, { hint: 'Check the file name.' });
  }
}

export async function writeOutput(cwd: string, path: string, data: Uint8Array): Promise<void> {
  if (path === STDIO) {
    await new Promise<void>((done, fail) => process.stdout.write(data, (err) => (err ? fail(err) : done())));
    return;
  }
  await writeFile(resolve(cwd, path), data);
}

export async function loadImage(cwd: string, path: string, baseAddress?: number): Promise<FirmwareImage> {
  const bytes = await readInput(cwd, path);
  const name = displayName(path);
  return readImage(bytes, baseAddress === undefined ? { name } : { name, baseAddress });
}

/** A file argument, `FILE` or `FILE@ADDRESS`. */
function splitAt(arg: string, address: number | undefined): { path: string; address: number | undefined } {
  const at = /^(.*)@(0x[0-9a-f]+|\d+)$/i.exec(arg);
  return at ? { path: at[1]!, address: Number(at[2]) } : { path: arg, address };
}

/**
 * The files of a flash job as the front door takes them (core/placement): bytes, name and the address
 * given with `FILE@ADDRESS` or --address (one file only). Where each goes is decided there, per driver.
 */
export async function readParts(cwd: string, args: string[], address: number | undefined): Promise<FirmwarePart[]> {
  if (args.length > 1 && address !== undefined) throw new UsageError('--address places a single file', 'Use FILE@ADDRESS for each part instead.');
  if (args.filter((a) => a === STDIO || a.startsWith(`${STDIO}@`)).length > 1) throw new UsageError('only one part can come from stdin ("-")', 'Give the other parts as files.');
  return Promise.all(
    args.map(async (arg) => {
      const part = splitAt(arg, address);
      const bytes = await readInput(cwd, part.path);
      return { name: displayName(part.path), bytes, ...(part.address === undefined ? {} : { address: part.address }) };
    }),
  );
}
