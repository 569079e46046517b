import { proxy } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEspKind } from '../support/image-fixtures';
import type { JobSpec } from '../../src/shared/api';
import { buffer, connectApi, makeHex, ok } from './helpers';

/** Issue 11 as the page meets it through the worker: the desk check, the job refusing, the Library. */
const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function setup() {
  const c = connectApi();
  closers.push(c.close);
  return c;
}

const ascii = (s: string) => new TextEncoder().encode(s);

function spec(fileSha256: string, driverId: string, targetId: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    jobId: crypto.randomUUID(),
    driverId,
    targetId,
    device: { kind: 'virtual', driverId, targetId },
    deviceLabel: `${targetId} (virtual)`,
    firmware: { fileSha256 },
    options: {},
    keepInLibrary: true,
    ...extra,
  };
}

describe('the front door, through the worker', () => {
  it('says where an ESP application goes and why, and refuses it at 0x0', async () => {
    const { api } = setup();
    const fw = ok(await api.inspect({ name: 'app.bin', bytes: buffer(buildEspKind('app', 0)) }));
    const verdict = ok(await api.checkFirmware({ fileSha256: fw.fileSha256, driverId: 'esp-rom', targetId: 'esp32' }));
    expect(verdict).toMatchObject({ ok: true, placements: [{ kind: 'esp-app', address: 0x10000, source: 'default' }] });
    const at0 = ok(await api.checkFirmware({ fileSha256: fw.fileSha256, driverId: 'esp-rom', targetId: 'esp32', address: 0 }));
    expect(at0).toMatchObject({ ok: false, refusal: { reason: 'misplaced-app' } });
  });

  it('refuses notes.txt before the port opens: no History row, not in the Library', async () => {
    const { api } = setup();
    const fw = ok(await api.inspect({ name: 'notes.txt', bytes: buffer(ascii('Order more boards.\n')) }));
    const verdict = ok(await api.checkFirmware({ fileSha256: fw.fileSha256, driverId: 'stk500v1', targetId: 'm328p' }));
    expect(verdict).toMatchObject({ ok: false, refusal: { reason: 'text', message: 'This is a text file, not firmware.' } });
    const result = await api.flash(spec(fw.fileSha256, 'stk500v1', 'm328p'), proxy(() => {}));
    expect(result).toMatchObject({ ok: false, error: { code: 'bad-image', details: { reason: 'text' } } });
    expect(ok(await api.listHistory())).toEqual([]);
    expect(ok(await api.listFirmware())).toEqual([]);
    expect(await api.addFirmware({ name: 'notes.txt', bytes: buffer(ascii('Order more boards.\n')) })).toMatchObject({ ok: false, error: { details: { reason: 'text' } } });
  });

  it('refuses a HEX that does not fit the Uno before the board is reset: no History row', async () => {
    const { api } = setup();
    const fw = ok(await api.inspect({ name: 'big.hex', bytes: buffer(makeHex(39 * 1024)) }));
    const result = await api.flash(spec(fw.fileSha256, 'stk500v1', 'm328p'), proxy(() => {}));
    expect(result).toMatchObject({ ok: false, error: { code: 'image-out-of-range', details: { reason: 'does-not-fit' } } });
    expect(ok(await api.listHistory())).toEqual([]);
  });

  it('flashes a raw STM32 .bin at the flash start without being told, and verifies it', async () => {
    const { api } = setup();
    const raw = Uint8Array.from({ length: 2048 }, (_, i) => (i * 37 + 5) & 0xff);
    const fw = ok(await api.inspect({ name: 'app.bin', bytes: buffer(raw) }));
    const report = ok(await api.flash(spec(fw.fileSha256, 'stm32-usart', 'stm32f103c8'), proxy(() => {})));
    expect(report).toMatchObject({ verified: true, bytesWritten: 2048 });
    expect(ok(await api.listHistory())[0]).toMatchObject({ status: 'passed' });
  }, 30_000);
});
