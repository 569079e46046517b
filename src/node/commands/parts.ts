import { CONSENTS } from '../../shared/options';
import { deviceDriver } from '../cli/device';
import { EXIT, OUTPUT_FLAGS, type Command, type CommandContext } from '../cli/spec';

export const command: Command = {
  name: 'parts',
  usage: ['parts --driver ID [--json]'],
  flags: [{ name: 'driver', type: 'string', value: 'ID', description: 'The driver whose parts, boards and options to list.' }, ...OUTPUT_FLAGS],
  positionals: { min: 0, max: 0 },
  notes: ['--part accepts a part\'s id, its name or one of its boards, ignoring case and punctuation.'],
  examples: ['parts --driver stk500v1', 'parts --driver esp-rom --json'],
  run,
};

async function run({ flags, out }: CommandContext): Promise<number> {
  const { meta } = deviceDriver(flags, 'parts');
  for (const t of meta.targets) {
    out.result({ ok: true, driver: meta.id, kind: 'part', ...t }, () => {
      const mems = t.memories.map((m) => `${m.name} ${m.size >= 1024 ? `${m.size / 1024} KiB` : `${m.size} B`}`).join(', ');
      return `${t.id.padEnd(16)} ${t.name.padEnd(24)} ${mems}${t.boards.length ? `  (${t.boards.join(', ')})` : ''}`;
    });
  }
  const options = meta.options ?? [];
  if (!out.mode.json) out.text(options.length ? '\nOptions (--option KEY=VALUE; before/after also as --before/--after):' : '\nOptions: none');
  for (const o of options) {
    out.result({ ok: true, driver: meta.id, kind: 'option', ...o }, () => {
      const values = o.values ? ` ${o.type === 'list' ? '[list of] ' : ''}${o.values.join('|')}` : ` <${o.type}>`;
      return `  ${o.name}${values}${o.default ? ` (default ${o.default})` : ''}${o.dangerous ? ` [needs consent: ${o.dangerous}]` : ''}\n      ${o.description}`;
    });
  }
  for (const word of meta.consents ?? []) {
    out.result({ ok: true, driver: meta.id, kind: 'consent', word, description: CONSENTS[word] }, `  --consent ${word}: ${CONSENTS[word]}`);
  }
  return EXIT.ok;
}
