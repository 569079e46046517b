// Builds the `webprog` bin: src/node/cli.ts and everything it loads, bundled into plain JavaScript in
// dist-cli/ (no tsx at run time). Commands and drivers stay separate chunks, loaded on first use, so
// `webprog --help` starts in a few tens of milliseconds. npm packages (serialport, usb, fflate) stay
// external: they are the package's dependencies. Run by `npm run build`, `npm run build:cli`, and by
// npm itself before `npm pack` / `npm link` (prepare).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist-cli');

rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { webprog: 'src/node/cli.ts' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // Chunks beside the entry: files found next to a module at run time (pty-bridge.py) sit there too.
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
});
mkdirSync(out, { recursive: true });
// Run-time companions the bundle finds with `new URL('./…', import.meta.url)`.
// The libusb stand-in's source and build script go too: `webprog simulate usb-dfu` builds it on demand.
mkdirSync(join(out, 'libusb-shim'), { recursive: true });
for (const [from, to] of [
  ['src/node/pty-bridge.py', 'pty-bridge.py'],
  ['src/node/usb/libusb-shim/build.sh', 'libusb-shim/build.sh'],
  ['src/node/usb/libusb-shim/libusb-shim.c', 'libusb-shim/libusb-shim.c'],
]) {
  copyFileSync(join(root, from), join(out, to));
}
