import { findDriver, isLink, DRIVERS, type DriverEntry } from '../../drivers/registry';
import { resolveTarget } from '../../core/job/options';
import { lineFormatOf } from '../../core/io/uart-link';
import { systemClock } from '../../transports/clock';
import { FlashError } from '../../shared/errors';
import { closest, stringFlag } from '../cli/args';
import { UsageError, EXIT, type Command, type CommandContext } from '../cli/spec';
import { untilStopped } from '../cli/lifetime';
import { hostOnPty } from '../pty-host';

export const command: Command = {
  name: 'simulate',
  usage: ['simulate DRIVER|PART [--part P] [--variant V] [--flash-size 4MB]'],
  flags: [
    { name: 'part', type: 'string', value: 'P', description: 'The simulated part (default: the driver\'s first); a PART as the argument picks its driver.' },
    { name: 'chip', type: 'string', value: 'P', description: 'Same as --part (serprog: W25Q16, or none for an empty socket).' },
    { name: 'variant', type: 'string', value: 'V', description: 'Driver-specific: stk500v1 optiboot|optiboot8|atmegaboot; usb-dfu runtime; ...' },
    { name: 'flash-size', type: 'string', value: 'SIZE', description: 'esp-rom: the module\'s flash, e.g. 4MB.' },
    { name: 'help', short: 'h', type: 'boolean', description: 'Show this help.' },
  ],
  positionals: { min: 1, max: 1, name: 'driver or part' },
  notes: [
    'Serial drivers: prints one line "PTY <path>" and serves a pseudo-terminal that answers only at the',
    'bootloader\'s baud rate (as a real board would). USB drivers: prints "USB <vid>:<pid> ENV <NAME=value ...>",',
    'the environment under which a libusb-1.0 program (dfu-util) sees the virtual device.',
    'Runs until SIGINT/SIGTERM or until its parent process ends, and leaves no process behind.',
  ],
  examples: ['simulate stk500v1 --variant atmegaboot', 'simulate esp32 --flash-size 4MB', 'simulate serprog --chip W25Q16', 'simulate usb-dfu'],
  run,
};

async function run({ flags, args }: CommandContext): Promise<number> {
  const { entry, part } = whichSimulator(args[0]!, stringFlag(flags, 'chip') ?? stringFlag(flags, 'part'));
  // --flash-size is one more variant token for simulators that model flash size (esp-rom: "4MB").
  const variant = [stringFlag(flags, 'variant'), stringFlag(flags, 'flash-size')].filter(Boolean).join(',') || undefined;
  if (isLink(entry, 'usb')) {
    const { simulateUsb } = await import('../usb/simulate-usb');
    return simulateUsb(entry, part, variant);
  }
  if (!isLink(entry, 'serial')) throw new UsageError(`simulate ${entry.meta.id} is not available: it is a ${entry.link} device`, 'Serial drivers print a PTY, USB drivers a libusb environment.');
  const { createSimulator } = await entry.simulator();
  let simulator;
  try {
    simulator = createSimulator({ clock: systemClock, targetId: part, variant, pty: true } as Parameters<typeof createSimulator>[0]);
  } catch (err) {
    if (err instanceof FlashError) throw new UsageError(err.message, `See "webprog simulate --help" and "webprog parts --driver ${entry.meta.id}".`);
    throw err;
  }
  const host = await hostOnPty(simulator, { format: lineFormatOf(entry.meta, simulator.baudRate) });
  process.stdout.write(`PTY ${host.path}\n`);
  await untilStopped();
  await host.stop();
  return EXIT.ok;
}

/** A driver id, or a part id that names its driver ("simulate esp32" = "simulate esp-rom --part esp32"); unknown parts are refused. */
function whichSimulator(name: string, partFlag: string | undefined): { entry: DriverEntry; part?: string } {
  const direct = findDriver(name);
  const owner = direct ? undefined : DRIVERS.find((d) => safeResolve(d, name));
  const entry = direct ?? owner;
  if (!entry) {
    const near = closest(name, [...DRIVERS.map((d) => d.meta.id), ...DRIVERS.flatMap((d) => d.meta.targets.map((t) => t.id))]);
    throw new UsageError(`no driver or part "${name}"`, near ? `Did you mean "webprog simulate ${near}"?` : 'See "webprog drivers" and "webprog parts --driver ID".');
  }
  const text = partFlag ?? (owner ? name : undefined);
  if (text === undefined) return { entry };
  // serprog's simulator also knows "none" (an empty socket) and +options of its own.
  if (/^none(\+|$)/i.test(text)) return { entry, part: text };
  try {
    const { target, suffix } = resolveTarget(entry.meta, text);
    return { entry, part: `${target?.id ?? ''}${suffix}` || undefined };
  } catch (err) {
    throw new UsageError((err as Error).message, `List them with: webprog parts --driver ${entry.meta.id}`);
  }
}

function safeResolve(d: DriverEntry, name: string): boolean {
  try {
    return resolveTarget(d.meta, name).target !== undefined;
  } catch {
    return false;
  }
}
