import { describeImage } from '../../core/image/index';
import { loadImage } from '../cli/files';
import { EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'info',
  usage: ['info FILE [--json]'],
  flags: OUTPUT_FLAGS,
  positionals: { min: 1, max: 1, name: 'firmware file' },
  notes: ['FILE may be "-" for stdin.'],
  examples: ['info blink.hex', 'info --json app.uf2', 'cat app.srec | webprog info -'],
  run,
};

async function run({ args, out, cwd }: CommandContext): Promise<number> {
  const d = describeImage(await loadImage(cwd, args[0]!));
  out.result({ ok: true, file: args[0], ...d }, () =>
    [
      `format  ${d.format}`,
      `bytes   ${d.totalBytes}`,
      `crc32   ${d.crc32}`,
      `sha256  ${d.sha256}`,
      ...d.segments.map((s) => `segment ${s.memory} 0x${s.address.toString(16).padStart(8, '0')} ${s.length} bytes`),
    ].join('\n'),
  );
  return EXIT.ok;
}
