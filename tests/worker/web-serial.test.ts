import { afterEach, describe, expect, it } from 'vitest';
import { FlashError } from '../../src/shared/errors';
import { systemClock } from '../../src/transports/clock';
import { openLink } from '../../src/transports/index';
import { openSerialPort, type SerialLineOptions } from '../../src/transports/web-serial';
import { FakePort } from './fake-serial';

const LINE: SerialLineOptions = { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 };
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function open(port: FakePort) {
  const stream = await openSerialPort(port, LINE, systemClock);
  opened.push(stream);
  return stream;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof FlashError ? err.code : `not a FlashError: ${String(err)}`;
  }
}

describe('Web Serial ByteStream', () => {
  it('moves bytes both ways, and a read timeout loses nothing', async () => {
    const port = new FakePort();
    const s = await open(port);
    expect(port.opens).toEqual([LINE]);
    await s.write(Uint8Array.of(0x30, 0x20));
    expect(port.written).toEqual([0x30, 0x20]);
    expect(await codeOf(s.read(4, { timeoutMs: 20 }))).toBe('timeout');
    port.receive(0x14, 0x10, 0x99);
    expect([...(await s.read(2, { timeoutMs: 100 }))]).toEqual([0x14, 0x10]);
    expect([...(await s.read(8, { timeoutMs: 100 }))]).toEqual([0x99]);
  });

  it('wakes a waiting read as soon as bytes arrive', async () => {
    const port = new FakePort();
    const s = await open(port);
    const started = performance.now();
    const pending = s.read(1, { timeoutMs: 2000 });
    setTimeout(() => port.receive(0x42), 10);
    expect([...(await pending)]).toEqual([0x42]);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('maps DTR/RTS onto setSignals', async () => {
    const port = new FakePort();
    const s = await open(port);
    await s.setSignals({ dtr: true, rts: false });
    await s.setSignals({ dtr: false });
    expect(port.signals).toEqual([{ dataTerminalReady: true, requestToSend: false }, { dataTerminalReady: false }]);
  });

  it('changes baud rate by closing and reopening the port', async () => {
    const port = new FakePort();
    const s = await open(port);
    await s.setBaud(115200); // same rate: nothing happens
    expect(port.opens).toHaveLength(1);
    await s.setBaud(57600);
    expect(port.opens.map((o) => o.baudRate)).toEqual([115200, 57600]);
    port.receive(1, 2, 3);
    expect([...(await s.read(3, { timeoutMs: 200 }))]).toEqual([1, 2, 3]);
    await s.write(Uint8Array.of(9));
    expect(port.written).toEqual([9]);
  });

  it('keeps reading after a non-fatal line error', async () => {
    const port = new FakePort();
    const s = await open(port);
    port.receive(1);
    await s.read(1, { timeoutMs: 200 });
    port.lineError();
    await new Promise((r) => setTimeout(r, 10));
    port.receive(2);
    expect([...(await s.read(1, { timeoutMs: 200 }))]).toEqual([2]);
  });

  it('turns an unplugged device into device-lost, for waiting and later calls', async () => {
    const port = new FakePort();
    const s = await open(port);
    const waiting = codeOf(s.read(1, { timeoutMs: 5000 }));
    port.unplug();
    expect(await waiting).toBe('device-lost');
    await s.closed;
    expect(await codeOf(s.write(Uint8Array.of(1)))).toBe('device-lost');
    expect(await codeOf(s.setSignals({ dtr: true }))).toBe('device-lost');
  });

  it('reports a busy port as port-unavailable', async () => {
    const port = new FakePort();
    port.failOpen = new DOMException('Failed to open serial port.', 'NetworkError');
    expect(await codeOf(openSerialPort(port, LINE, systemClock))).toBe('port-unavailable');
  });

  it('closes cleanly, releasing the port for the next user', async () => {
    const port = new FakePort();
    const s = await openSerialPort(port, LINE, systemClock);
    await s.close();
    await s.closed;
    expect(port.readable).toBeNull();
    expect(await codeOf(s.read(1, { timeoutMs: 10 }))).toBe('device-lost');
    await open(port); // can be opened again
  });
});

describe('serial hand-off to the worker', () => {
  it('tells two identical adapters apart by their index among same-VID/PID ports', async () => {
    const other = new FakePort({ usbVendorId: 0x0403, usbProductId: 0x6001 });
    const first = new FakePort();
    const second = new FakePort();
    const serial = { getPorts: async () => [first, other, second] };
    const link = await openLink(
      { kind: 'serial', usbVendorId: 0x2341, usbProductId: 0x0043, index: 1 },
      { clock: systemClock, serial, expectedPortCount: 2, serialDefaults: { baudRate: 57600 } },
    );
    opened.push(link);
    expect(second.opens).toEqual([{ baudRate: 57600, dataBits: 8, parity: 'none', stopBits: 1, bufferSize: 4096 }]);
    expect(first.opens).toEqual([]);
  });

  it('refuses to guess when the set of identical adapters changed', async () => {
    const serial = { getPorts: async () => [new FakePort(), new FakePort(), new FakePort()] };
    const err = await openLink({ kind: 'serial', usbVendorId: 0x2341, usbProductId: 0x0043, index: 1 }, { clock: systemClock, serial, expectedPortCount: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).code).toBe('port-unavailable');
    expect((err as FlashError).hint).toMatch(/Choose the port again/);
  });

  it('says so when the chosen port is gone', async () => {
    const serial = { getPorts: async () => [] };
    const err = await openLink({ kind: 'serial', usbVendorId: 0x2341, usbProductId: 0x0043, index: 0 }, { clock: systemClock, serial }).catch((e: unknown) => e);
    expect((err as FlashError).code).toBe('port-unavailable');
  });
});
