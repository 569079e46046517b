/**
 * Scaffolds a protocol driver: `npm run new:driver -- <id> [--link serial|usb|hid|drive]` creates
 * src/drivers/<id>/ with meta, protocol, driver, simulator and a test, typed for that link kind
 * (its context and simulator interface), and adds its one line to src/drivers/registry.ts.
 * The conformance suite then picks it up (and fails until the simulator and driver really work).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KINDS = ['serial', 'usb', 'hid', 'drive'] as const;
type Kind = (typeof KINDS)[number];

const args = process.argv.slice(2);
const linkAt = args.indexOf('--link');
const kind = (linkAt >= 0 ? args[linkAt + 1] : 'serial') as Kind;
const id = args.filter((a, i) => !a.startsWith('--') && (linkAt < 0 || i !== linkAt + 1))[0];
if (!id || !/^[a-z][a-z0-9-]*$/.test(id) || !KINDS.includes(kind)) {
  console.error('usage: npm run new:driver -- <id> [--link serial|usb|hid|drive]   (id: lower-case, digits and dashes, e.g. stk500v2)');
  process.exit(2);
}
const camel = id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const Pascal = camel[0]!.toUpperCase() + camel.slice(1);
const dir = join('src', 'drivers', id);
if (existsSync(dir)) {
  console.error(`${dir} exists already`);
  process.exit(1);
}

/** What differs per link kind: the context and simulator types, how the link is described in meta, the simulator's members. */
const LINK: Record<Kind, { context: string; simulator: string; meta: string; simImports: string; simMembers: string }> = {
  serial: {
    context: 'DriverContext',
    simulator: 'SerialSimulator',
    meta: `  serialDefaults: { baudRate: 115200 },\n`,
    simImports: `import type { DevicePort } from '../../core/io/uart-link';\n`,
    simMembers: `  readonly baudRate = 115200;\n  attach(_port: DevicePort): void {}\n  reset(): void {}\n`,
  },
  usb: {
    context: 'UsbDriverContext',
    simulator: 'UsbSimulator',
    meta: `  usbFilters: [], // TODO: { usbVendorId, usbProductId } of the device in its bootloader\n`,
    simImports: `import type { UsbControlRequest, UsbDevicePort, UsbReply } from '../../core/io/usb-pipe';\n`,
    simMembers:
      `  attachUsb(_port: UsbDevicePort): void {}\n  busReset(_at: number): void {}\n` +
      `  control(_request: UsbControlRequest): UsbReply {\n    return { status: 'stall' };\n  }\n`,
  },
  hid: {
    context: 'HidDriverContext',
    simulator: 'HidSimulator',
    meta: `  usbFilters: [], // TODO: { usbVendorId, usbProductId } of the HID interface\n`,
    simImports: `import type { HidDeviceInfo, HidDevicePort, HidReport } from '../../core/io/hid-pipe';\n`,
    simMembers:
      `  readonly info: HidDeviceInfo = { vendorId: 0, productId: 0, inputReportSize: 64, outputReportSize: 64 }; // TODO\n` +
      `  connect(_port: HidDevicePort): void {}\n  output(_report: HidReport, _at: number): void {}\n`,
  },
  drive: {
    context: 'DriveDriverContext',
    simulator: 'DriveSimulator',
    meta: '',
    simImports: `import type { DriveDevicePort, DriveFile } from '../../core/io/drive';\n`,
    simMembers:
      `  readonly info = { label: 'TODO' }; // the volume label the bootloader shows\n` +
      `  connect(_port: DriveDevicePort): void {}\n  files(): DriveFile[] {\n    return [];\n  }\n` +
      `  readFile(_name: string): Uint8Array | null {\n    return null;\n  }\n  writeFile(_name: string, _data: Uint8Array, _at: number): void {}\n`,
  },
};
const link = LINK[kind];
mkdirSync(dir, { recursive: true });

const files: Record<string, string> = {
  'meta.ts': `import type { DriverMeta } from '../types';

export const ${camel}Meta: DriverMeta<'${kind}'> = {
  id: '${id}',
  label: 'TODO: what users call this bootloader or programmer',
  link: '${kind}',
${link.meta}  capabilities: { erase: false, read: true, eeprom: false },
  targets: [],
  tested: { probe: 'untested', read: 'untested', write: 'untested', erase: 'na' },
};
`,
  'protocol.ts': `/** ${id} constants, named exactly as in the specification, each with its citation (document, section). */
export const Command = {} as const;
`,
  'driver.ts': `import { FlashError } from '../../shared/errors';
import type { BlockConstraints, Driver, ${link.context}, Identified } from '../types';

export class ${Pascal}Driver implements Driver {
  constructor(private readonly ctx: ${link.context}) {}

  async connect(): Promise<void> {
    throw new FlashError('unsupported', '${id}: connect is not written yet.');
  }

  async identify(): Promise<Identified> {
    throw new FlashError('unsupported', '${id}: identify is not written yet.');
  }

  constraints(_memory: string): BlockConstraints {
    return { pageSize: 256, maxBlock: 256, fill: 0xff };
  }

  async writeBlock(_memory: string, _address: number, _data: Uint8Array): Promise<void> {
    throw new FlashError('unsupported', '${id}: writeBlock is not written yet.');
  }

  async close(): Promise<void> {}
}

export function createDriver(ctx: ${link.context}): Driver {
  return new ${Pascal}Driver(ctx);
}
`,
  'simulator.ts': `${link.simImports}import { FlashError } from '../../shared/errors';
import type { ${link.simulator}, SimulatorOptions } from '../types';

/** Write this first: the device at its link's level, with the timings of its datasheet. */
export class ${Pascal}Simulator implements ${link.simulator} {
${link.simMembers}  constructor(private readonly opts: SimulatorOptions) {}
  memory(name: string): Uint8Array {
    throw new FlashError('unsupported', \`No memory called \${name}.\`);
  }
}

export function createSimulator(opts: SimulatorOptions): ${link.simulator} {
  return new ${Pascal}Simulator(opts);
}
`,
  [`${id}.test.ts`]: `import { describe, it } from 'vitest';

describe('${id} driver against its simulator', () => {
  it.todo('writes, verifies and reads back an image');
  it.todo('refuses the wrong chip before writing');
  it.todo('reports no answer with a hint');
});
`,
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);

const registryPath = join('src', 'drivers', 'registry.ts');
let registry = readFileSync(registryPath, 'utf8');
const lastImport = registry.lastIndexOf("/meta';\n") + "/meta';\n".length;
registry = registry.slice(0, lastImport) + `import { ${camel}Meta } from './${id}/meta';\n` + registry.slice(lastImport);
registry = registry.replace(
  /\n\];\n/,
  `\n  defineDriver(${camel}Meta, () => import('./${id}/driver'), () => import('./${id}/simulator')),\n];\n`,
);
writeFileSync(registryPath, registry);
console.log(`created ${dir}/ (link ${kind}) and added its line to ${registryPath}`);
