import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { randomBytes, run, tempDir } from '../support/tools';
import { CLI, jsonLines, simulate, TSX, webprog, webprogWithInput } from './support';

/** The commands against simulated boards, as a script or a CI rig would run them (issue 12 findings). */
describe('webprog against simulated boards', () => {
  const dir = tempDir('webprog-cli-devices-');
  const data = randomBytes(2000, 11);
  const hexFile = join(dir, 'app.hex');
  let uno: Awaited<ReturnType<typeof simulate>>;
  let fresh: Awaited<ReturnType<typeof simulate>>;

  beforeAll(async () => {
    writeFileSync(hexFile, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data }] }));
    [uno, fresh] = await Promise.all([simulate('stk500v1'), simulate('stk500v1')]);
  });
  afterAll(() => {
    uno?.stop();
    fresh?.stop();
  });

  it('blank-checks a fresh Uno, leaving out the bootloader section and saying so', async () => {
    const r = await webprog('blank-check', '--driver', 'stk500v1', '--port', fresh.path);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK +\S+: ATmega328P flash is blank \(32256 bytes of 0xff, excluding 0x7e00–0x7fff \(the bootloader/);
  });

  it('probes without writing: part, signature, bootloader, memories', async () => {
    const r = await webprog('probe', '--json', '--driver', 'stk500v1', '--port', fresh.path);
    expect(r.code).toBe(0);
    const [p] = jsonLines(r.stdout);
    expect(p).toMatchObject({ ok: true, port: fresh.path, device: { id: '1e950f', name: 'ATmega328P', bootloader: expect.stringMatching(/optiboot/i) } });
    expect(p!.memories).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'flash', size: 32768 })]));
    expect((await webprog('blank-check', '--driver', 'stk500v1', '--port', fresh.path)).code).toBe(0); // still blank
  });

  it.each([
    ['esp32s3', 'esp-rom', /^ESP32-S3$/, 'mac', /^24:0a:c4:(?:[0-9a-f]{2}:){2}[0-9a-f]{2}$/],
    ['stm32-usart', 'stm32-usart', /^STM32F10x/, 'uid', /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/],
  ])('probes %s with its per-unit ID (ESP MAC, STM32 unique ID)', async (what, driver, name, kind, value) => {
    const board = await simulate(what);
    try {
      const r = await webprog('probe', '--json', '--driver', driver, '--port', board.path);
      expect(r.code, r.stderr).toBe(0);
      const [p] = jsonLines(r.stdout);
      expect(p!.device).toMatchObject({ name: expect.stringMatching(name), unitId: { kind, value: expect.stringMatching(value) } });
      const text = await webprog('probe', '--driver', driver, '--port', board.path);
      expect(text.stdout).toMatch(new RegExp(`^ +${kind} +\\S+$`, 'm'));
    } finally {
      board.stop();
    }
  });

  it('--no-verify exits 0 with a NOT verified line, and keeps the serial as written-unverified', async () => {
    const state = join(dir, 'state');
    const r = await webprog('flash', '--no-verify', '--driver', 'stk500v1', '--port', uno.path, '--state-dir', state, '--serial-address', '0x7000', '--serial-start', '77', hexFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^WARN +\S+: ATmega328P .* written, NOT verified .*serial 77 \(unverified\)/);
    const journal = readFileSync(join(state, 'serials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; outcome?: string });
    expect(journal.find((l) => l.op === 'settle')).toMatchObject({ outcome: 'unverified' });
  });

  it('verifies without writing: exit 0 when equal, 1 naming the address when not', async () => {
    expect((await webprog('flash', '--driver', 'stk500v1', '--port', uno.path, hexFile)).code).toBe(0);
    const same = await webprog('verify', '--driver', 'stk500v1', '--port', uno.path, hexFile);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^OK +\S+: ATmega328P \(1e950f\) holds app.hex: \d+ bytes verified \(read back\)/);
    const other = Uint8Array.from(data);
    other[1234] = other[1234]! ^ 0xff;
    const otherFile = join(dir, 'other.hex');
    writeFileSync(otherFile, writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: other }] }));
    const differs = await webprog('verify', '--json', '--driver', 'stk500v1', '--port', uno.path, otherFile);
    expect(differs.code, differs.stdout).toBe(1);
    expect(jsonLines(differs.stdout)[0]).toMatchObject({ ok: false, code: 'verify-mismatch', message: expect.stringMatching(/at 0x0*4d2\b/i) });
  });

  it('reads to stdout with --out -, with progress on stderr (none with -q)', async () => {
    const r = await webprogWithInput(null, ['read', '--driver', 'stk500v1', '--port', uno.path, '--out', '-', '--length', '2000']);
    expect(r.code).toBe(0);
    expect(r.stdout.equals(Buffer.from(data))).toBe(true);
    expect(r.stderr).toMatch(/read +\d+% /);
    const quiet = await webprogWithInput(null, ['read', '-q', '--driver', 'stk500v1', '--port', uno.path, '--out', '-', '--length', '16']);
    expect(quiet.stdout.length).toBe(16);
    expect(quiet.stderr).toBe('');
  });

  it('on a terminal: a redrawn progress bar with rate and time left, colour unless NO_COLOR', async () => {
    // script(1) gives the command a pseudo-terminal for stdout and stderr, as an interactive shell would.
    const onTty = (env: string) =>
      run('script', ['-qfec', `${env} ${TSX} ${CLI} read --driver stk500v1 --port ${uno.path} --out ${join(dir, 'tty.bin')} --length 2000`, '/dev/null'], { timeoutMs: 90_000 });
    const r = await onTty('');
    expect(r.code).toBe(0);
    // The bar is redrawn in place (\r … erase to end of line); rate and time left appear once measurable.
    expect(r.stdout).toMatch(/\r\S+: read +\[#+\.*\] +\d+% (?:[\d.]+ (?:KiB|B)\/s(?:, \d+ s left)?)?\x1b\[K/);
    expect(r.stdout).toContain('\x1b[32mOK\x1b[0m');
    const plain = await onTty('NO_COLOR=1');
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('\x1b[32m');
  });

  it('takes a firmware image from stdin with "-"', async () => {
    const r = await webprogWithInput(readFileSync(hexFile), ['info', '--json', '-']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ format: 'ihex', totalBytes: 2000, file: '-' });
  });

  it('holds the line rate: optiboot does not answer at 57600', async () => {
    const r = await webprog('probe', '--driver', 'stk500v1', '--port', uno.path, '--baud', '57600');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/No answer from the bootloader at 57600 baud/);
  });

  it('falls back to 57600 for the old ATmegaBOOT, which answers only there', async () => {
    const nano = await simulate('stk500v1', '--variant', 'atmegaboot');
    try {
      const r = await webprog('flash', '--driver', 'stk500v1', '--port', nano.path, hexFile);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).toMatch(/No answer at 115200 baud[\s\S]*Bootloader answered at 57600 baud/);
    } finally {
      nano.stop();
    }
  });

  it('esp-rom does not claim to have left an ESP in download mode when none answered', async () => {
    const r = await webprog('probe', '--driver', 'esp-rom', '--port', uno.path, '--before', 'no-reset');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL/);
    expect(r.stderr).not.toMatch(/download mode after the failure/);
  });

  it('shows that a chip erase runs, and how long it took (erase reports no bytes)', async () => {
    const flash = await simulate('serprog', '--chip', 'W25Q16');
    try {
      const r = await webprog('erase', '--json', '--driver', 'serprog', '--port', flash.path, '--chip', 'W25Q16');
      expect(r.code, r.stderr).toBe(0);
      expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ ok: true, command: 'erase', device: expect.objectContaining({ name: expect.stringMatching(/W25Q16/) }) })]);
      expect(r.stderr).toMatch(/erase +started[\s\S]*erase +done in \d+\.\d s/);
    } finally {
      flash.stop();
    }
  });

  it('refuses to simulate a part that does not exist', async () => {
    for (const args of [['esp32x'], ['stk500v1', '--part', 'm999']]) {
      const r = await webprog('simulate', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).not.toMatch(/^PTY/);
    }
  });
});
