#!/usr/bin/env node
import { COMMANDS, findCommand } from './commands/index';
import { commandHelp, mainHelp } from './cli/help';
import { Output } from './cli/output';
import { EXIT, UsageError, type Flags } from './cli/spec';
import { toolVersion } from './cli/version';
import { userCwd } from './cli/cwd';

/**
 * `webprog`: a small dispatcher. Each command is its own module (src/node/commands/), loaded only
 * when used, so help and version answer without loading the engine.
 */
async function main(argv: string[], out: Output): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(`${mainHelp(COMMANDS, toolVersion())}\n`);
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h') return print(mainHelp(COMMANDS, toolVersion()));
  if (first === '--version' || first === '-V') return print(toolVersion());
  if (first === 'help') {
    if (rest[0] === undefined) return print(mainHelp(COMMANDS, toolVersion()));
    return print(await helpOf(rest[0]));
  }
  const entry = findCommand(first);
  if (!entry) throw await unknownCommand(first);
  const [{ command }, { parseCommandArgs }] = await Promise.all([entry.load(), import('./cli/args')]);
  out.command = command.name;
  // --json must shape even a usage error, so look for it before parsing strictly.
  if (rest.includes('--json')) out.mode.json = true;
  const { flags, args } = parseCommandArgs(command, rest);
  if (flags.help) return print(commandHelp(command, entry.summary));
  setMode(out, flags);
  return command.run({ flags, args, out, cwd: userCwd() });
}

async function helpOf(name: string): Promise<string> {
  const entry = findCommand(name);
  if (!entry) throw await unknownCommand(name);
  return commandHelp((await entry.load()).command, entry.summary);
}

async function unknownCommand(name: string): Promise<UsageError> {
  const { closest } = await import('./cli/args');
  const near = closest(name, COMMANDS.map((c) => c.name));
  return new UsageError(`unknown command "${name}"`, near ? `Did you mean "webprog ${near}"? (webprog --help lists all)` : 'Run "webprog --help" for the commands.');
}

function setMode(out: Output, flags: Flags): void {
  out.mode.json = Boolean(flags.json);
  out.mode.quiet = Boolean(flags.quiet);
  out.mode.verbose = Boolean(flags.verbose);
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return EXIT.ok;
}

/** What ends the process: usage mistakes and unusable input files exit 2, with one line naming the fix. */
async function report(err: unknown, out: Output): Promise<number> {
  const { toErrorInfo } = await import('../shared/errors');
  const e = err instanceof UsageError ? { code: 'usage', message: err.message, hint: err.hint } : toErrorInfo(err);
  if (out.mode.json) out.failure(undefined, e as Parameters<Output['failure']>[1]);
  else process.stderr.write(`webprog: ${e.message} — ${e.hint}\n`);
  return e.code === 'aborted' ? EXIT.interrupted : EXIT.usage;
}

const output = new Output({ json: false, quiet: false, verbose: false });
main(process.argv.slice(2), output)
  .catch((err: unknown) => report(err, output))
  .then((code) => {
    process.exitCode = code;
    // Open handles (a serial port's read loop, a simulator's timers) must not keep a finished command alive.
    setImmediate(() => process.exit(code));
  });
