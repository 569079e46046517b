import { writeImage, type WriteFormat } from '../../core/image/index';
import { choiceFlag, wholeNumber } from '../cli/args';
import { loadImage, writeOutput, STDIO } from '../cli/files';
import { EXIT, OUTPUT_FLAGS, UsageError, type Command, type CommandContext } from '../cli/spec';

const FORMATS: readonly WriteFormat[] = ['bin', 'hex', 'srec', 'uf2'];

export const command: Command = {
  name: 'convert',
  usage: ['convert IN OUT --to bin|hex|srec|uf2 [--fill 0xFF] [--family ID]'],
  flags: [
    { name: 'to', type: 'string', value: 'FORMAT', description: 'bin (lowest to highest address, holes filled) | hex | srec | uf2. ELF is read, not written.' },
    { name: 'fill', type: 'string', value: 'BYTE', description: 'Byte for holes in a bin and partial UF2 pages (default 0xFF).' },
    { name: 'family', type: 'string', value: 'ID', description: 'UF2 family ID, e.g. 0xe48bff56 (RP2040).' },
    ...OUTPUT_FLAGS,
  ],
  positionals: { min: 2, max: 2, name: 'file (IN and OUT)' },
  notes: ['IN may be any format webprog reads (HEX, S-record, ELF, UF2, DfuSe, bin); "-" is stdin or stdout.'],
  examples: ['convert app.hex app.bin --to bin', 'convert app.elf app.uf2 --to uf2 --family 0xe48bff56', 'convert - - --to srec < app.hex > app.srec'],
  run,
};

async function run({ flags, args, out, cwd }: CommandContext): Promise<number> {
  if (flags.to === 'elf') throw new UsageError('convert cannot write ELF', `webprog reads ELF but writes ${FORMATS.join(', ')}: choose one of those with --to.`);
  const to = choiceFlag(flags, 'to', FORMATS);
  if (!to) throw new UsageError('convert needs --to', `Choose the output format: --to ${FORMATS.join('|')}.`);
  const fill = wholeNumber(flags, 'fill');
  if (fill !== undefined && fill > 0xff) throw new UsageError(`--fill must be one byte (0..0xFF), got ${fill}`, 'For example --fill 0xFF.');
  const familyId = wholeNumber(flags, 'family');
  const [input, output] = args as [string, string];
  if (output === STDIO && out.mode.json) throw new UsageError('OUT "-" and --json both want stdout', 'Write to a file, or drop --json.');
  const image = await loadImage(cwd, input);
  const bytes = writeImage(image, to, { ...(fill === undefined ? {} : { fill }), ...(familyId === undefined ? {} : { familyId }) });
  await writeOutput(cwd, output, bytes);
  if (out.mode.json) out.result({ ok: true, in: input, out: output, to, bytes: bytes.length }, '');
  return EXIT.ok;
}
