import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DriverInfo } from '../../shared/model';
import { webUsbFilters } from '../device-access';
import { deviceChoices, type Catalog } from './catalog.svelte';
import { DeviceState } from './device.svelte';

const dfu: DriverInfo = {
  id: 'usb-dfu',
  label: 'USB DFU',
  link: 'usb',
  usbFilters: [{ usbVendorId: 0x0483, usbProductId: 0xdf11, classCode: 0xfe, subclassCode: 0x01 }],
  capabilities: { erase: true, read: true, eeprom: false },
  targets: [{ id: 'dfu-generic', name: 'Generic DFU', boards: ['Test board'], memories: [{ name: 'flash', base: 0, size: 131072, pageSize: 1 }] }],
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};
const esp: DriverInfo = {
  id: 'esp-rom',
  label: 'ESP',
  link: 'serial',
  usbFilters: [{ usbVendorId: 0x303a }, { usbVendorId: 0x10c4, usbProductId: 0xea60 }],
  reenumerates: { usbVendorId: 0x303a, usbProductIds: [0x1001], options: { reset: 'none' } },
  capabilities: { erase: true, read: true, eeprom: false },
  targets: [{ id: 'esp32s3', name: 'ESP32-S3', boards: [], memories: [{ name: 'flash', base: 0, size: 4 << 20, pageSize: 4096 }] }],
  tested: { probe: 'peer', read: 'peer', write: 'peer', erase: 'peer' },
};

/** DeviceState reads only `find` and `choices` from the catalog. */
function catalogOf(drivers: DriverInfo[]): Catalog {
  const choices = deviceChoices(drivers);
  return { choices, find: (key: string | undefined) => choices.find((c) => c.key === key) } as unknown as Catalog;
}

const support = { serial: true, usb: true, secureContext: true };

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('WebUSB device filters', () => {
  it('offers each entry\'s IDs and, for an entry with a class, that class from any maker', () => {
    expect(webUsbFilters(dfu.usbFilters!)).toEqual([{ vendorId: 0x0483, productId: 0xdf11 }, { classCode: 0xfe, subclassCode: 0x01 }]);
    expect(webUsbFilters(esp.usbFilters!)).toEqual([{ vendorId: 0x303a }, { vendorId: 0x10c4, productId: 0xea60 }]);
  });
});

describe('a real USB device and the one clear step after it re-enumerated', () => {
  it('connects a WebUSB device, then narrows the picker to it after a detach it could not follow', async () => {
    const requests: USBDeviceRequestOptions[] = [];
    let next = { vendorId: 0x1209, productId: 0x0002, serialNumber: 'WP-1', productName: 'DFU test application' };
    vi.stubGlobal('navigator', { usb: { requestDevice: async (o: USBDeviceRequestOptions) => (requests.push(o), next) } });
    const device = new DeviceState(catalogOf([dfu]), support);
    device.connection = 'usb';
    expect(device.connection).toBe('usb');
    expect(device.missing).toBe('Connect the USB device.');
    await device.chooseUsbDevice();
    expect(requests[0]!.filters).toEqual([{ vendorId: 0x0483, productId: 0xdf11 }, { classCode: 0xfe, subclassCode: 0x01 }]);
    expect(device.ready).toBe(true);
    expect(device.selector).toEqual({ kind: 'usb', vendorId: 0x1209, productId: 0x0002, serialNumber: 'WP-1' });
    expect(device.label).toBe('Test board on DFU test application (1209:0002)');

    device.needReconnect(
      { code: 'port-unavailable', message: 'gone', hint: 'Click Connect again', action: { kind: 'pick-port-again', link: 'usb', vendorId: 0x1209, serialNumber: 'WP-1' } },
      'Flash',
    );
    expect(device.ready).toBe(false);
    expect(device.missing).toBe('The device restarted in its bootloader. Click Connect again and pick the device from pid.codes (the only one listed), then Flash again.');
    next = { vendorId: 0x1209, productId: 0x0001, serialNumber: 'WP-1', productName: 'DFU 1.1 test device' };
    await device.chooseUsbDevice();
    expect(requests[1]!.filters).toEqual([{ vendorId: 0x1209, serialNumber: 'WP-1' }]);
    expect(device.reconnect).toBeNull();
    expect(device.ready).toBe(true);
    expect(device.selector).toMatchObject({ productId: 0x0001 });
  });

  it('a board without WebUSB support falls back to its virtual device', () => {
    const device = new DeviceState(catalogOf([dfu]), { ...support, usb: false });
    device.connection = 'usb';
    expect(device.connection).toBe('virtual');
  });

  it('after an ESP\'s own USB port re-enumerated: pick the port again, and the next job does not reset', async () => {
    const port = { getInfo: () => ({ usbVendorId: 0x303a, usbProductId: 0x1001 }) };
    const filters: unknown[] = [];
    vi.stubGlobal('navigator', { serial: { requestPort: async (o: { filters?: unknown[] }) => (filters.push(o.filters), port), getPorts: async () => [port] } });
    const device = new DeviceState(catalogOf([esp]), support);
    await device.choosePort();
    expect(filters[0]).toEqual([{ usbVendorId: 0x303a }, { usbVendorId: 0x10c4, usbProductId: 0xea60 }]);
    expect(device.connection).toBe('serial');
    expect(device.driverOptions).toBeUndefined();

    device.needReconnect(
      { code: 'port-unavailable', message: 'gone', hint: 'h', action: { kind: 'pick-port-again', link: 'serial', vendorId: 0x303a, resumeOptions: { reset: 'none' } } },
      'Install',
    );
    expect(device.missing).toBe('The board restarted in download mode as a new USB device. Click Choose port again and pick the Espressif port (the only one listed), then Install again.');
    await device.choosePort();
    expect(filters[1]).toEqual([{ usbVendorId: 0x303a }]);
    expect(device.ready).toBe(true);
    expect(device.driverOptions).toEqual({ reset: 'none' });
    device.consumeResume();
    expect(device.driverOptions).toBeUndefined();
  });
});
