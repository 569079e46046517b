import type { Output } from './output';

/**
 * The shape of a `webprog` command: its flags (each described, for help), positionals, examples and
 * what it does. Each command is one module in src/node/commands/, loaded only when it runs or its help
 * is asked for, so `webprog --help` starts without the engine.
 */
export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder in help, e.g. "TTY" for --port TTY. */
  value?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  /** Synopsis lines without the leading "webprog ". */
  usage: string[];
  flags: readonly FlagSpec[];
  /** How many positionals are allowed. */
  positionals: { min: number; max: number; name?: string };
  examples: string[];
  notes?: string[];
}

export type Flags = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface CommandContext {
  flags: Flags;
  args: string[];
  out: Output;
  /** The directory the user ran webprog from (relative paths resolve against it). */
  cwd: string;
}

export interface Command extends CommandSpec {
  run(ctx: CommandContext): Promise<number>;
}

/** Exit codes, documented in help and the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * A mistake in the command line (or an input file that cannot be used), found before any port is
 * opened: one line on stderr with the fix, exit 2.
 */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

// ---- flags shared by several commands ------------------------------------------------------------------

export const OUTPUT_FLAGS: readonly FlagSpec[] = [
  { name: 'json', type: 'boolean', description: 'Print only JSON lines on stdout: one object per device, errors too.' },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress and no driver messages on stderr.' },
  { name: 'verbose', short: 'v', type: 'boolean', description: 'Also print the driver\'s debug messages on stderr.' },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show this help.' },
];

export const DEVICE_FLAGS: readonly FlagSpec[] = [
  { name: 'driver', type: 'string', value: 'ID', description: 'Programmer protocol: see "webprog drivers".' },
  { name: 'port', type: 'string', value: 'TTY', description: 'Serial port (e.g. /dev/ttyUSB0, COM3); see "webprog ports".' },
  { name: 'usb', type: 'string', value: 'VID:PID[:SERIAL]', description: 'USB device for USB drivers (usb-dfu), e.g. 0483:df11.' },
  { name: 'baud', type: 'string', value: 'N', description: 'Line rate to use (default: the driver\'s; esp-rom: the rate after the stub starts).' },
  { name: 'part', type: 'string', value: 'P', description: 'The part you expect (refused if another answers); see "webprog parts --driver ID".' },
  { name: 'chip', type: 'string', value: 'P', description: 'Same as --part (for SPI flash: W25Q16, or W25Q16+unprotect).' },
  { name: 'option', type: 'string', multiple: true, value: 'KEY=VALUE', description: 'A driver option (repeatable); each driver\'s are listed by "webprog parts --driver ID".' },
  { name: 'consent', type: 'string', multiple: true, value: 'WORD', description: 'Allow a destructive operation: unprotect | mass-erase | fuses | overwrite-bootloader (repeatable).' },
  { name: 'before', type: 'string', value: 'RESET', description: 'How to enter the bootloader: default-reset | no-reset | usb-reset (esp-rom, stm32-usart).' },
  { name: 'after', type: 'string', value: 'RESET', description: 'What to do after: hard-reset | no-reset | stay (esp-rom, stm32-usart).' },
];

/** Commands that take several --port flags run one independent session per port. */
export const MULTI_PORT: FlagSpec = { ...DEVICE_FLAGS[1]!, multiple: true, description: 'Serial port (repeat for several boards at once); see "webprog ports".' };
