import { describe, expect, it } from 'vitest';
import { FlashError } from '../../src/shared/errors';
import { systemClock } from '../../src/transports/clock';
import { cdcAcmSerial, type UsbLike } from '../../src/transports/cdc-acm';
import { openLink } from '../../src/transports/index';

/**
 * Android: no Web Serial, but WebUSB. A USB CDC-ACM device (USB CDC 1.1 / PSTN 1.2: a communications
 * interface, class 2, and a data interface, class 10, with bulk IN/OUT) becomes a serial port through
 * web-serial-polyfill, and opens as the same ByteStream a Web Serial port gives.
 */
class FakeCdcAcmDevice {
  opened = false;
  configuration: unknown = null;
  readonly requests: { request: number; value: number; data?: number[] }[] = [];
  readonly fromHost: number[] = [];
  #toHost: number[] = [];
  #waiting: (() => void) | null = null;
  #gone = false;
  readonly vendorId = 0x303a; // Espressif
  readonly productId = 0x1001; // USB JTAG/serial debug unit
  readonly configurations = [
    {
      configurationValue: 1,
      interfaces: [
        { interfaceNumber: 0, alternates: [{ interfaceClass: 2, endpoints: [{ endpointNumber: 3, direction: 'in', type: 'interrupt', packetSize: 16 }] }] },
        {
          interfaceNumber: 1,
          alternates: [
            {
              interfaceClass: 10,
              endpoints: [
                { endpointNumber: 1, direction: 'in', type: 'bulk', packetSize: 64 },
                { endpointNumber: 2, direction: 'out', type: 'bulk', packetSize: 64 },
              ],
            },
          ],
        },
      ],
    },
  ];

  async open() {
    this.opened = true;
  }
  async close() {
    this.opened = false;
  }
  async selectConfiguration() {
    this.configuration = this.configurations[0];
  }
  async claimInterface() {}
  async releaseInterface() {}
  async controlTransferOut(setup: { request: number; value: number }, data?: BufferSource) {
    this.requests.push({ request: setup.request, value: setup.value, ...(data ? { data: [...new Uint8Array(data as ArrayBuffer)] } : {}) });
    return { status: 'ok', bytesWritten: data ? (data as ArrayBuffer).byteLength : 0 };
  }
  async transferOut(_ep: number, data: BufferSource) {
    if (this.#gone) throw new DOMException('The device was disconnected.', 'NotFoundError');
    const bytes = [...new Uint8Array(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data)];
    this.fromHost.push(...bytes);
    // The device answers each byte with its complement, as a line would carry a reply.
    this.#toHost.push(...bytes.map((b) => b ^ 0xff));
    this.#waiting?.();
    return { status: 'ok', bytesWritten: bytes.length };
  }
  async transferIn(_ep: number, length: number) {
    while (this.#toHost.length === 0) {
      if (this.#gone) throw new DOMException('The device was disconnected.', 'NotFoundError');
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
    const chunk = this.#toHost.splice(0, length);
    return { status: 'ok', data: new DataView(Uint8Array.from(chunk).buffer) };
  }
  unplug() {
    this.#gone = true;
    this.#waiting?.();
  }
}

function usbWith(device: FakeCdcAcmDevice): UsbLike & { unplug(): void } {
  const listeners = new Set<(e: { device: USBDevice }) => void>();
  return {
    getDevices: async () => [device as unknown as USBDevice],
    addEventListener: (_t, l) => void listeners.add(l),
    removeEventListener: (_t, l) => void listeners.delete(l),
    unplug() {
      device.unplug();
      for (const l of listeners) l({ device: device as unknown as USBDevice });
    },
  };
}

describe('serial ports over WebUSB CDC-ACM (Android)', () => {
  it('opens a CDC-ACM device as a serial port: line coding, DTR, bytes both ways, unplug is device-lost', async () => {
    const device = new FakeCdcAcmDevice();
    const usb = usbWith(device);
    const link = await openLink(
      { kind: 'serial', usbVendorId: 0x303a, usbProductId: 0x1001, index: 0 },
      { clock: systemClock, serial: cdcAcmSerial(usb), expectedPortCount: 1, serialDefaults: { baudRate: 115200 } },
    );
    // SET_LINE_CODING (0x20): 115200 = 0x0001c200 little-endian, 1 stop bit, no parity, 8 data bits.
    expect(device.requests.find((r) => r.request === 0x20)?.data).toEqual([0x00, 0xc2, 0x01, 0x00, 0, 0, 8]);
    await link.setSignals({ dtr: false, rts: true });
    // SET_CONTROL_LINE_STATE (0x22): bit 0 DTR, bit 1 RTS.
    expect(device.requests.filter((r) => r.request === 0x22).at(-1)?.value).toBe(0b10);

    await link.write(Uint8Array.of(0x30, 0x20));
    expect([...(await link.read(2, { timeoutMs: 1000 }))]).toEqual([0xcf, 0xdf]);
    expect(device.fromHost).toEqual([0x30, 0x20]);

    usb.unplug();
    const err = await link.read(1, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).code).toBe('device-lost');
    await link.close().catch(() => {});
  });

  it('lists only CDC-ACM devices', async () => {
    const hid = { vendorId: 1, productId: 2, configurations: [{ configurationValue: 1, interfaces: [{ interfaceNumber: 0, alternates: [{ interfaceClass: 3, endpoints: [] }] }] }] };
    const usb: UsbLike = { getDevices: async () => [hid as unknown as USBDevice, new FakeCdcAcmDevice() as unknown as USBDevice], addEventListener() {}, removeEventListener() {} };
    const ports = await cdcAcmSerial(usb).getPorts();
    expect(ports.map((p) => p.getInfo())).toEqual([{ usbVendorId: 0x303a, usbProductId: 0x1001 }]);
  });
});
