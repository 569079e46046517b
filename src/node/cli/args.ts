import { parseArgs } from 'node:util';
import { UsageError, type CommandSpec, type FlagSpec, type Flags } from './spec';

/**
 * Parses a command's arguments strictly against its declared flags. Every mistake is a UsageError
 * naming the fix, raised before any port is opened.
 */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): { flags: Flags; args: string[] } {
  const options = Object.fromEntries(
    spec.flags.map((f) => [f.name, { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw translateParseError(spec, err as Error & { code?: string });
  }
  const flags = parsed.values as Flags;
  if (flags.help) return { flags, args: parsed.positionals };
  const args = parsed.positionals;
  const what = spec.positionals.name ?? 'argument';
  if (args.length < spec.positionals.min) throw new UsageError(`${spec.name} needs ${spec.positionals.min === 1 ? `a ${what}` : `${spec.positionals.min} ${what}s`}`, helpHint(spec));
  if (args.length > spec.positionals.max) {
    const extra = args[spec.positionals.max]!;
    throw new UsageError(`${spec.name} does not take "${extra}"${spec.positionals.max === 0 ? ' (it takes no file)' : ''}`, helpHint(spec));
  }
  return { flags, args };
}

function translateParseError(spec: CommandSpec, err: Error & { code?: string }): UsageError {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(err.message)?.[1];
  if (unknown) {
    const name = unknown.replace(/^-+/, '');
    const near = closest(name, spec.flags.map((f) => f.name));
    return new UsageError(`${spec.name} has no flag ${unknown}`, near ? `Did you mean --${near}? (webprog ${spec.name} --help)` : helpHint(spec));
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(err.message)?.[1];
  if (missing) {
    const flag = spec.flags.find((f) => `--${f.name}` === missing);
    return new UsageError(`${missing} needs a value`, `Write ${missing} ${flag?.value ?? 'VALUE'}.`);
  }
  const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(err.message)?.[1];
  if (noValue) return new UsageError(`${noValue} takes no value`, `Write just ${noValue}.`);
  return new UsageError(err.message, helpHint(spec));
}

export function helpHint(spec: { name: string }): string {
  return `Run "webprog ${spec.name} --help" for its flags and examples.`;
}

/** The nearest name by edit distance, if it is close enough to be a typo. */
export function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const name of names) {
    const d = editDistance(word.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

// ---- typed access to parsed flags -------------------------------------------------------------------------

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function listFlag(flags: Flags, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function requireFlag(flags: Flags, name: string, command: string, example: string): string {
  const v = stringFlag(flags, name);
  if (v === undefined || v === '') throw new UsageError(`${command} needs --${name}`, `For example: webprog ${command} ${example}`);
  return v;
}

/** A whole number, decimal or 0x hex. */
export function wholeNumber(flags: Flags, name: string): number | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) throw new UsageError(`--${name} must be a whole number (decimal or 0x hex), got "${v}"`, `For example --${name} 0x1000.`);
  return Number(v);
}

export function wholeBigInt(flags: Flags, name: string): bigint | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) throw new UsageError(`--${name} must be a whole number (decimal or 0x hex), got "${v}"`, `For example --${name} 1000.`);
  return BigInt(v);
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(flags: Flags, name: string, values: readonly T[]): T | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    const near = closest(v, values);
    throw new UsageError(`--${name} must be one of ${values.join(', ')}, got "${v}"`, near ? `Did you mean --${name} ${near}?` : `Use one of ${values.join(', ')}.`);
  }
  return v as T;
}

export type { FlagSpec };
