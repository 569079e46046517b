import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { proxy, transfer } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { createImage, writeImage, type Segment } from '../../src/core/image/index';
import { BYTE_MARK } from '../../src/shared/api';
import { buffer, connectApi, ok } from './helpers';

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function setup() {
  const c = connectApi();
  closers.push(c.close);
  return c.api;
}

const seg = (address: number, data: Uint8Array, memory = 'flash'): Segment => ({ memory, address, data });
const hexOf = (...segments: Segment[]) => writeImage(createImage('bin', segments), 'hex');
const ramp = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** A build, and the next one: one byte changed, a new block appended, and the block at 0x8000 gone. */
function twoBuilds() {
  const v1 = hexOf(seg(0, ramp(1024)), seg(0x8000, ramp(256, 7)));
  const next = ramp(1024);
  next[0x123] = 0xee;
  const v2 = hexOf(seg(0, next), seg(0x400, ramp(64, 3)));
  return { v1, v2 };
}

describe('image inspector over comlink', () => {
  it('opens a file with its checksums, without making it a flashable firmware', async () => {
    const api = setup();
    const file = hexOf(seg(0x100, ramp(300)), seg(0x10000, ramp(16)));
    const bytes = buffer(file);
    const opened = ok(await api.openImage('primary', transfer({ file: { name: 'app.hex', bytes } }, [bytes])));
    expect(bytes.byteLength).toBe(0); // moved, not copied
    expect(opened.slot).toBe('primary');
    expect(opened.summary).toMatchObject({ name: 'app.hex', format: 'ihex', totalBytes: 316 });
    expect(opened.summary.segments).toEqual([
      { memory: 'flash', address: 0x100, length: 300 },
      { memory: 'flash', address: 0x10000, length: 16 },
    ]);
    // Checked against Node's zlib and crypto, not the engine's own implementations.
    const data = Buffer.concat([ramp(300), ramp(16)]);
    expect(opened.summary.crc32).toBe(crc32(data).toString(16).padStart(8, '0'));
    expect(opened.summary.imageSha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(opened.segmentCrc32).toEqual([crc32(ramp(300)), crc32(ramp(16))].map((n) => n.toString(16).padStart(8, '0')));
    expect(opened.fileCrc32).toBe(crc32(file).toString(16).padStart(8, '0'));

    // Inspecting is not choosing a firmware for a job: the flash cache and the library stay as they were.
    const job = await api.flash(
      {
        jobId: crypto.randomUUID(),
        driverId: 'stk500v1',
        device: { kind: 'virtual', driverId: 'stk500v1' },
        deviceLabel: 'x',
        firmware: { fileSha256: opened.summary.fileSha256 },
        options: {},
      },
      proxy(() => {}),
    );
    expect(job.ok).toBe(false);
  });

  it('serves the hex view one page at a time and skips gaps of any size', async () => {
    const api = setup();
    const file = hexOf(seg(0x100, ramp(300)), seg(0x10000, ramp(16)));
    ok(await api.openImage('primary', { file: { name: 'app.hex', bytes: buffer(file) } }));

    const first = ok(await api.readImageBytes({ memory: 'flash', address: 0x100, length: 256 }));
    expect(first.bytes).toEqual(ramp(256));
    expect([...first.marks].every((m) => m === BYTE_MARK.data)).toBe(true);
    expect(first.reference).toBeNull();
    expect(first).toMatchObject({ prev: null, next: 0x200 });

    const second = ok(await api.readImageBytes({ memory: 'flash', address: 0x200, length: 256 }));
    expect(second.bytes.subarray(0, 44)).toEqual(ramp(44, 256));
    expect(second.marks[43]).toBe(BYTE_MARK.data);
    expect(second.marks[44]).toBe(BYTE_MARK.hole);
    expect(second.bytes[44]).toBe(0);
    // The 63 KiB gap is one step, on the same 256-byte grid.
    expect(second).toMatchObject({ prev: 0x100, next: 0x10000 });
    const last = ok(await api.readImageBytes({ memory: 'flash', address: 0x10000, length: 256 }));
    expect(last).toMatchObject({ prev: 0x200, next: null });

    const elsewhere = ok(await api.readImageBytes({ memory: 'eeprom', address: 0, length: 16 }));
    expect([...elsewhere.marks].every((m) => m === BYTE_MARK.hole)).toBe(true);
    expect(elsewhere).toMatchObject({ next: null, prev: null });
  });

  it('diffs two builds, marks the bytes, and steps from one difference to the next', async () => {
    const api = setup();
    const { v1, v2 } = twoBuilds();
    ok(await api.openImage('primary', { file: { name: 'v2.hex', bytes: buffer(v2) } }));
    const noReference = await api.diffImages();
    expect(noReference.ok).toBe(false);
    if (!noReference.ok) expect(noReference.error.code).toBe('not-found');

    ok(await api.openImage('reference', { file: { name: 'v1.hex', bytes: buffer(v1) } }));
    const diff = ok(await api.diffImages());
    expect(diff).toMatchObject({
      changed: { ranges: 1, bytes: 1 },
      added: { ranges: 1, bytes: 64 },
      removed: { ranges: 1, bytes: 256 },
      same: 1023,
      totalRanges: 3,
    });
    expect(diff.ranges).toEqual([
      { memory: 'flash', start: 0x123, end: 0x124, kind: 'changed' },
      { memory: 'flash', start: 0x400, end: 0x440, kind: 'added' },
      { memory: 'flash', start: 0x8000, end: 0x8100, kind: 'removed' },
    ]);

    const page = ok(await api.readImageBytes({ memory: 'flash', address: 0x100, length: 256 }));
    expect(page.marks[0x23]).toBe(BYTE_MARK.changed);
    expect(page.bytes[0x23]).toBe(0xee);
    expect(page.reference?.[0x23]).toBe(0x23);
    expect(page.marks[0x22]).toBe(BYTE_MARK.data);
    const tail = ok(await api.readImageBytes({ memory: 'flash', address: 0x400, length: 256 }));
    expect(tail.marks[0]).toBe(BYTE_MARK.added);
    expect(tail.marks[64]).toBe(BYTE_MARK.hole);
    expect(tail.next).toBe(0x8000); // the removed block is still reachable: the reference has data there
    const gone = ok(await api.readImageBytes({ memory: 'flash', address: 0x8000, length: 256 }));
    expect(gone.marks[0]).toBe(BYTE_MARK.removed);
    expect(gone.reference?.[0]).toBe(7);

    const step = async (address: number, direction: 1 | -1) => ok(await api.findDifference({ memory: 'flash', address }, direction));
    expect(await step(0, 1)).toMatchObject({ start: 0x123, kind: 'changed' });
    expect(await step(0x123, 1)).toMatchObject({ start: 0x400, kind: 'added' });
    expect(await step(0x400, 1)).toMatchObject({ start: 0x8000, kind: 'removed' });
    expect(await step(0x8000, 1)).toBeNull();
    expect(await step(0x8000, -1)).toMatchObject({ start: 0x400 });

    // Closing the reference ends the comparison.
    expect(ok(await api.closeImage('reference'))).toBe(true);
    const plain = ok(await api.readImageBytes({ memory: 'flash', address: 0x8000, length: 256 }));
    expect(plain.reference).toBeNull();
    expect(plain.marks[0]).toBe(BYTE_MARK.hole);
    expect((await api.findDifference({ memory: 'flash', address: 0 }, 1)).ok).toBe(false);
  });

  it('opens library entries by SHA-256', async () => {
    const api = setup();
    const { v1, v2 } = twoBuilds();
    const a = ok(await api.addFirmware({ name: 'v1.hex', bytes: buffer(v1) }));
    const b = ok(await api.addFirmware({ name: 'v2.hex', bytes: buffer(v2) }));
    expect(ok(await api.openImage('primary', { fileSha256: b.fileSha256 })).summary.name).toBe('v2.hex');
    expect(ok(await api.openImage('reference', { fileSha256: a.fileSha256 })).summary.name).toBe('v1.hex');
    expect(ok(await api.diffImages())).toMatchObject({ primarySha256: b.fileSha256, referenceSha256: a.fileSha256, totalRanges: 3 });
    const missing = await api.openImage('reference', { fileSha256: '0'.repeat(64) });
    expect(missing.ok).toBe(false);
  });

  it('answers bad requests with values, not thrown errors', async () => {
    const api = setup();
    const empty = await api.readImageBytes({ memory: 'flash', address: 0, length: 16 });
    expect(empty.ok).toBe(false);
    const broken = await api.openImage('primary', { file: { name: 'broken.hex', bytes: buffer(new TextEncoder().encode(':10000000ZZ\n')) } });
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error.code).toBe('bad-image');
    const badSlot = await api.openImage('third' as 'primary', { file: { name: 'a.hex', bytes: buffer(hexOf(seg(0, ramp(4)))) } });
    expect(badSlot.ok).toBe(false);
    ok(await api.openImage('primary', { file: { name: 'a.hex', bytes: buffer(hexOf(seg(0, ramp(4)))) } }));
    for (const request of [
      { memory: 'flash', address: 0, length: 1 << 20 },
      { memory: 'flash', address: -1, length: 16 },
      { memory: 'flash', address: 0, length: 0 },
    ]) {
      const r = await api.readImageBytes(request);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('invalid-argument');
    }
  });

  it('pages an 8 MiB image without sending more than a page', async () => {
    const api = setup();
    const big = new Uint8Array(8 << 20).map((_, i) => (i * 7) & 0xff);
    const file = writeImage(createImage('bin', [seg(0, big)]), 'bin');
    const bytes = buffer(file);
    ok(await api.openImage('primary', transfer({ file: { name: 'big.bin', bytes } }, [bytes])));
    const page = ok(await api.readImageBytes({ memory: 'flash', address: 0x7fff00, length: 256 }));
    expect(page.bytes).toEqual(big.subarray(0x7fff00));
    expect(page.next).toBeNull();
    expect(page.prev).toBe(0x7ffe00);
  });
});
