import type { CommandSpec } from './spec';

const EXIT_CODES = `Exit status:
  0  success: every device verified (flash, verify), or the command did what it says
  1  a device failed (no answer, refused, mismatch, not blank); the other devices still ran
  2  usage error or unusable input file, found before any port was opened; nothing was touched
  130 interrupted (Ctrl-C)`;

export function mainHelp(commands: readonly { name: string; summary: string }[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `webprog ${version} — firmware programmer (the web app's engine, headless)

Usage: webprog <command> [flags] [files]
       webprog help <command>        webprog <command> --help

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Common flags:
  --json          only JSON lines on stdout (one object per device, errors too)
  -q, --quiet     no progress or driver messages     -v, --verbose   driver debug messages
  -h, --help      help                               -V, --version   print the version

Examples:
  webprog ports
  webprog probe --driver esp-rom --port /dev/ttyUSB0
  webprog flash --driver stk500v1 --port /dev/ttyACM0 --part m328p app.hex
  webprog read --driver serprog --port /dev/ttyACM0 --chip W25Q16 --out - > dump.bin

${EXIT_CODES}
Environment: NO_COLOR turns colour off; WEBPROG_DEBUG=1 is -v.`;
}

export function commandHelp(spec: CommandSpec, summary: string): string {
  const flagText = spec.flags.map((f) => {
    const names = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.value ? ` ${f.value}` : ''}`;
    return { names, description: f.description };
  });
  const width = Math.min(30, Math.max(...flagText.map((f) => f.names.length)));
  const flags = flagText.map((f) => (f.names.length > width ? `  ${f.names}\n  ${' '.repeat(width)}  ${f.description}` : `  ${f.names.padEnd(width)}  ${f.description}`));
  return [
    `webprog ${spec.name} — ${summary}`,
    '',
    ...spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}webprog ${u}`),
    '',
    'Flags:',
    ...flags,
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  webprog ${e}`),
    '',
    EXIT_CODES,
  ].join('\n');
}
