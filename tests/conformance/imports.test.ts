import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of ARCHITECTURE.md, checked on every import: a transport never knows a protocol, a
 * protocol never knows the UI, the UI reaches the engine only through the worker's typed API.
 * tsconfig boundaries catch DOM/Node use; this catches imports between folders.
 */
const SRC = resolve('src');

/** Folder → folders its runtime imports may reach (type-only imports are free: they vanish at build). */
const ALLOWED: Record<string, string[]> = {
  shared: ['shared'],
  core: ['core', 'shared'],
  chips: ['chips', 'core', 'shared'],
  drivers: ['drivers', 'chips', 'core', 'shared'],
  transports: ['transports', 'core', 'shared', 'drivers'],
  worker: ['worker', 'transports', 'drivers', 'chips', 'core', 'shared'],
  app: ['app', 'shared'],
  ui: ['ui', 'app', 'shared'],
  node: ['node', 'transports', 'drivers', 'chips', 'core', 'shared'],
  'service-worker': ['service-worker'],
  embed: ['embed'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|svelte)$/.test(name) && !/\.test(\.svelte)?\.ts$/.test(name) ? [path] : [];
  });
}

function runtimeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(?!type\b)([^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) out.push(m[3]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out.filter((s) => s.startsWith('.'));
}

describe('import layering', () => {
  const files = sources(SRC).filter((f) => !f.endsWith('main.ts'));
  it('finds the source tree', () => expect(files.length).toBeGreaterThan(100));

  it.each(Object.keys(ALLOWED))('%s/ imports only what it may', (area) => {
    const offences: string[] = [];
    for (const file of files.filter((f) => relative(SRC, f).split('/')[0] === area)) {
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        const target = relative(SRC, resolve(dirname(file), spec)).split('/')[0]!;
        if (!ALLOWED[area]!.includes(target)) offences.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('drivers reach another driver only through its public files', () => {
    const offences: string[] = [];
    // Files inside a driver's folder; registry.ts and the shared type files sit beside the folders.
    for (const file of files.filter((f) => relative(SRC, f).startsWith('drivers/') && relative(SRC, f).split('/').length > 2)) {
      const own = relative(SRC, file).split('/')[1]!;
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        const parts = relative(SRC, resolve(dirname(file), spec)).split('/');
        if (parts[0] === 'drivers' && parts.length > 2 && parts[1] !== own && !/^(index|driver|meta)(\.ts)?$/.test(parts[2]!)) {
          offences.push(`${relative(SRC, file)} → ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
