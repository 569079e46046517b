/** Display helpers shared by views: sizes, durations, rates, times. */

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const intf = new Intl.NumberFormat();

export function formatBytes(n: number): string {
  if (n < 1024) return `${intf.format(n)} B`;
  if (n < 1024 * 1024) return `${nf.format(n / 1024)} KiB`;
  return `${nf.format(n / (1024 * 1024))} MiB`;
}

export function formatCount(n: number): string {
  return intf.format(n);
}

/** "1 job", "2 jobs", "1,024 bytes": a count with its noun in the right number. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${intf.format(n)} ${n === 1 ? one : many}`;
}

/** A share as "97.5 %", or "—" when there is nothing to divide yet. */
export function formatShare(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(1)} %`;
}

/** Whole percent done, rounded down: a job shows 100 % only once it is finished. */
export function percent(fraction: number): number {
  return Math.floor(fraction * 100);
}

export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(Math.round(bytesPerSecond))}/s` : '—';
}

/** "0.8 s", "12 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${nf.format(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${s % 60} s`;
}

export function formatEta(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'estimating…';
  if (ms < 1000) return 'less than a second left';
  return `about ${formatDuration(Math.ceil(ms / 1000) * 1000)} left`;
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatTime(epochMs: number): string {
  return dtf.format(new Date(epochMs));
}

export function hexAddress(n: number): string {
  return '0x' + n.toString(16).toUpperCase().padStart(4, '0');
}

/** "3f2a9c…e01b" for tight spots; the full value goes in a title or a copy button. */
export function shortHash(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 8)}…${hash.slice(-8)}` : hash;
}

const FORMAT_NAMES: Record<string, string> = {
  ihex: 'Intel HEX',
  srec: 'Motorola S-record',
  elf: 'ELF',
  uf2: 'UF2',
  dfuse: 'DfuSe',
  dfu: 'DFU',
  esp: 'ESP image',
  bin: 'Raw binary',
};

/** "Intel HEX" for 'ihex'; unknown formats as they are. */
export function formatName(format: string): string {
  return FORMAT_NAMES[format] ?? format;
}
