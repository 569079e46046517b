import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { systemClock } from '../../transports/clock';
import { isStall, type UsbControlRequest, type UsbDeviceModel, type UsbDevicePort, type UsbReply, type UsbSetup } from './usb-pipe';
import { DescriptorType, encodeStringDescriptor, getDescriptorSetup, StandardRequest } from './usb-descriptors';
import { createUsbPipe, withUsbFaults } from './usb-bus';

const clock = systemClock;

/** A vendor-class test device: request 1 echoes OUT data back on request 2; request 3 stalls; request 4 is busy until `busyUntil`. */
class EchoDevice implements UsbDeviceModel {
  port: UsbDevicePort | null = null;
  stored = new Uint8Array(0);
  busyUntil = 0;
  resets: number[] = [];
  leaveOnReset = false;
  seen: UsbControlRequest[] = [];

  attachUsb(port: UsbDevicePort): void {
    this.port = port;
  }
  busReset(at: number): void {
    this.resets.push(at);
    if (this.leaveOnReset) this.port?.disconnect();
  }
  control(req: UsbControlRequest): UsbReply {
    this.seen.push(req);
    const { request, value } = req.setup;
    if (req.setup.requestType === 'standard') {
      if (request === StandardRequest.GET_DESCRIPTOR) {
        const type = value >> 8;
        if (type === DescriptorType.DEVICE) return { status: 'ok', data: Uint8Array.of(18, 1, 0, 2, 0, 0, 0, 64, 0x09, 0x12, 0x34, 0x12, 0x00, 0x01, 1, 2, 3, 1) };
        if (type === DescriptorType.STRING) {
          const strings = [String.fromCharCode(0x0409), 'Maker', 'Echo', 'SN42'];
          const s = strings[value & 0xff];
          if (s === undefined) return { status: 'stall' };
          return { status: 'ok', data: (value & 0xff) === 0 ? Uint8Array.of(4, 3, 0x09, 0x04) : encodeStringDescriptor(s) };
        }
      }
      return { status: 'ok' };
    }
    switch (request) {
      case 1:
        this.stored = req.data.slice();
        return { status: 'ok' };
      case 2:
        return { status: 'ok', data: this.stored };
      case 3:
        return { status: 'stall' };
      case 4:
        return { status: 'ok', data: Uint8Array.of(1), readyAt: this.busyUntil };
      case 5:
        return { status: 'ok', data: Uint8Array.of(0xaa), thenDisconnect: true };
      default:
        return { status: 'stall' };
    }
  }
}

/** A clock for one sequential host: sleeping moves time forward at once, so timing is exact and instant. */
class VirtualClock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal?: { aborted: boolean; reason?: unknown }): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.t += Math.max(0, ms);
  }
}

const vendor = (request: number, index = 0): UsbSetup => ({ requestType: 'vendor', recipient: 'interface', request, value: 0, index });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof FlashError ? err.code : `not a FlashError: ${String(err)}`;
  }
}

describe('in-memory USB pipe', () => {
  it('enumerates the device: IDs, bcdDevice, strings, bMaxPacketSize0, SET_CONFIGURATION 1', () => {
    const dev = new EchoDevice();
    const pipe = createUsbPipe(dev, clock);
    expect(pipe.info).toEqual({ vendorId: 0x1209, productId: 0x1234, deviceVersion: 0x0100, manufacturerName: 'Maker', productName: 'Echo', serialNumber: 'SN42' });
    expect(pipe.packetSize).toBe(64);
    expect(dev.seen.some((r) => r.setup.request === StandardRequest.SET_CONFIGURATION && r.setup.value === 1)).toBe(true);
  });

  it('completes control transfers at frame ends: back to back, exactly one per millisecond', async () => {
    const virtual = new VirtualClock(0.25);
    const dev = new EchoDevice();
    const pipe = createUsbPipe(dev, virtual);
    await pipe.claimInterface(0);
    const ends: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pipe.controlIn(vendor(2), 8);
      ends.push(virtual.now());
    }
    expect(ends).toEqual([1, 2, 3, 4, 5]); // issued at 0.25: the first completes at the end of frame 0
    expect(dev.seen.slice(-5).map((r) => r.at)).toEqual([0.25, 1, 2, 3, 4]);
  });

  it('spreads a 2 KiB data stage over two frames (32 packets of 64 bytes at 12 Mbit/s)', async () => {
    const virtual = new VirtualClock(0);
    const pipe = createUsbPipe(new EchoDevice(), virtual);
    await pipe.claimInterface(0);
    await pipe.controlOut(vendor(1), new Uint8Array(2048).fill(7));
    expect(virtual.now()).toBe(2);
    const data = await pipe.controlIn(vendor(2), 2048);
    expect(virtual.now()).toBe(4);
    expect(data[2047]).toBe(7);
    await pipe.controlIn(vendor(2), 64); // one packet: one frame
    expect(virtual.now()).toBe(5);
  });

  it('keeps that pace on the wall clock too (20 transfers take at least 20 ms)', async () => {
    const pipe = createUsbPipe(new EchoDevice(), clock);
    await pipe.claimInterface(0);
    await pipe.controlIn(vendor(2), 8);
    const started = clock.now();
    for (let i = 0; i < 20; i++) await pipe.controlIn(vendor(2), 8);
    expect(clock.now() - started).toBeGreaterThanOrEqual(19.9);
  });

  it('rejects a STALL with UsbStallError, and the next request works', async () => {
    const pipe = createUsbPipe(new EchoDevice(), clock);
    await pipe.claimInterface(0);
    const err = await pipe.controlIn(vendor(3), 1).catch((e: unknown) => e);
    expect(isStall(err)).toBe(true);
    expect((err as FlashError).details).toMatchObject({ stall: true, request: 3 });
    expect(await pipe.controlOut(vendor(1), Uint8Array.of(1, 2))).toBe(2);
  });

  it('waits for a device that NAKs until it is ready, and times out one that never is', async () => {
    const dev = new EchoDevice();
    const pipe = createUsbPipe(dev, clock);
    await pipe.claimInterface(0);
    dev.busyUntil = clock.now() + 30;
    const started = clock.now();
    await pipe.controlIn(vendor(4), 1);
    expect(clock.now()).toBeGreaterThanOrEqual(dev.busyUntil);
    expect(clock.now() - started).toBeLessThan(40);
    dev.busyUntil = Infinity;
    expect(await codeOf(pipe.controlIn(vendor(4), 1, { timeoutMs: 20 }))).toBe('timeout');
  });

  it('refuses class and vendor requests to an interface nobody claimed, as WebUSB does', async () => {
    const pipe = createUsbPipe(new EchoDevice(), clock);
    expect(await codeOf(pipe.controlIn(vendor(2), 1))).toBe('internal');
    expect((await pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18)).length).toBe(18);
  });

  it('ends on unplug: the pending transfer and later ones fail with device-lost, closed resolves', async () => {
    const dev = new EchoDevice();
    const pipe = createUsbPipe(dev, clock);
    await pipe.claimInterface(0);
    dev.busyUntil = clock.now() + 1000;
    const pending = pipe.controlIn(vendor(4), 1);
    setTimeout(() => pipe.unplug(), 10);
    expect(await codeOf(pending)).toBe('device-lost');
    await pipe.closed;
    expect(await codeOf(pipe.controlOut(vendor(1), Uint8Array.of(1)))).toBe('device-lost');
  });

  it('delivers the reply before a device leaves the bus with thenDisconnect', async () => {
    const pipe = createUsbPipe(new EchoDevice(), clock);
    await pipe.claimInterface(0);
    expect(Array.from(await pipe.controlIn(vendor(5), 1))).toEqual([0xaa]);
    await pipe.closed;
    expect(await codeOf(pipe.controlIn(vendor(2), 1))).toBe('device-lost');
  });

  it('resets the bus (20 ms) and reports a device that re-enumerates as lost', async () => {
    const dev = new EchoDevice();
    const pipe = createUsbPipe(dev, clock);
    const started = clock.now();
    await pipe.reset();
    expect(clock.now() - started).toBeGreaterThanOrEqual(20);
    expect(dev.resets).toHaveLength(1);
    dev.leaveOnReset = true;
    expect(await codeOf(pipe.reset())).toBe('device-lost');
  });

  it('with faults: pulls the cable after N bytes, and turns line noise into reproducible transfer errors', async () => {
    const a = createUsbPipe(new EchoDevice(), clock);
    await a.claimInterface(0);
    const cut = withUsbFaults(a, { seed: 1, disconnectAfterBytes: 100 }, clock);
    await cut.controlOut(vendor(1), new Uint8Array(64));
    expect(await codeOf(cut.controlOut(vendor(1), new Uint8Array(64)))).toBe('device-lost');
    await a.closed;

    const codes: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const b = createUsbPipe(new EchoDevice(), clock);
      await b.claimInterface(0);
      const noisy = withUsbFaults(b, { seed: 7, bitFlipRate: 2e-3 }, clock);
      const got: string[] = [];
      for (let i = 0; i < 20; i++) got.push(await codeOf(noisy.controlOut(vendor(1), new Uint8Array(64))));
      codes.push(got);
    }
    expect(codes[0]).toEqual(codes[1]);
    expect(codes[0]).toContain('bad-checksum');
    expect(codes[0]).toContain('ok');
  });
});
