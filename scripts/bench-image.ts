/**
 * Intel HEX parse benchmark: an 8 MiB random image as HEX (about 23 MB of text), our parser against
 * nrf-intel-hex on the same text.
 *
 * Each parser runs in its own child process, so peak memory is that process's peak RSS above what it held
 * just before parsing (input already loaded, after a forced GC); one process's garbage never bills the other.
 * Run: npx tsx scripts/bench-image.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseIntelHex, writeIntelHex } from '../src/core/image/intel-hex';
import { createImage } from '../src/core/image/memory-image';

export interface ParserFigures {
  /** Median of the timed runs, milliseconds. */
  parseMs: number;
  /** Peak RSS growth during the first parse, bytes. */
  peakBytes: number;
}

export interface ImageBenchFigures {
  imageBytes: number;
  hexBytes: number;
  runs: number;
  ours: ParserFigures;
  nrfIntelHex: ParserFigures;
  /** nrf-intel-hex time / our time. */
  speedup: number;
  /** Our peak memory / image size. */
  oursPeakRatio: number;
}

const SELF = fileURLToPath(import.meta.url);

/** Runs in a worker thread: records the highest RSS every millisecond until told to stop. */
const SAMPLER = `
const { workerData: peak } = require('node:worker_threads');
const tick = () => {
  const rss = process.memoryUsage.rss();
  if (rss > peak[0]) peak[0] = rss;
  if (peak[1] === 0) setTimeout(tick, 1);
};
tick();
`;

/**
 * Generates the file, runs both parsers in child processes, prints the table (through `log`, console.log
 * unless told; pass `() => {}` for silence) and returns the figures.
 */
export async function benchImage(
  opts: { imageBytes?: number; runs?: number; seed?: number; log?: (text: string) => void } = {},
): Promise<ImageBenchFigures> {
  const figures = measure(opts);
  (opts.log ?? console.log)(formatImageBench(figures));
  return figures;
}

function measure(opts: { imageBytes?: number; runs?: number; seed?: number }): ImageBenchFigures {
  const imageBytes = opts.imageBytes ?? 8 << 20;
  const runs = opts.runs ?? 5;
  const data = randomBytes(imageBytes, opts.seed ?? 1);
  // STM32-like placement so type 04 records appear throughout, as in real files.
  const hexText = writeIntelHex(createImage('bench', [{ memory: 'flash', address: 0x08000000, data }]));
  const dir = mkdtempSync(join(tmpdir(), 'webprog-bench-'));
  try {
    const file = join(dir, 'image.hex');
    writeFileSync(file, hexText);
    const ours = runChild('ours', file, runs);
    const nrfIntelHex = runChild('nrf', file, runs);
    return {
      imageBytes,
      hexBytes: hexText.length,
      runs,
      ours,
      nrfIntelHex,
      speedup: nrfIntelHex.parseMs / ours.parseMs,
      oursPeakRatio: ours.peakBytes / imageBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(parser: 'ours' | 'nrf', file: string, runs: number): ParserFigures {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', SELF, '--child', parser, file, String(runs)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ParserFigures;
}

/**
 * Child side: load the input, settle memory, parse once while a sampler thread watches RSS, then time
 * `runs` parses. (Process maxRSS would be polluted by loading the input; a sampler sees only the parse.)
 */
async function child(parser: string, file: string, runs: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  let parse: () => unknown;
  if (parser === 'ours') {
    const buf = readFileSync(file);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    parse = () => parseIntelHex(bytes);
  } else {
    const { default: MemoryMap } = await import('nrf-intel-hex');
    const text = readFileSync(file, 'latin1');
    parse = () => MemoryMap.fromHex(text);
  }
  const shared = new Float64Array(new SharedArrayBuffer(16)); // [0] peak RSS seen, [1] stop flag
  const sampler = new Worker(SAMPLER, { eval: true, workerData: shared });
  await new Promise((resolve) => sampler.once('online', resolve));
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = process.memoryUsage.rss();
  shared[0] = before;
  let result: unknown = parse();
  await new Promise((resolve) => setTimeout(resolve, 20)); // one more sample with the result still alive
  shared[0] = Math.max(shared[0]!, process.memoryUsage.rss());
  const peakBytes = Math.max(0, shared[0]! - before);
  shared[1] = 1;
  await sampler.terminate();
  result = null;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    gc();
    const t0 = performance.now();
    result = parse();
    times.push(performance.now() - t0);
    result = null;
  }
  void result;
  times.sort((a, b) => a - b);
  const figures: ParserFigures = { parseMs: times[Math.floor(times.length / 2)]!, peakBytes };
  process.stdout.write(JSON.stringify(figures) + '\n');
}

/** xorshift32: the same pseudo-random image on every run, so figures compare across commits. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function formatImageBench(f: ImageBenchFigures): string {
  const mb = (n: number) => (n / (1 << 20)).toFixed(1) + ' MiB';
  const row = (name: string, p: ParserFigures) =>
    `| ${name.padEnd(13)} | ${(p.parseMs.toFixed(0) + ' ms').padStart(10)} | ${mb(p.peakBytes).padStart(11)} | ${(p.peakBytes / f.imageBytes).toFixed(2).padStart(6)}x |`;
  return [
    `Intel HEX parse: ${mb(f.imageBytes)} image, ${(f.hexBytes / 1e6).toFixed(1)} MB of text, median of ${f.runs} runs`,
    '| parser        | parse time | peak memory | / image |',
    '|---------------|------------|-------------|---------|',
    row('webprog', f.ours),
    row('nrf-intel-hex', f.nrfIntelHex),
    `webprog is ${f.speedup.toFixed(1)}x faster (target >= 3x); peak ${f.oursPeakRatio.toFixed(2)}x the image (target <= 3x).`,
  ].join('\n');
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchImage();
}
