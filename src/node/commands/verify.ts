import { runVerify } from '../../core/job/run-job';
import { toErrorInfo } from '../../shared/errors';
import { deviceChoice, withDriver } from '../cli/device';
import { displayName } from '../cli/files';
import { PLACEMENT_FLAGS, placedImage, requiring } from '../cli/placement';
import { DEVICE_FLAGS, EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'verify',
  usage: ['verify --driver ID --port TTY [flags] FILE', 'verify --driver ID --port TTY [flags] FILE@ADDRESS [FILE@ADDRESS ...]'],
  flags: [...DEVICE_FLAGS, ...PLACEMENT_FLAGS, ...OUTPUT_FLAGS],
  positionals: { min: 1, max: Infinity, name: 'firmware file' },
  notes: ['Compares by the device\'s own digest where the protocol has one (ESP MD5, STM32 CRC), else by reading back.', 'Exit 0 when every byte matches, 1 at the first difference (named by address).'],
  examples: ['verify --driver stk500v1 --port /dev/ttyACM0 blink.hex', 'verify --driver esp-rom --port /dev/ttyUSB0 app.bin@0x10000'],
  run,
};

async function run({ flags, args, out, cwd }: CommandContext): Promise<number> {
  const choice = deviceChoice(flags, 'verify');
  const port = choice.ports[0]!;
  const file = args.map(displayName).join(' + ');
  const { image, requires } = await placedImage({ flags, args, out, cwd }, choice, out);
  try {
    const report = await withDriver(choice, port, out, (driver, rt) => runVerify(driver, image, requiring(rt, requires)));
    const by = report.verifiedBy === 'device-digest' ? 'by device digest' : 'read back';
    out.result({ ok: true, port, file, verified: true, report }, `OK   ${port}: ${report.device.name} (${report.device.id}) holds ${file}: ${report.bytesVerified} bytes verified (${by})`);
    return EXIT.ok;
  } catch (err) {
    out.failure(port, toErrorInfo(err), { file });
    return EXIT.failed;
  }
}
