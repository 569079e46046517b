/**
 * Scaffolds a protocol driver: `npm run new:driver -- <id>` creates src/drivers/<id>/ with meta,
 * protocol, driver, simulator and a test, and adds its one line to src/drivers/registry.ts.
 * The conformance suite then picks it up (and fails until the simulator and driver really work).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const id = process.argv[2];
if (!id || !/^[a-z][a-z0-9-]*$/.test(id)) {
  console.error('usage: npm run new:driver -- <id>   (lower-case, digits and dashes, e.g. stk500v2)');
  process.exit(2);
}
const camel = id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const Pascal = camel[0]!.toUpperCase() + camel.slice(1);
const dir = join('src', 'drivers', id);
if (existsSync(dir)) {
  console.error(`${dir} exists already`);
  process.exit(1);
}
mkdirSync(dir, { recursive: true });

const files: Record<string, string> = {
  'meta.ts': `import type { DriverMeta } from '../types';

export const ${camel}Meta: DriverMeta = {
  id: '${id}',
  label: 'TODO: what users call this bootloader or programmer',
  link: 'serial',
  serialDefaults: { baudRate: 115200 },
  capabilities: { erase: false, read: true, eeprom: false },
  targets: [],
  tested: { probe: 'untested', read: 'untested', write: 'untested', erase: 'na' },
};
`,
  'protocol.ts': `/** ${id} constants, named exactly as in the specification, each with its citation (document, section). */
export const Command = {} as const;
`,
  'driver.ts': `import { FlashError } from '../../shared/errors';
import type { BlockConstraints, Driver, DriverContext, Identified } from '../types';

export class ${Pascal}Driver implements Driver {
  constructor(private readonly ctx: DriverContext) {}

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

export function createDriver(ctx: DriverContext): Driver {
  return new ${Pascal}Driver(ctx);
}
`,
  'simulator.ts': `import type { DevicePort } from '../../core/io/uart-link';
import { FlashError } from '../../shared/errors';
import type { Simulator, SimulatorOptions } from '../types';

/** Write this first: the device at byte level, with the timings of its datasheet. */
export class ${Pascal}Simulator implements Simulator {
  readonly baudRate = 115200;
  constructor(private readonly opts: SimulatorOptions) {}
  attach(_port: DevicePort): void {}
  reset(): void {}
  memory(name: string): Uint8Array {
    throw new FlashError('unsupported', \`No memory called \${name}.\`);
  }
}

export function createSimulator(opts: SimulatorOptions): Simulator {
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
console.log(`created ${dir}/ and added its line to ${registryPath}`);
