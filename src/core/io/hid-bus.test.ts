import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { systemClock } from '../../transports/clock';
import { createHidPipe, withHidFaults } from './hid-bus';
import type { HidDeviceInfo, HidDeviceModel, HidDevicePort, HidReport } from './hid-pipe';

const clock = systemClock;
const INFO: HidDeviceInfo = { vendorId: 0xc251, productId: 0xf002, productName: 'Echo HID', inputReportSize: 64, outputReportSize: 64 };

/** Answers every output report with the same bytes plus one, `delayMs` later; a feature report stores a byte. */
class EchoHid implements HidDeviceModel {
  readonly info = INFO;
  port: HidDevicePort | null = null;
  feature = 0;
  received: number[] = [];
  constructor(private readonly delayMs = 0) {}
  connect(port: HidDevicePort): void {
    this.port = port;
  }
  output(report: HidReport, at: number): void {
    this.received.push(at);
    this.port!.input({ reportId: report.reportId, data: report.data.map((b) => (b + 1) & 0xff) }, at + this.delayMs);
  }
  setFeature(report: HidReport) {
    this.feature = report.data[0]!;
    return { status: 'ok' as const };
  }
  getFeature(reportId: number) {
    return reportId === 1 ? { status: 'ok' as const, data: Uint8Array.of(this.feature) } : { status: 'stall' as const };
  }
}

describe('the simulated HID link', () => {
  it('delivers answers in order, one report per 1 ms frame each way', async () => {
    const device = new EchoHid();
    const hid = createHidPipe(device, clock);
    const start = clock.now();
    for (let i = 0; i < 5; i++) await hid.sendReport(0, Uint8Array.of(i, 10));
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await hid.receiveReport({ timeoutMs: 200 }));
    expect(answers.map((r) => Array.from(r.data))).toEqual([[1, 11], [2, 11], [3, 11], [4, 11], [5, 11]]);
    expect(clock.now() - start).toBeGreaterThanOrEqual(5);
    // Reports the device received are at least a frame apart.
    for (let i = 1; i < device.received.length; i++) expect(device.received[i]! - device.received[i - 1]!).toBeGreaterThanOrEqual(0.99);
    await hid.close();
  });

  it('waits for a slow answer, times out without losing it, and reads feature reports', async () => {
    const hid = createHidPipe(new EchoHid(60), clock);
    await hid.sendReport(2, Uint8Array.of(7));
    const early = await hid.receiveReport({ timeoutMs: 10 }).catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'timeout' });
    expect(await hid.receiveReport({ timeoutMs: 500 })).toEqual({ reportId: 2, data: Uint8Array.of(8) });
    await hid.sendFeatureReport(1, Uint8Array.of(0x5a));
    expect(Array.from(await hid.receiveFeatureReport(1))).toEqual([0x5a]);
    await expect(hid.receiveFeatureReport(3)).rejects.toMatchObject({ code: 'nak' });
  });

  it('fails every pending and later call with device-lost when unplugged', async () => {
    const hid = createHidPipe(new EchoHid(), clock);
    const pending = hid.receiveReport({ timeoutMs: 1000 });
    hid.unplug();
    await expect(pending).rejects.toMatchObject({ code: 'device-lost' });
    await expect(hid.sendReport(0, Uint8Array.of(1))).rejects.toBeInstanceOf(FlashError);
    await hid.closed;
  });

  it('injects the same faults for the same seed: lost reports time out, and the cable is pulled on cue', async () => {
    const run = async (seed: number) => {
      const hid = withHidFaults(createHidPipe(new EchoHid(), clock), { seed, dropRate: 0.02 }, clock);
      const outcome: string[] = [];
      for (let i = 0; i < 20; i++) {
        await hid.sendReport(0, new Uint8Array(16).fill(i));
        outcome.push(await hid.receiveReport({ timeoutMs: 20 }).then((r) => String(r.data[0]), (e: FlashError) => e.code));
      }
      return outcome;
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(a).toContain('timeout');
    const cut = withHidFaults(createHidPipe(new EchoHid(), clock), { seed: 1, disconnectAfterBytes: 40 }, clock);
    await cut.sendReport(0, new Uint8Array(32));
    await expect(cut.sendReport(0, new Uint8Array(32))).rejects.toMatchObject({ code: 'device-lost' });
  });
});
