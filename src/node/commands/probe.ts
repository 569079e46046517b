import { runProbe } from '../../core/job/run-job';
import { toErrorInfo } from '../../shared/errors';
import { deviceChoice, withDriver } from '../cli/device';
import { DEVICE_FLAGS, EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'probe',
  usage: ['probe --driver ID --port TTY [--part P] [flags]'],
  flags: [...DEVICE_FLAGS, ...OUTPUT_FLAGS],
  positionals: { min: 0, max: 0 },
  notes: ['Connects, identifies and leaves: part, signature or chip ID, bootloader, memory sizes, and the', 'per-unit ID where the protocol has one (ESP MAC address, STM32 unique ID). Nothing is written.'],
  examples: ['probe --driver esp-rom --port /dev/ttyUSB0', 'probe --json --driver stm32-usart --port /dev/ttyUSB0', 'probe --driver stk500v1 --port /dev/ttyACM0 --part m328p'],
  run,
};

const hex = (n: number) => `0x${n.toString(16)}`;

async function run({ flags, out }: CommandContext): Promise<number> {
  const choice = deviceChoice(flags, 'probe');
  const port = choice.ports[0]!;
  try {
    const { device, memories } = await withDriver(choice, port, out, (driver, rt) => runProbe(driver, rt));
    const mems = memories.map((m) => ({ name: m.name, base: m.base, size: m.size, pageSize: m.pageSize, reserved: m.reserved }));
    out.result({ ok: true, port, driver: choice.entry.meta.id, device, memories: mems }, () =>
      [
        `OK   ${port}: ${device.name}`,
        `     id          ${device.id}`,
        ...(device.unitId ? [`     ${device.unitId.kind.padEnd(11)} ${device.unitId.value}`] : []),
        ...(device.bootloader ? [`     bootloader  ${device.bootloader}`] : []),
        ...(device.baudRate ? [`     baud        ${device.baudRate}`] : []),
        ...mems.map((m) => `     ${m.name.padEnd(11)} ${m.size} bytes at ${hex(m.base)}, page ${m.pageSize}${m.reserved.map((r) => `; ${hex(r.start)}–${hex(r.end - 1)} ${r.what}`).join('')}`),
      ].join('\n'),
    );
    return EXIT.ok;
  } catch (err) {
    out.failure(port, toErrorInfo(err));
    return EXIT.failed;
  }
}
