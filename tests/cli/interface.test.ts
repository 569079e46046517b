import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { command as flashCommand } from '../../src/node/commands/flash';
import { COMMANDS } from '../../src/node/commands/index';
import { randomBytes, tempDir } from '../support/tools';
import { jsonLines, ROOT, webprog } from './support';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What a new user meets before any board is connected: help, version, and mistakes (issue 12). */
describe('webprog: conventional interface', () => {
  const dir = tempDir('webprog-cli-interface-');
  const hexFile = join(dir, 'app.hex');
  writeFileSync(hexFile, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(300, 7) }] }));

  it('answers --help, -h, help, --version and -V with exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await webprog(flag);
      expect(r.code, flag).toBe(0);
      for (const c of COMMANDS) expect(r.stdout).toContain(c.name);
      expect(r.stdout).toMatch(/Exit status:[\s\S]*2 +usage error/);
    }
    for (const flag of ['--version', '-V']) {
      const r = await webprog(flag);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(VERSION);
    }
  });

  it('describes every flag of a command, with examples, the same for "help flash" and "flash --help"', async () => {
    const a = await webprog('help', 'flash');
    const b = await webprog('flash', '--help');
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    for (const f of flashCommand.flags) expect(a.stdout).toMatch(new RegExp(`--${f.name}\\b.*\\S+`));
    expect(a.stdout).toMatch(/Examples:\n {2}webprog flash --driver/);
    expect(a.stdout).toContain('--consent');
  });

  it.each([
    [['--bogus'], /flash has no flag --bogus/],
    [['--driver', 'stk500'], /unknown driver "stk500".*Did you mean --driver stk500v1/],
    [['--baud', 'fast'], /--baud must be a whole number/],
    [['--part', 'm999'], /stk500v1 has no part "m999".*webprog parts --driver stk500v1/],
    [['--option', 'speed=1'], /stk500v1 has no option "speed".*takes no options/],
    [['--erase'], /--erase is not available with stk500v1/],
    [['--consent', 'unprotect'], /stk500v1 has nothing that needs consent "unprotect"/],
  ])('refuses %j as a usage error: exit 2, one stderr line with the fix, before the port is opened', async (extra, message) => {
    const args = ['flash', '--port', '/dev/nonexistent-port', ...(extra.includes('--driver') ? [] : ['--driver', 'stk500v1']), ...extra, hexFile];
    const r = await webprog(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    // Had the port been opened first, the error would be "Cannot open /dev/nonexistent-port".
    expect(r.stderr).not.toMatch(/Cannot open|bug in webprog/);
  });

  it('never reserves (and so never voids) a serial number for a usage error', async () => {
    const state = join(dir, 'state');
    const r = await webprog('flash', '--driver', 'stk500v1', '--port', '/dev/nonexistent-port', '--part', 'm999', '--state-dir', state, '--serial-address', '0x100', '--serial-start', '5', hexFile);
    expect(r.code).toBe(2);
    expect(existsSync(join(state, 'serials.jsonl')) ? readFileSync(join(state, 'serials.jsonl'), 'utf8') : '').not.toContain('reserve');
  });

  it('gives errors as JSON with --json: one object with ok, code, message, hint, port and the version', async () => {
    const usage = await webprog('read', '--json', '--driver', 'nope', '--port', '/dev/x', '--out', join(dir, 'x.bin'));
    expect(usage.code).toBe(2);
    const [u] = jsonLines(usage.stdout);
    expect(u).toMatchObject({ ok: false, code: 'usage', version: VERSION, command: 'read' });
    expect(String(u!.message)).toContain('unknown driver');
    expect(u!.hint).toBeTruthy();
    const device = await webprog('read', '--json', '--driver', 'stk500v1', '--port', '/dev/nonexistent-port', '--out', join(dir, 'x.bin'));
    expect(device.code).toBe(1);
    expect(jsonLines(device.stdout)).toEqual([expect.objectContaining({ ok: false, code: 'port-unavailable', port: '/dev/nonexistent-port', version: VERSION })]);
    for (const cmd of [['erase'], ['blank-check'], ['probe'], ['verify', hexFile]]) {
      const r = await webprog(cmd[0]!, '--json', '--driver', 'serprog', '--port', '/dev/nonexistent-port', ...cmd.slice(1));
      expect(r.code, cmd[0]).toBe(1);
      expect(jsonLines(r.stdout)[0], cmd[0]).toMatchObject({ ok: false, code: 'port-unavailable', command: cmd[0] });
    }
  });

  it('refuses convert --to elf as unsupported (exit 2) instead of crashing', async () => {
    const r = await webprog('convert', hexFile, join(dir, 'out.elf'), '--to', 'elf');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/convert cannot write ELF.*bin, hex, srec, uf2/);
    expect(existsSync(join(dir, 'out.elf'))).toBe(false);
  });

  it('lists drivers and parts with their options, as text and as JSON', async () => {
    const drivers = jsonLines((await webprog('drivers', '--json')).stdout);
    expect(drivers.map((d) => d.id)).toEqual(expect.arrayContaining(['stk500v1', 'esp-rom', 'stm32-usart', 'serprog', 'usb-dfu']));
    const parts = jsonLines((await webprog('parts', '--driver', 'esp-rom', '--json')).stdout);
    expect(parts.filter((p) => p.kind === 'part').map((p) => p.id)).toContain('esp32s3');
    expect(parts.find((p) => p.kind === 'option' && p.name === 'before')).toMatchObject({ values: ['default-reset', 'no-reset', 'usb-reset'] });
    const text = await webprog('parts', '--driver', 'stm32-usart');
    expect(text.stdout).toMatch(/--consent unprotect:/);
    expect(text.stdout).toMatch(/unprotect erase-all-flash .*needs consent: unprotect/);
  });

  it('lists ports: exit 0, only JSON lines on stdout with --json', async () => {
    const r = await webprog('ports', '--json');
    expect(r.code).toBe(0);
    for (const p of jsonLines(r.stdout)) expect(p).toMatchObject({ ok: true, kind: expect.stringMatching(/serial|usb/), drivers: expect.any(Array) });
  });
});
