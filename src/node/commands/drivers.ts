import { DRIVERS } from '../../drivers/registry';
import { EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';
import { usbIdText } from '../cli/usb-ids';

export const command: Command = {
  name: 'drivers',
  usage: ['drivers [--json]'],
  flags: OUTPUT_FLAGS,
  positionals: { min: 0, max: 0 },
  notes: ['Text: id, link, label, USB IDs usually in front of it. JSON: one object per driver with its whole meta (parts, options, consents).'],
  examples: ['drivers', 'drivers --json | jq -r .id'],
  run,
};

async function run({ out }: CommandContext): Promise<number> {
  for (const { meta } of DRIVERS) {
    out.result({ ok: true, ...meta }, () => {
      const ids = (meta.usbFilters ?? []).map(usbIdText).join(' ');
      return `${meta.id.padEnd(12)} ${meta.link.padEnd(6)} ${meta.label}\n${' '.repeat(20)}${meta.targets.length} parts; USB ${ids || '-'}`;
    });
  }
  return EXIT.ok;
}
