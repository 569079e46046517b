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

  /** core/io modules by the link kind they serve; clock and signal serve every kind. */
  const LINK_SEAMS: Record<string, string[]> = {
    serial: ['byte-stream', 'uart-link'],
    usb: ['usb-pipe', 'usb-descriptors'],
    hid: ['hid-pipe'],
    drive: ['drive'],
  };
  /** The in-memory links and fault injectors: for transports/virtual.ts and tests, never for a protocol. */
  const SIMULATED = ['usb-bus', 'hid-bus', 'drive-bus', 'faults'];

  function allImports(text: string): string[] {
    return [...text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!).filter((s) => s.startsWith('.'));
  }

  it('a driver reaches only its own link kind\'s seam in core/io, and never a simulated link', () => {
    const offences: string[] = [];
    const folders = readdirSync(join(SRC, 'drivers')).filter((d) => statSync(join(SRC, 'drivers', d)).isDirectory());
    expect(folders.length).toBeGreaterThan(4);
    for (const folder of folders) {
      const meta = readFileSync(join(SRC, 'drivers', folder, 'meta.ts'), 'utf8');
      const kind = /\blink: '(serial|usb|hid|drive)'/.exec(meta)?.[1];
      expect(kind, `${folder}/meta.ts names its link kind`).toBeDefined();
      const foreign = Object.entries(LINK_SEAMS).flatMap(([k, mods]) => (k === kind ? [] : mods));
      for (const file of files.filter((f) => relative(SRC, f).startsWith(`drivers/${folder}/`))) {
        for (const spec of allImports(readFileSync(file, 'utf8'))) {
          const parts = relative(SRC, resolve(dirname(file), spec)).split('/');
          if (parts[0] !== 'core' || parts[1] !== 'io') continue;
          const mod = parts[2]!.replace(/\.ts$/, '');
          if (foreign.includes(mod) || SIMULATED.includes(mod)) offences.push(`${relative(SRC, file)} (${kind}) → ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('each link seam in core/io stands alone: no seam imports a simulated link or another kind\'s seam', () => {
    const offences: string[] = [];
    for (const [kind, mods] of Object.entries(LINK_SEAMS)) {
      const others = Object.entries(LINK_SEAMS).flatMap(([k, m]) => (k === kind ? [] : m));
      for (const mod of mods) {
        const file = join(SRC, 'core', 'io', `${mod}.ts`);
        for (const spec of allImports(readFileSync(file, 'utf8'))) {
          const name = spec.replace(/^\.\//, '').replace(/\.ts$/, '');
          if (SIMULATED.includes(name) || others.includes(name)) offences.push(`core/io/${mod}.ts → ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
