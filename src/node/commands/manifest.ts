import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkBuildParts } from '../../core/manifest/integrity';
import { parseManifest } from '../../core/manifest/model';
import { checkManifestSignature, signedBytes, toBase64Url } from '../../core/manifest/signature';
import { toErrorInfo } from '../../shared/errors';
import { stringFlag } from '../cli/args';
import { partFile, readManifestJson, readPart, readPublicKey } from '../cli/manifest-files';
import { EXIT, OUTPUT_FLAGS, UsageError, type Command, type CommandContext } from '../cli/spec';

/*
 * `webprog manifest keygen|sign|verify`: a vendor's side of signed manifests (README, "Manifests").
 * The private key stays a PKCS#8 PEM file on the vendor's machine; the public key is 32 bytes in
 * base64url, short enough for the install link (`?manifest=…&key=…`).
 */

export const command: Command = {
  name: 'manifest',
  usage: ['manifest keygen --out DIR', 'manifest sign --key PRIVATE_KEY MANIFEST', 'manifest verify --pubkey PUBLIC_KEY MANIFEST'],
  flags: [
    { name: 'out', type: 'string', value: 'DIR', description: 'keygen: the folder for private-key.pem and public-key.txt.' },
    { name: 'key', type: 'string', value: 'FILE', description: 'sign: the private key (private-key.pem from keygen).' },
    { name: 'pubkey', type: 'string', value: 'FILE', description: 'verify: the public key (public-key.txt from keygen, or a PEM).' },
    ...OUTPUT_FLAGS,
  ],
  positionals: { min: 1, max: 2, name: 'keygen|sign|verify [MANIFEST]' },
  notes: [
    'sign fills in each part\'s "sha256" and "size" from the files beside the manifest, then stores the signature in the manifest.',
    'verify exits 0 only when the signature matches the key and every part file matches its SHA-256 and size.',
  ],
  examples: ['manifest keygen --out keys', 'manifest sign --key keys/private-key.pem fw/manifest.json', 'manifest verify --pubkey keys/public-key.txt fw/manifest.json'],
  run,
};

async function run(ctx: CommandContext): Promise<number> {
  const [action, file] = ctx.args;
  if (action === 'keygen') return keygen(ctx);
  if (action !== 'sign' && action !== 'verify') throw new UsageError(`unknown manifest action "${action}"`, 'Use: webprog manifest keygen | sign | verify.');
  if (!file) throw new UsageError(`manifest ${action} needs the manifest file`, `webprog manifest ${action} ${action === 'sign' ? '--key PRIVATE_KEY' : '--pubkey PUBLIC_KEY'} MANIFEST`);
  return action === 'sign' ? signManifest(ctx, resolve(ctx.cwd, file)) : verifyManifest(ctx, resolve(ctx.cwd, file));
}

function keygen({ flags, out, cwd }: CommandContext): number {
  const dir = stringFlag(flags, 'out');
  if (!dir) throw new UsageError('manifest keygen needs --out DIR', 'webprog manifest keygen --out keys');
  const folder = resolve(cwd, dir);
  const privatePath = join(folder, 'private-key.pem');
  if (existsSync(privatePath)) throw new UsageError(`${privatePath} exists`, 'Keep the key you have, or choose another --out folder: a key is never overwritten.');
  mkdirSync(folder, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const pub = rawPublicKey(publicKey);
  writeFileSync(join(folder, 'public-key.txt'), `${pub}\n`);
  out.result({ ok: true, privateKey: privatePath, publicKey: pub }, `OK keys in ${folder}: keep private-key.pem secret; put key=${pub} in your install links`);
  return EXIT.ok;
}

function signManifest({ flags, out }: CommandContext, path: string): number {
  const keyPath = stringFlag(flags, 'key');
  if (!keyPath) throw new UsageError('manifest sign needs --key PRIVATE_KEY', 'webprog manifest sign --key keys/private-key.pem manifest.json');
  const privateKey = createPrivateKey(readFileSync(resolve(keyPath)));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new UsageError(`${keyPath} is not an Ed25519 private key`, 'Use the private-key.pem written by "webprog manifest keygen".');
  const raw = readManifestJson(path);
  parseManifest(raw); // refuse an invalid manifest before signing it
  for (const part of allParts(raw)) {
    const file = partFile(path, part.path);
    if (!existsSync(file)) {
      if (typeof part.sha256 === 'string') continue; // published elsewhere, hashed by the vendor already
      throw new UsageError(`the part ${part.path} is not beside the manifest`, 'Put the part files beside the manifest (as they will be published), or give the part its "sha256".');
    }
    const bytes = readFileSync(file);
    part.sha256 = createHash('sha256').update(bytes).digest('hex');
    part.size = bytes.length;
  }
  delete raw.signature;
  raw.signature = { alg: 'Ed25519', value: toBase64Url(new Uint8Array(sign(null, signedBytes(raw), privateKey))) };
  writeFileSync(path, `${JSON.stringify(raw, null, 2)}\n`);
  out.result({ ok: true, manifest: path, publicKey: rawPublicKey(createPublicKey(privateKey)) }, `OK signed ${path} (${allParts(raw).length} parts hashed)`);
  return EXIT.ok;
}

async function verifyManifest({ flags, out }: CommandContext, path: string): Promise<number> {
  const keyPath = stringFlag(flags, 'pubkey');
  if (!keyPath) throw new UsageError('manifest verify needs --pubkey PUBLIC_KEY', 'webprog manifest verify --pubkey keys/public-key.txt manifest.json');
  const key = readPublicKey(resolve(keyPath));
  const raw = readManifestJson(path);
  try {
    await checkManifestSignature(raw, key);
    const manifest = parseManifest(raw);
    for (const build of manifest.builds) {
      const files = new Map(build.parts.map((p) => [p.path, readPart(path, p.path)] as const));
      checkBuildParts(build, files, { signed: true });
    }
    const parts = manifest.builds.reduce((n, b) => n + b.parts.length, 0);
    out.result({ ok: true, manifest: path, builds: manifest.builds.length, parts }, `OK ${path}: signature and ${parts} part${parts === 1 ? '' : 's'} check`);
    return EXIT.ok;
  } catch (err) {
    out.failure(undefined, toErrorInfo(err), { manifest: path });
    return EXIT.failed;
  }
}

type RawPart = { path: string; sha256?: unknown; size?: unknown };

function allParts(raw: Record<string, unknown>): RawPart[] {
  return (raw.builds as { parts: RawPart[] }[]).flatMap((b) => b.parts);
}





function rawPublicKey(key: KeyObject): string {
  return key.export({ format: 'jwk' }).x!;
}
