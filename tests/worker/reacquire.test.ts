import { proxy } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { createImage, writeImage } from '../../src/core/image/index';
import type { JobSpec } from '../../src/shared/api';
import { FlashError } from '../../src/shared/errors';
import type { JobEvent } from '../../src/shared/events';
import { systemClock } from '../../src/transports/clock';
import { openLink } from '../../src/transports/index';
import { reacquireSerialPort, rememberUsbDevice, reopenUsbLink } from '../../src/transports/reacquire';
import { openUsbDevice, type UsbDeviceLike } from '../../src/transports/web-usb';
import { FakePort } from './fake-serial';
import { buffer, connectApi, ok } from './helpers';

/*
 * Devices that leave the bus and come back as new USB devices: a DFU application detaching into its
 * bootloader (found again through the worker's reopen, no second prompt), and the page's one clear step
 * when the browser will not list it without a new grant.
 */

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function setup(...args: Parameters<typeof connectApi>) {
  const c = connectApi(...args);
  closers.push(c.close);
  return c;
}

function dfuSpec(fileSha256: string): JobSpec {
  return {
    jobId: crypto.randomUUID(),
    driverId: 'usb-dfu',
    targetId: 'dfu-generic',
    // The simulator's 'runtime' variant: the application runs and has to be detached into DFU mode.
    device: { kind: 'virtual', driverId: 'usb-dfu', targetId: 'dfu-generic', variant: 'runtime' },
    deviceLabel: 'DFU test device (virtual, running its application)',
    firmware: { fileSha256 },
    options: {},
  };
}

async function dfuImage(api: ReturnType<typeof setup>['api']) {
  const data = new Uint8Array(6000).map((_, i) => (i * 7 + 3) & 0xff);
  const hex = writeImage(createImage('bin', [{ memory: 'flash', address: 0, data }]), 'hex');
  return ok(await api.inspect({ name: 'app.hex', bytes: buffer(hex) }));
}

describe('USB DFU re-enumeration in the worker', () => {
  it('detaches a running application and finds the DFU-mode device again, with no second prompt', async () => {
    const { api } = setup();
    const summary = await dfuImage(api);
    const events: JobEvent[] = [];
    const report = ok(await api.flash(dfuSpec(summary.fileSha256), proxy((e: JobEvent) => void events.push(e))));
    expect(report).toMatchObject({ verified: true, bytesWritten: 6000, bytesVerified: 6000 });
    expect(report.device.name).toMatch(/DFU/);
    await new Promise((r) => setTimeout(r, 20));
    const logs = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs.some((m) => /asking it to detach/.test(m))).toBe(true);
  });

  it('without a way to re-find devices, says to connect it again', async () => {
    const { api } = setup({ reopenUsbLink: undefined });
    const summary = await dfuImage(api);
    const result = await api.flash(dfuSpec(summary.fileSha256), proxy(() => {}));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('device-lost');
    expect(result.error.hint).toMatch(/Choose the device again/);
  });
});

/** The part of a WebUSB USBDevice that opening needs; transfers STALL (openUsbDevice then keeps packet size 64). */
function fakeDevice(productId: number, productName: string, serialNumber = 'WP-DFU-0001'): UsbDeviceLike {
  const stall = async () => ({ status: 'stall' as const, bytesWritten: 0 });
  return {
    vendorId: 0x1209,
    productId,
    deviceVersionMajor: 1,
    deviceVersionMinor: 0,
    deviceVersionSubminor: 0,
    productName,
    manufacturerName: 'webprog',
    serialNumber,
    opened: false,
    configuration: null,
    configurations: [{ configurationValue: 1 }],
    async open() {
      (this as { opened: boolean }).opened = true;
    },
    async close() {
      (this as { opened: boolean }).opened = false;
    },
    async selectConfiguration(value: number) {
      (this as { configuration: unknown }).configuration = { configurationValue: value };
    },
    claimInterface: async () => undefined,
    releaseInterface: async () => undefined,
    selectAlternateInterface: async () => undefined,
    controlTransferIn: stall,
    controlTransferOut: stall,
    clearHalt: async () => undefined,
    transferIn: stall,
    transferOut: stall,
    reset: async () => undefined,
  };
}

const noEvents = { addEventListener: () => undefined, removeEventListener: () => undefined };

describe('re-finding a real USB device (getDevices polling)', () => {
  it('polls until the new device appears, never taking the old object for it', async () => {
    const old = fakeDevice(0x0002, 'DFU test application');
    const previous = await openUsbDevice(old, { clock: systemClock, usb: noEvents });
    rememberUsbDevice(previous, old);
    const fresh = fakeDevice(0x0001, 'DFU 1.1 test device');
    let polls = 0;
    const usb = {
      async getDevices() {
        polls++;
        // The old device is still listed for a moment, then nothing, then the device in DFU mode.
        return polls === 1 ? [old] : polls < 4 ? [] : [fresh];
      },
    };
    const pipe = await reopenUsbLink(previous, { vendorId: 0x1209, serialNumber: 'WP-DFU-0001' }, { clock: systemClock, usb, intervalMs: 5 });
    expect(polls).toBe(4);
    expect(pipe.info).toMatchObject({ vendorId: 0x1209, productId: 0x0001, productName: 'DFU 1.1 test device' });
    await pipe.close();
  });

  it('gives up after the timeout with one clear step for the page', async () => {
    const old = fakeDevice(0x0002, 'DFU test application');
    const previous = await openUsbDevice(old, { clock: systemClock, usb: noEvents });
    const usb = { getDevices: async () => [] };
    const err = await reopenUsbLink(previous, { vendorId: 0x1209, serialNumber: 'WP-DFU-0001' }, { clock: systemClock, usb, intervalMs: 5, timeoutMs: 40 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    const e = err as FlashError;
    expect(e.code).toBe('port-unavailable');
    expect(e.hint).toMatch(/^Click Connect again and pick the device from the same maker \(USB vendor 1209\)/);
    expect(e.details).toMatchObject({ reason: 'reenumerated', vendorId: 0x1209, serialNumber: 'WP-DFU-0001', previousName: 'DFU test application' });
    expect(e.action).toEqual({ kind: 'pick-port-again', link: 'usb', vendorId: 0x1209, serialNumber: 'WP-DFU-0001' });

    // A device that keeps its IDs (a DfuSe mass erase re-enumerating) keeps its name: the step names it.
    const same = (await reopenUsbLink(previous, { vendorId: 0x1209, productId: 0x0002 }, { clock: systemClock, usb, intervalMs: 5, timeoutMs: 20 }).catch((x: unknown) => x)) as FlashError;
    expect(same.hint).toBe('Click Connect again and pick the device named “DFU test application”, then start again.');
  });
});

describe('re-finding a serial port after its device re-enumerated', () => {
  it('takes the one matching port that was not there when the lost one was opened', async () => {
    const lost = new FakePort({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    const other = new FakePort({ usbVendorId: 0x303a, usbProductId: 0x1001 }); // another board, plugged in all along
    const bridge = new FakePort({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    let ports = [other, lost, bridge];
    const serial = { getPorts: async () => ports };
    const stream = await openLink({ kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 1 }, { clock: systemClock, serial, expectedPortCount: 2 });
    lost.unplug();
    const back = new FakePort({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    let polls = 0;
    const later = {
      async getPorts() {
        polls++;
        ports = polls < 3 ? [other, bridge] : [other, bridge, back];
        return ports;
      },
    };
    const found = await reacquireSerialPort(stream, { usbVendorId: 0x303a, usbProductIds: [0x1001, 0x0002] }, { clock: systemClock, serial: later, intervalMs: 5 });
    expect(found).toEqual({ selector: { kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 1 }, expectedPortCount: 2 });
    await stream.close().catch(() => undefined);
  });

  it('returns null when none or several come back, and for links it did not open', async () => {
    const lost = new FakePort({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    const serial = { getPorts: async () => [lost] };
    const stream = await openLink({ kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 0 }, { clock: systemClock, serial });
    lost.unplug();
    const ids = { usbVendorId: 0x303a, usbProductIds: [0x1001] };
    expect(await reacquireSerialPort(stream, ids, { clock: systemClock, serial: { getPorts: async () => [] }, intervalMs: 5, timeoutMs: 30 })).toBeNull();
    const two = [new FakePort({ usbVendorId: 0x303a, usbProductId: 0x1001 }), new FakePort({ usbVendorId: 0x303a, usbProductId: 0x1001 })];
    expect(await reacquireSerialPort(stream, ids, { clock: systemClock, serial: { getPorts: async () => two }, intervalMs: 5, timeoutMs: 30 })).toBeNull();
    const virtual = await openLink({ kind: 'virtual', driverId: 'esp-rom', targetId: 'esp32' }, { clock: systemClock });
    expect(await reacquireSerialPort(virtual, ids, { clock: systemClock, serial: { getPorts: async () => two }, timeoutMs: 10 })).toBeNull();
    await virtual.close();
  });
});
