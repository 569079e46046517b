import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { randomBytes, run, tempDir } from '../support/tools';
import { ROOT } from './support';

/**
 * webprog as people install it (issue 12): the packed tarball installed globally into a temporary
 * prefix, run from a directory that is not the repository, with no tsx anywhere.
 */
describe('webprog as an installed tool', () => {
  const work = tempDir('webprog-pack-');
  const elsewhere = tempDir('webprog-elsewhere-');
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('npm pack → npm i -g tarball → webprog --version and webprog info from another directory', async () => {
    const pack = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, timeoutMs: 180_000 });
    expect(pack.code, pack.stderr).toBe(0);
    const tarball = join(work, pack.stdout.trim().split('\n').pop()!);
    const prefix = join(work, 'prefix');
    const install = await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: elsewhere, timeoutMs: 300_000 });
    expect(install.code, install.stderr).toBe(0);
    const bin = join(prefix, 'bin', 'webprog');

    const version = await run(bin, ['--version'], { cwd: elsewhere });
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);

    writeFileSync(join(elsewhere, 'fw.hex'), writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0x100, data: randomBytes(64, 3) }] }));
    const info = await run(bin, ['info', 'fw.hex'], { cwd: elsewhere });
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/segment flash 0x00000100 64 bytes/);
    // The installed bin is built JavaScript: no tsx in the package or its dependencies.
    const tsx = await run('find', [join(prefix, 'lib', 'node_modules', 'webprog'), '-name', 'tsx', '-maxdepth', '3'], {});
    expect(tsx.stdout.trim()).toBe('');
  });

  it('npm run webprog resolves relative paths against the directory it was run from', async () => {
    writeFileSync(join(elsewhere, 'rel.hex'), writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(16, 4) }] }));
    const r = await run('npm', ['--prefix', ROOT, 'run', '--silent', 'webprog', '--', 'info', 'rel.hex'], { cwd: elsewhere, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bytes +16/);
  });
});
