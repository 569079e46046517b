import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes, run, tempDir } from '../support/tools';
import { CLI, ROOT, TSX, webprog } from './support';

/** "webprog simulate usb-dfu prints USB <vid>:<pid> ENV <…>: the environment under which dfu-util sees it" (issue 12). */
describe('webprog simulate usb-dfu', () => {
  const dir = tempDir('webprog-sim-usb-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a virtual DFU device that dfu-util lists and downloads to, through the printed ENV, and ends cleanly', async () => {
    const proc = spawn(TSX, [CLI, 'simulate', 'usb-dfu'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const line = await new Promise<string>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`simulate exited with ${code}: ${stderr}`)));
      createInterface({ input: proc.stdout! }).once('line', resolve);
    });
    const m = /^USB ([0-9a-f]{4}):([0-9a-f]{4}) ENV (.+)$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(`${m![1]}:${m![2]}`).toBe('0483:df11');
    const env = { ...process.env, ...Object.fromEntries(m![3]!.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
    const dfu = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('dfu-util', args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => resolve({ code, out }));
      });

    const list = await dfu(['-l']);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toMatch(/Found DFU: \[0483:df11\].*alt=0, name="@Internal Flash/);

    const data = randomBytes(5000, 9);
    writeFileSync(join(dir, 'fw.bin'), data);
    const down = await dfu(['-a', '0', '-s', '0x08000000', '-D', 'fw.bin']);
    expect(down.code, down.out).toBe(0);
    expect(down.out).toContain('File downloaded successfully');
    const up = await dfu(['-a', '0', '-s', '0x08000000:5000', '-U', 'back.bin']);
    expect(up.code, up.out).toBe(0);
    expect(readFileSync(join(dir, 'back.bin')).equals(Buffer.from(data))).toBe(true);

    proc.kill('SIGTERM');
    const end = Date.now() + 8000;
    const members = () => {
      try {
        return execFileSync('ps', ['-o', 'pid=', '-g', String(proc.pid)], { encoding: 'utf8' }).trim();
      } catch {
        return '';
      }
    };
    while (members() && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    expect(members()).toBe('');
    expect(stderr).not.toMatch(/Traceback|BrokenPipe|Error/);
  });

  it('usb-dfu through --usb is a USB device, not a port: usage errors before anything opens', async () => {
    for (const [args, message] of [
      [['--port', '/dev/ttyUSB0'], /takes --usb, not --port/],
      [['--usb', 'df11'], /--usb takes VID:PID\[:SERIAL\]/],
    ] as const) {
      const r = await webprog('probe', '--driver', 'usb-dfu', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const r = await run(TSX, [CLI, 'probe', '--json', '--driver', 'usb-dfu', '--usb', '0483:df11:NOPE'], { cwd: ROOT });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'port-unavailable', port: 'usb:0483:df11:NOPE' });
  });
});
