import { runErase } from '../../core/job/run-job';
import { toErrorInfo } from '../../shared/errors';
import { deviceChoice, withDriver } from '../cli/device';
import { DEVICE_FLAGS, EXIT, OUTPUT_FLAGS, UsageError, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'erase',
  usage: ['erase --driver ID --port TTY [--part P] [flags]'],
  flags: [...DEVICE_FLAGS, ...OUTPUT_FLAGS],
  positionals: { min: 0, max: 0 },
  notes: ['Erases the whole chip. Drivers whose bootloader has no erase (stk500v1: pages are erased as they are written) refuse.'],
  examples: ['erase --driver serprog --port /dev/ttyACM0 --chip W25Q16', 'erase --driver stm32-usart --port /dev/ttyUSB0'],
  run,
};

async function run({ flags, out }: CommandContext): Promise<number> {
  const choice = deviceChoice(flags, 'erase');
  if (!choice.entry.meta.capabilities.erase) {
    throw new UsageError(`${choice.entry.meta.id} cannot erase a whole chip`, 'Its bootloader erases each page as it writes it: just flash the new image.');
  }
  const port = choice.ports[0]!;
  try {
    const identified = await withDriver(choice, port, out, (driver, rt) => runErase(driver, rt));
    out.result({ ok: true, port, device: identified.device }, `OK   ${port}: ${identified.device.name} (${identified.device.id}) erased`);
    return EXIT.ok;
  } catch (err) {
    out.failure(port, toErrorInfo(err));
    return EXIT.failed;
  }
}
