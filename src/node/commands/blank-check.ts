import { runRead } from '../../core/job/run-job';
import { toErrorInfo } from '../../shared/errors';
import { stringFlag } from '../cli/args';
import { deviceChoice, withDriver } from '../cli/device';
import { DEVICE_FLAGS, EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'blank-check',
  usage: ['blank-check --driver ID --port TTY [--memory M] [flags]'],
  flags: [...DEVICE_FLAGS, { name: 'memory', type: 'string', value: 'M', description: 'flash (default) or eeprom.' }, ...OUTPUT_FLAGS],
  positionals: { min: 0, max: 0 },
  notes: ['Sections the device reserves (a bootloader) are left out, and the result says so. Exit 0 blank, 1 not blank.'],
  examples: ['blank-check --driver serprog --port /dev/ttyACM0 --chip W25Q16', 'blank-check --driver stk500v1 --port /dev/ttyACM0'],
  run,
};

const hex = (n: number) => `0x${n.toString(16)}`;

async function run({ flags, out }: CommandContext): Promise<number> {
  const choice = deviceChoice(flags, 'blank-check');
  const port = choice.ports[0]!;
  const memory = stringFlag(flags, 'memory') ?? 'flash';
  let result;
  try {
    result = await withDriver(choice, port, out, (driver, rt) => runRead(driver, memory, {}, rt));
  } catch (err) {
    out.failure(port, toErrorInfo(err));
    return EXIT.failed;
  }
  const { fill, data, address } = result;
  const name = result.identified.device.name;
  const reserved = result.identified.memories.find((m) => m.name === memory)?.reserved ?? [];
  const isReserved = (at: number) => reserved.some((r) => at >= r.start && at < r.end);
  let dirty = -1;
  let checked = 0;
  for (let i = 0; i < data.length; i++) {
    if (isReserved(address + i)) continue;
    checked++;
    if (dirty < 0 && data[i] !== fill) dirty = i;
  }
  const excluded = reserved.map((r) => `${hex(r.start)}–${hex(r.end - 1)} (${r.what})`);
  const note = excluded.length ? `, excluding ${excluded.join(', ')}` : '';
  const json = { port, memory, device: result.identified.device, bytesChecked: checked, excluded: reserved };
  if (dirty < 0) {
    out.result({ ok: true, blank: true, ...json }, `OK   ${port}: ${name} ${memory} is blank (${checked} bytes of ${hex(fill)}${note})`);
    return EXIT.ok;
  }
  const at = address + dirty;
  const message = `${name} ${memory} is not blank: ${hex(at)} holds ${hex(data[dirty]!)}${note}`;
  out.result({ ok: false, blank: false, code: 'not-blank', message, hint: 'Erase the chip first (webprog erase), or flash over it.', firstDirty: at, ...json }, `FAIL ${port}: ${message}`);
  return EXIT.failed;
}
