import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm run new:driver -- <id> --link <kind>` in a scratch copy of the registry: one folder and one line, typed for the kind. */
describe('new:driver', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'webprog-new-driver-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  mkdirSync(join(scratch, 'src', 'drivers'), { recursive: true });
  copyFileSync('src/drivers/registry.ts', join(scratch, 'src', 'drivers', 'registry.ts'));
  const run = (...args: string[]) =>
    execFileSync(process.execPath, [resolve('node_modules/tsx/dist/cli.mjs'), resolve('scripts/new-driver.ts'), ...args], { cwd: scratch, encoding: 'utf8', stdio: 'pipe' });

  it.each([
    ['serial', 'DriverContext', 'SerialSimulator', 'attach('],
    ['usb', 'UsbDriverContext', 'UsbSimulator', 'control('],
    ['hid', 'HidDriverContext', 'HidSimulator', 'output('],
    ['drive', 'DriveDriverContext', 'DriveSimulator', 'writeFile('],
  ])('scaffolds a %s driver with its own context and simulator types', (kind, context, simulator, member) => {
    expect(run(`demo-${kind}`, '--link', kind)).toContain(`link ${kind}`);
    const dir = join(scratch, 'src', 'drivers', `demo-${kind}`);
    expect(readFileSync(join(dir, 'meta.ts'), 'utf8')).toContain(`link: '${kind}'`);
    expect(readFileSync(join(dir, 'driver.ts'), 'utf8')).toContain(`createDriver(ctx: ${context})`);
    const sim = readFileSync(join(dir, 'simulator.ts'), 'utf8');
    expect(sim).toContain(`implements ${simulator}`);
    expect(sim).toContain(member);
    const registry = readFileSync(join(scratch, 'src', 'drivers', 'registry.ts'), 'utf8');
    const camel = `demo${kind[0]!.toUpperCase()}${kind.slice(1)}Meta`;
    expect(registry).toContain(`defineDriver(${camel}, () => import('./demo-${kind}/driver'), () => import('./demo-${kind}/simulator')),`);
  });

  it('refuses an unknown link kind', () => {
    expect(() => run('demo-x', '--link', 'bluetooth')).toThrow(/usage: npm run new:driver/);
  });
});
