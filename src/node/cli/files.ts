import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createImage, readImage, type FirmwareImage } from '../../core/image/index';
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

/**
 * One image from several parts, esptool style: `boot.bin@0x1000 parts.bin@0x8000 app.bin@0x10000`.
 * `@ADDRESS` (or --address for a single part) places a raw binary; it shifts a file that carries its
 * own addresses (HEX, ELF, ...) only if that file starts at 0. Overlaps that disagree are refused.
 */
export async function loadParts(cwd: string, args: string[], address: number | undefined): Promise<FirmwareImage> {
  if (args.length > 1 && address !== undefined) throw new UsageError('--address places a single file', 'Use FILE@ADDRESS for each part instead.');
  if (args.filter((a) => a === STDIO || a.startsWith(`${STDIO}@`)).length > 1) throw new UsageError('only one part can come from stdin ("-")', 'Give the other parts as files.');
  const parts = await Promise.all(
    args.map(async (arg) => {
      const at = /^(.*)@(0x[0-9a-f]+|\d+)$/i.exec(arg);
      const path = at ? at[1]! : arg;
      const base = at ? Number(at[2]) : address;
      const image = await loadImage(cwd, path, base);
      if (base !== undefined && image.format !== 'bin') {
        const start = Math.min(...image.segments.map((s) => s.address));
        if (start !== 0 && start !== base) throw new UsageError(`${path} already starts at 0x${start.toString(16)}`, `Drop @0x${base.toString(16)}: the file carries its own addresses.`);
        if (start === 0) return { ...image, segments: image.segments.map((s) => ({ ...s, address: s.address + base })) };
      }
      return image;
    }),
  );
  return parts.length === 1 ? parts[0]! : createImage('parts', parts.flatMap((p) => p.segments));
}
