import { describe, expect, it } from 'vitest';
import { createImage } from '../../src/core/image/memory-image';
import { runJob } from '../../src/core/job/run-job';
import { DRIVERS } from '../../src/drivers/registry';
import { FlashError } from '../../src/shared/errors';
import { systemClock } from '../../src/transports/clock';
import type { FaultSpec } from '../../src/shared/model';
import { randomBytes } from '../support/tools';
import { virtualDriver } from '../support/virtual-driver';

/**
 * Every registered driver, automatically (flashrom's selfcheck + lifecycle + fault tests): metadata is
 * complete, the lazy modules load, a clean link flashes and verifies, and a faulty link never ends in
 * a false success.
 */
describe.each(DRIVERS.map((d) => [d.meta.id, d] as const))('driver %s', (_id, entry) => {
  const { meta } = entry;
  // A freshly scaffolded driver has no targets yet: its metadata test fails, the rest still run.
  const target = meta.targets[0] ?? { id: 'none', name: 'none', boards: [], memories: [{ name: 'flash', base: 0, size: 4096, pageSize: 256 }] };
  const flash = target.memories.find((m) => m.name === 'flash') ?? target.memories[0]!;

  it('has complete metadata', () => {
    expect(meta.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(meta.label.length).toBeGreaterThan(3);
    expect(meta.targets.length).toBeGreaterThan(0);
    expect(new Set(meta.targets.map((t) => t.id)).size).toBe(meta.targets.length);
    if (meta.link === 'serial') expect(meta.serialDefaults?.baudRate).toBeGreaterThan(0);
    for (const t of meta.targets) for (const m of t.memories) expect(m.size % m.pageSize).toBe(0);
    expect(Object.keys(meta.tested).sort()).toEqual(['erase', 'probe', 'read', 'write']);
    // Every registered driver flashes its simulator (below); 'untested' would undersell or hide that.
    for (const op of ['probe', 'read', 'write'] as const) expect(['ok', 'peer']).toContain(meta.tested[op]);
  });

  it('loads its driver and simulator lazily', async () => {
    expect(typeof (await entry.load()).createDriver).toBe('function');
    expect(typeof (await entry.simulator()).createSimulator).toBe('function');
  });

  async function flashOnce(fault?: FaultSpec) {
    const length = Math.min(3000, flash.size / 4);
    const data = randomBytes(length, fault?.seed ?? 1);
    const image = createImage('test', [{ memory: flash.name, address: flash.base, data }]);
    const opts = { clock: systemClock, targetId: target.id, fault };
    const controller = new AbortController();
    // The same lifecycle for every link kind, each driver on its own kind's seam (serial, usb, hid, drive).
    const dev = await virtualDriver(entry, opts, { clock: systemClock, log: () => {}, signal: controller.signal, targetId: target.id });
    const outcome = await runJob(dev.driver, image, {}, { clock: systemClock, signal: controller.signal, emit: () => {} }).then(
      (report) => ({ report }),
      (error: unknown) => ({ error }),
    );
    await dev.close();
    const written = dev.memory(flash.name).subarray(0, length);
    return { outcome, data, written };
  }

  it('flashes and verifies an image on a clean link', async () => {
    const { outcome, data, written } = await flashOnce();
    expect('report' in outcome && outcome.report.verified).toBe(true);
    expect(Buffer.from(written).equals(Buffer.from(data))).toBe(true);
  });

  // Rates from "one fault in the whole job" to "several per kilobyte".
  it.each([
    [1, 2e-4],
    [2, 1e-4],
    [3, 3e-5],
    [4, 1e-5],
    [5, 3e-6],
  ])('never reports success over a faulty link (seed %i, fault rate %d per byte)', async (seed, rate) => {
    const { outcome, data, written } = await flashOnce({ seed, bitFlipRate: rate, dropRate: rate / 2, duplicateRate: rate / 2 });
    if ('report' in outcome) {
      // A pass is allowed only if the device really holds the image.
      expect(outcome.report.verified).toBe(true);
      expect(Buffer.from(written).equals(Buffer.from(data))).toBe(true);
    } else {
      expect(outcome.error).toBeInstanceOf(FlashError);
      expect((outcome.error as FlashError).code).not.toBe('internal');
      expect((outcome.error as FlashError).hint.length).toBeGreaterThan(10);
    }
  });
});
