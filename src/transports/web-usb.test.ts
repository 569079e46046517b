import { afterEach, describe, expect, it } from 'vitest';
import { createImage } from '../core/image/memory-image';
import { isStall, type UsbDeviceModel, type UsbDevicePort, type UsbPipe, type UsbSetup } from '../core/io/usb-pipe';
import { DescriptorType, getDescriptorSetup, parseRequestType, requestTypeByte } from '../core/io/usb-descriptors';
import { runJob } from '../core/job/run-job';
import { createDriver } from '../drivers/usb-dfu/driver';
import { createSimulator, type DfuDeviceSimulator } from '../drivers/usb-dfu/simulator';
import { FlashError } from '../shared/errors';
import { systemClock } from './clock';
import { openUsbDevice, type UsbDeviceLike, type UsbEventsLike, type UsbInResultLike, type UsbOutResultLike } from './web-usb';

const clock = systemClock;

/** `navigator.usb` for tests: fires 'disconnect' with the device, as Chrome does. */
class FakeUsb implements UsbEventsLike {
  listeners = new Set<(e: { device: unknown }) => void>();
  addEventListener(_type: 'disconnect', l: (e: { device: unknown }) => void) {
    this.listeners.add(l);
  }
  removeEventListener(_type: 'disconnect', l: (e: { device: unknown }) => void) {
    this.listeners.delete(l);
  }
  unplug(device: FakeUsbDevice) {
    device.opened = false;
    for (const l of [...this.listeners]) l({ device });
  }
}

function domError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/**
 * A USBDevice whose transfers a device model answers (as WebUSB would, with results carrying a status
 * instead of throwing on STALL), plus switches to make it fail the way Chrome's WebUSB does.
 */
class FakeUsbDevice implements UsbDeviceLike {
  vendorId = 0x0483;
  productId = 0xdf11;
  // WebUSB splits bcdDevice 0x2100 into its high byte and two nibbles (Chromium: >> 8, >> 4 & 0xf, & 0xf).
  deviceVersionMajor = 0x21;
  deviceVersionMinor = 0;
  deviceVersionSubminor = 0;
  manufacturerName = 'STMicroelectronics';
  productName = 'STM32  BOOTLOADER';
  serialNumber = '315A28A0B956';
  opened = false;
  configuration: { configurationValue: number } | null = null;
  configurations = [{ configurationValue: 1 }];
  calls: string[] = [];
  claimed = new Set<number>();
  /** Thrown by the next call of that name. */
  failures = new Map<string, Error>();
  hang = false;
  babble = false;

  constructor(private readonly model: UsbDeviceModel | null = null) {
    model?.attachUsb({ disconnect: () => undefined, connected: true } satisfies UsbDevicePort);
  }

  private async step(name: string): Promise<void> {
    this.calls.push(name);
    const f = this.failures.get(name);
    if (f) {
      this.failures.delete(name);
      throw f;
    }
    if (this.hang) await new Promise(() => undefined);
  }

  async open() {
    await this.step('open');
    this.opened = true;
  }
  async close() {
    await this.step('close');
    this.opened = false;
  }
  async selectConfiguration(value: number) {
    await this.step(`selectConfiguration ${value}`);
    this.configuration = { configurationValue: value };
    this.model?.control({ direction: 'out', setup: { requestType: 'standard', recipient: 'device', request: 9, value, index: 0 }, length: 0, data: new Uint8Array(0), at: clock.now() });
  }
  async claimInterface(n: number) {
    await this.step(`claimInterface ${n}`);
    this.claimed.add(n);
  }
  async releaseInterface(n: number) {
    await this.step(`releaseInterface ${n}`);
    this.claimed.delete(n);
  }
  async selectAlternateInterface(n: number, alt: number) {
    await this.step(`selectAlternateInterface ${n} ${alt}`);
    this.model?.control({ direction: 'out', setup: { requestType: 'standard', recipient: 'interface', request: 11, value: alt, index: n }, length: 0, data: new Uint8Array(0), at: clock.now() });
  }
  async controlTransferIn(setup: UsbSetup, length: number): Promise<UsbInResultLike> {
    await this.step('controlTransferIn');
    if (this.babble) return { status: 'babble' };
    const reply = this.model?.control({ direction: 'in', setup, length, data: new Uint8Array(0), at: clock.now() }) ?? { status: 'stall' as const };
    if (reply.status === 'stall') return { status: 'stall' };
    const data = (reply.data ?? new Uint8Array(0)).slice(0, length);
    return { status: 'ok', data: new DataView(data.buffer) };
  }
  async controlTransferOut(setup: UsbSetup, data?: BufferSource): Promise<UsbOutResultLike> {
    await this.step('controlTransferOut');
    const bytes = data ? new Uint8Array(data instanceof ArrayBuffer ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) : new Uint8Array(0);
    const reply = this.model?.control({ direction: 'out', setup, length: bytes.length, data: bytes, at: clock.now() }) ?? { status: 'stall' as const };
    return reply.status === 'stall' ? { status: 'stall', bytesWritten: 0 } : { status: 'ok', bytesWritten: bytes.length };
  }
  async clearHalt(direction: 'in' | 'out', ep: number) {
    await this.step(`clearHalt ${direction} ${ep}`);
  }
  async transferIn(ep: number, _length: number): Promise<UsbInResultLike> {
    await this.step(`transferIn ${ep}`);
    return { status: 'stall' };
  }
  async transferOut(ep: number, data: BufferSource): Promise<UsbOutResultLike> {
    await this.step(`transferOut ${ep}`);
    return { status: 'ok', bytesWritten: data.byteLength };
  }
  async reset() {
    await this.step('reset');
    this.model?.busReset(clock.now());
  }
}

const opened: UsbPipe[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function open(device: FakeUsbDevice, usb = new FakeUsb()) {
  const pipe = await openUsbDevice(device, { clock, usb });
  opened.push(pipe);
  return { pipe, usb };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof FlashError ? err.code : `not a FlashError: ${String(err)}`;
  }
}

function dfuSim(): DfuDeviceSimulator {
  return createSimulator({ clock }) as DfuDeviceSimulator;
}

describe('WebUSB UsbPipe', () => {
  it('opens, selects the first configuration, and reports the device and bMaxPacketSize0', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe } = await open(device);
    expect(device.calls.slice(0, 2)).toEqual(['open', 'selectConfiguration 1']);
    expect(pipe.info).toEqual({ vendorId: 0x0483, productId: 0xdf11, deviceVersion: 0x2100, serialNumber: '315A28A0B956', productName: 'STM32  BOOTLOADER', manufacturerName: 'STMicroelectronics' });
    expect(pipe.packetSize).toBe(64);
  });

  it('keeps a configuration the device already has', async () => {
    const device = new FakeUsbDevice(dfuSim());
    device.configuration = { configurationValue: 1 };
    await open(device);
    expect(device.calls).not.toContain('selectConfiguration 1');
  });

  it('moves control transfers both ways and turns a STALL result into UsbStallError', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe } = await open(device);
    const desc = await pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18);
    expect(Array.from(desc.subarray(8, 12))).toEqual([0x83, 0x04, 0x11, 0xdf]);
    await pipe.claimInterface(0);
    // DFU_GETSTATE answers; DFU_UPLOAD with wBlockNum 1 is refused by a DfuSe device with a STALL.
    expect(Array.from(await pipe.controlIn({ requestType: 'class', recipient: 'interface', request: 5, value: 0, index: 0 }, 1))).toEqual([2]);
    const err = await pipe.controlIn({ requestType: 'class', recipient: 'interface', request: 2, value: 1, index: 0 }, 64).catch((e: unknown) => e);
    expect(isStall(err)).toBe(true);
    expect((err as FlashError).code).toBe('nak');
    // The pipe stays usable after a stall: CLRSTATUS then an OUT with data.
    expect(await pipe.controlOut({ requestType: 'class', recipient: 'interface', request: 4, value: 0, index: 0 })).toBe(0);
    expect(await pipe.controlOut({ requestType: 'class', recipient: 'interface', request: 1, value: 0, index: 0 }, Uint8Array.of(0x21, 0, 0, 0, 8))).toBe(5);
  });

  it('reports babble as a transfer error', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe } = await open(device);
    device.babble = true;
    expect(await codeOf(pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18))).toBe('bad-checksum');
  });

  it('un-halts a stalled bulk endpoint and reports the stall', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe } = await open(device);
    const err = await pipe.bulkIn(1, 64).catch((e: unknown) => e);
    expect(isStall(err)).toBe(true);
    expect(device.calls).toContain('clearHalt in 1');
  });

  it('ends the pipe on the disconnect event: pending and later calls are device-lost, closed resolves', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe, usb } = await open(device);
    device.hang = true;
    const pending = pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18);
    setTimeout(() => usb.unplug(device), 10);
    expect(await codeOf(pending)).toBe('device-lost');
    await pipe.closed;
    expect(await codeOf(pipe.controlOut({ requestType: 'class', recipient: 'interface', request: 6, value: 0, index: 0 }))).toBe('device-lost');
  });

  it('ignores the disconnect of another device', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe, usb } = await open(device);
    usb.unplug(new FakeUsbDevice());
    expect((await pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18)).length).toBe(18);
  });

  it('maps NotFoundError to device-lost, and NetworkError to a transfer error unless the device is gone', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe, usb } = await open(device);
    device.failures.set('controlTransferIn', domError('NetworkError', 'A transfer error has occurred.'));
    expect(await codeOf(pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18))).toBe('bad-checksum');
    // Chrome: transfer error first, the disconnect event a moment later.
    device.failures.set('controlTransferIn', domError('NetworkError', 'A transfer error has occurred.'));
    setTimeout(() => usb.unplug(device), 5);
    expect(await codeOf(pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18))).toBe('device-lost');

    const other = new FakeUsbDevice(dfuSim());
    const b = await open(other);
    other.failures.set('controlTransferOut', domError('NotFoundError', 'The device was disconnected.'));
    expect(await codeOf(b.pipe.controlOut({ requestType: 'class', recipient: 'interface', request: 6, value: 0, index: 0 }))).toBe('device-lost');
  });

  it('times out a transfer the device never finishes', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe } = await open(device);
    device.hang = true;
    const started = performance.now();
    expect(await codeOf(pipe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18, { timeoutMs: 50 }))).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(500);
    device.hang = false;
  });

  it('reports an open refused by the OS as port-unavailable with a driver hint', async () => {
    const device = new FakeUsbDevice(dfuSim());
    device.failures.set('open', domError('SecurityError', 'Access denied.'));
    const err = await openUsbDevice(device, { clock, usb: new FakeUsb() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).code).toBe('port-unavailable');
    expect((err as FlashError).message).toContain('0483:df11');
    expect((err as FlashError).hint).toMatch(/WinUSB/);
  });

  it('releases claimed interfaces and closes the device', async () => {
    const device = new FakeUsbDevice(dfuSim());
    const { pipe } = await openUsbDevice(device, { clock, usb: new FakeUsb() }).then((p) => ({ pipe: p }));
    await pipe.claimInterface(0);
    await pipe.close();
    await pipe.closed;
    expect(device.calls.slice(-2)).toEqual(['releaseInterface 0', 'close']);
    expect(device.opened).toBe(false);
  });

  it('carries a whole DfuSe session: the USB DFU driver flashes and verifies the simulator through it', async () => {
    const sim = dfuSim();
    const device = new FakeUsbDevice(sim);
    const { pipe } = await open(device);
    const controller = new AbortController();
    const driver = createDriver({ usb: pipe, clock, log: () => {}, signal: controller.signal });
    const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff);
    const report = await runJob(driver, createImage('test', [{ memory: 'flash', address: 0x08000000, data }]), {}, { clock, signal: controller.signal, emit: () => {} });
    expect(report.verified).toBe(true);
    expect(Buffer.from(sim.memory('flash').subarray(0, 3000)).equals(Buffer.from(data))).toBe(true);
    expect(device.calls).toContain('claimInterface 0');
    expect(device.calls).toContain('selectAlternateInterface 0 0');
  });
});

describe('bmRequestType', () => {
  it('round-trips direction, type and recipient (USB 2.0 table 9-2)', () => {
    expect(requestTypeByte('in', { requestType: 'class', recipient: 'interface' })).toBe(0xa1);
    expect(requestTypeByte('out', { requestType: 'class', recipient: 'interface' })).toBe(0x21);
    expect(requestTypeByte('in', { requestType: 'standard', recipient: 'device' })).toBe(0x80);
    expect(parseRequestType(0xa1)).toEqual({ direction: 'in', requestType: 'class', recipient: 'interface' });
    expect(parseRequestType(0x60)).toBeNull(); // type 3 is reserved
  });
});
