import { writeImage } from '../../core/image/index';
import { runRead } from '../../core/job/run-job';
import { toErrorInfo } from '../../shared/errors';
import { requireFlag, stringFlag, wholeNumber } from '../cli/args';
import { deviceChoice, withDriver } from '../cli/device';
import { STDIO, writeOutput } from '../cli/files';
import { DEVICE_FLAGS, EXIT, OUTPUT_FLAGS, UsageError, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'read',
  usage: ['read --driver ID --port TTY --out FILE [--memory M] [--address A] [--length N] [flags]'],
  flags: [
    ...DEVICE_FLAGS,
    { name: 'out', type: 'string', value: 'FILE', description: 'Where the bytes go: .hex/.ihx writes Intel HEX, anything else raw; "-" is stdout.' },
    { name: 'memory', type: 'string', value: 'M', description: 'flash (default) or eeprom, where the part has it.' },
    { name: 'address', type: 'string', value: 'A', description: 'First address (default: the start of the memory).' },
    { name: 'length', type: 'string', value: 'N', description: 'How many bytes (default: to the end of the memory).' },
    ...OUTPUT_FLAGS,
  ],
  positionals: { min: 0, max: 0 },
  examples: ['read --driver stk500v1 --port /dev/ttyACM0 --out backup.hex', 'read --driver serprog --port /dev/ttyACM0 --chip W25Q16 --out - | sha256sum', 'read --driver stk500v1 --port /dev/ttyACM0 --memory eeprom --out eeprom.bin'],
  run,
};

async function run({ flags, out, cwd }: CommandContext): Promise<number> {
  const choice = deviceChoice(flags, 'read');
  const port = choice.ports[0]!;
  const file = requireFlag(flags, 'out', 'read', '--out dump.bin');
  if (file === STDIO && out.mode.json) throw new UsageError('--out - and --json both want stdout', 'Write the bytes to a file, or drop --json.');
  const memory = stringFlag(flags, 'memory') ?? 'flash';
  const range = { address: wholeNumber(flags, 'address'), length: wholeNumber(flags, 'length') };
  let result;
  try {
    result = await withDriver(choice, port, out, (driver, rt) => runRead(driver, memory, range, rt));
  } catch (err) {
    out.failure(port, toErrorInfo(err));
    return EXIT.failed;
  }
  const data = /\.(hex|ihx)$/i.test(file) ? writeImage({ format: 'read', segments: [{ memory, address: result.address, data: result.data }] }, 'hex') : result.data;
  await writeOutput(cwd, file, data);
  const name = result.identified.device.name;
  const line = `OK   ${port}: read ${result.data.length} bytes of ${memory} from ${name} into ${file === STDIO ? 'stdout' : file}`;
  // With --out - stdout carries the bytes, so the result line goes to stderr.
  if (file === STDIO) out.note(line);
  else out.result({ ok: true, port, memory, address: result.address, length: result.data.length, out: file, device: result.identified.device }, line);
  return EXIT.ok;
}
