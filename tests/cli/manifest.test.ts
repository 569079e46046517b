import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes, run, simulateCli, tempDir } from '../support/tools';

/**
 * A vendor's side of signed manifests: make keys, sign (which hashes every part), verify. Verify exits
 * 0 only when the signature and every part check; the exit codes are what release scripts test.
 */
const TSX = join('node_modules', '.bin', 'tsx');
const CLI = join('src', 'node', 'cli.ts');
const webprog = (...args: string[]) => run(TSX, [CLI, ...args], { timeoutMs: 60_000 });

const dir = tempDir('webprog-manifest-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webprog manifest', () => {
  const manifest = join(dir, 'fw', 'manifest.json');
  const part = join(dir, 'fw', 'app.bin');

  it('makes keys, signs a manifest with each part hashed, and verifies it', async () => {
    const keys = await webprog('manifest', 'keygen', '--out', join(dir, 'keys'));
    expect(keys.code).toBe(0);
    const pub = readFileSync(join(dir, 'keys', 'public-key.txt'), 'utf8').trim();
    expect(pub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keys.stdout).toContain(`key=${pub}`);
    expect((await webprog('manifest', 'keygen', '--out', join(dir, 'keys'))).code).toBe(2); // never overwrites a key

    mkdirSync(join(dir, 'fw'), { recursive: true });
    writeFileSync(part, randomBytes(4096, 3));
    writeFileSync(manifest, JSON.stringify({ name: 'Acme', version: '1.0.0', builds: [{ driver: 'stk500v1', parts: [{ path: 'app.bin', offset: 0 }] }] }));
    const signed = await webprog('manifest', 'sign', '--key', join(dir, 'keys', 'private-key.pem'), manifest);
    expect(signed.code).toBe(0);
    const json = JSON.parse(readFileSync(manifest, 'utf8'));
    expect(json.builds[0].parts[0]).toMatchObject({ size: 4096, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(json.signature).toMatchObject({ alg: 'Ed25519', value: expect.any(String) });

    const ok = await webprog('manifest', 'verify', '--pubkey', join(dir, 'keys', 'public-key.txt'), manifest);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('signature and 1 part check');
  });

  it('fails verify on a changed part, a changed manifest, or another key', async () => {
    const pubkey = join(dir, 'keys', 'public-key.txt');
    const original = readFileSync(part);
    const tampered = Buffer.from(original);
    tampered[10]! ^= 0xff;
    writeFileSync(part, tampered);
    const badPart = await webprog('manifest', 'verify', '--pubkey', pubkey, manifest);
    expect(badPart.code).toBe(1);
    expect(badPart.stdout).toContain('is not the one the manifest describes');
    writeFileSync(part, original);

    const text = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, text.replace('"1.0.0"', '"1.0.1"'));
    const badManifest = await webprog('manifest', 'verify', '--pubkey', pubkey, manifest);
    expect(badManifest.code).toBe(1);
    expect(badManifest.stdout).toContain('does not match');
    writeFileSync(manifest, text);

    await webprog('manifest', 'keygen', '--out', join(dir, 'other'));
    expect((await webprog('manifest', 'verify', '--pubkey', join(dir, 'other', 'public-key.txt'), manifest)).code).toBe(1);
    expect((await webprog('manifest', 'verify', '--pubkey', pubkey, manifest)).code).toBe(0);
  });

  it('flash --manifest installs the signed build on a simulated Uno, and refuses a tampered part before writing', async () => {
    const uno = await simulateCli('stk500v1');
    try {
      const pubkey = join(dir, 'keys', 'public-key.txt');
      const ok = await webprog('flash', '--manifest', manifest, '--pubkey', pubkey, '--driver', 'stk500v1', '--port', uno.path);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^OK .*ATmega328P \(1e950f\) 4096 bytes written and verified/m);

      const original = readFileSync(part);
      const tampered = Buffer.from(original);
      tampered[99]! ^= 1;
      writeFileSync(part, tampered);
      const refused = await webprog('flash', '--manifest', manifest, '--pubkey', pubkey, '--driver', 'stk500v1', '--port', uno.path);
      writeFileSync(part, original);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('is not the one the manifest describes');
      expect(refused.stderr).not.toMatch(/writ(e|ing) [0-9]/i);
    } finally {
      uno.proc.kill();
    }
  });
});
