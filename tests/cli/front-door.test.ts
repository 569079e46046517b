import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEspKind } from '../support/image-fixtures';
import { writeIntelHex } from '../../src/core/image/intel-hex';
import { randomBytes, run, tempDir } from '../support/tools';

/**
 * Issue 11 as a CLI user meets it: where a file without addresses goes, and every file refused before
 * a port is opened (exit 2). A port that does not exist proves the refusal came first: opening it
 * would have failed with "cannot open".
 */
const TSX = join('node_modules', '.bin', 'tsx');
const CLI = join('src', 'node', 'cli.ts');
const webprog = (...args: string[]) => run(TSX, [CLI, ...args], { timeoutMs: 90_000 });
const NO_PORT = '/dev/webprog-no-such-port';

async function simulate(...args: string[]): Promise<{ path: string; proc: ChildProcess }> {
  const proc = spawn(TSX, [CLI, 'simulate', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`simulate exited with ${code}`)));
    createInterface({ input: proc.stdout! }).once('line', resolve);
  });
  return { path: first.slice(4), proc };
}

describe('webprog flash: the front door', () => {
  const dir = tempDir();
  const file = (name: string, bytes: Uint8Array | string) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const app = buildEspKind('app', 0, 6000);
  const appBin = file('app.bin', app);
  let esp: { path: string; proc: ChildProcess };
  let stm: { path: string; proc: ChildProcess };

  beforeAll(async () => {
    [esp, stm] = await Promise.all([simulate('esp32', '--flash-size', '4MB'), simulate('stm32-usart')]);
  });
  afterAll(() => {
    esp?.proc.kill('SIGTERM');
    stm?.proc.kill('SIGTERM');
  });

  it('puts an ESP application at 0x10000 when no address is given, and says so', async () => {
    const r = await webprog('flash', '--driver', 'esp-rom', '--port', esp.path, appBin);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('app.bin → 0x00010000: an application goes at 0x10000');
    const back = join(dir, 'back.bin');
    expect((await webprog('read', '--driver', 'esp-rom', '--port', esp.path, '--out', back, '--address', '0x10000', '--length', String(app.length))).code).toBe(0);
    expect(readFileSync(back).equals(Buffer.from(app))).toBe(true);
  }, 120_000);

  it('flashes a raw STM32 .bin at 0x08000000 without --address', async () => {
    const data = randomBytes(3000, 7);
    const r = await webprog('flash', '--driver', 'stm32-usart', '--port', stm.path, file('blink.bin', data));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('blink.bin → 0x08000000');
    expect(r.stdout).toMatch(/^OK .* 3072 bytes written and verified/);
  }, 120_000);

  it.each([
    ['an ESP application at 0x0', ['--driver', 'esp-rom', `${appBin}@0x0`], /An ESP application at 0x0000 would overwrite the bootloader and partition table.*app\.bin@0x10000/],
    ['notes.txt', ['--driver', 'stk500v1', 'NOTES'], /This is a text file, not firmware\./],
    ['an empty file', ['--driver', 'stk500v1', 'EMPTY'], /This file is empty: there is nothing to program\./],
    ['a saved web page', ['--driver', 'stk500v1', 'PAGE'], /This looks like a web page, not firmware\./],
    ['an image that cannot fit the Uno', ['--driver', 'stk500v1', '--part', 'm328p', 'BIG'], /needs flash 0x0000–0x9BFF, but the ATmega328P has flash 0x0000–0x7FFF \(32 KiB\)/],
    ['an Uno HEX on an ESP32', ['--driver', 'esp-rom', '--part', 'esp32', 'UNO'], /ESP's bootloader area, and it is not an ESP bootloader/],
    ['a text-like .bin without --text-as-firmware', ['--driver', 'stk500v1', 'TEXTBIN'], /reads as text.*--text-as-firmware/],
  ])('refuses %s with exit 2 before the port opens', async (_what, args, message) => {
    const paths: Record<string, string> = {
      NOTES: file('notes.txt', 'Order more boards.\nCall the supplier.\n'),
      EMPTY: file('empty.bin', new Uint8Array(0)),
      PAGE: file('firmware.hex', '<!DOCTYPE html>\n<html><head><title>Releases</title></head><body></body></html>\n'),
      BIG: file('big.hex', writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(39 * 1024, 3) }] })),
      UNO: file('uno.hex', writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(4000, 4) }] })),
      TEXTBIN: file('config.bin', 'mode=fast\nretries=3\n'.repeat(50)),
    };
    const r = await webprog('flash', '--port', NO_PORT, ...args.map((a) => paths[a] ?? a));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/cannot open|no such file or directory/i);
  });

  it('takes a text-like .bin with --text-as-firmware (then fails only at the missing port)', async () => {
    const r = await webprog('flash', '--driver', 'stk500v1', '--port', NO_PORT, '--text-as-firmware', file('config2.bin', 'mode=fast\n'.repeat(80)));
    expect(r.stderr).not.toMatch(/reads as text/);
    expect(r.code).not.toBe(0);
  });

  it('refuses --serial-address 0x10 over the interrupt vectors before a serial is reserved', async () => {
    const hex = file('vectors.hex', writeIntelHex({ format: 'bin', segments: [{ memory: 'flash', address: 0, data: randomBytes(2048, 5) }] }));
    const state = join(dir, 'prod');
    const r = await webprog('flash', '--driver', 'stk500v1', '--port', NO_PORT, '--state-dir', state, '--serial-address', '0x10', '--serial-start', '1000', hex);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/The serial number would overwrite the firmware: flash 0x0010 holds 0x[0-9A-F]{2}, not erased space\..*--serial-overwrite/);
    expect(existsSync(join(state, 'serials.jsonl'))).toBe(false);
  });
});
