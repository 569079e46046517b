import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import type { Clock } from './clock';
import { transferFaults } from './faults';
import { anySignal, Trigger } from './signal';
import { DescriptorType, StandardRequest, decodeStringDescriptor, getDescriptorSetup, requestTypeByte } from './usb-descriptors';
import { UsbStallError, usbLost, type UsbDeviceInfo, type UsbDevicePort, type UsbDeviceModel, type UsbPipe, type UsbReply, type UsbSetup, type UsbTransferOptions } from './usb-pipe';

/*
 * The simulated side of the USB seam: an in-memory full-speed bus between a host and a UsbDeviceModel
 * (a driver's simulator), with frame timing, and a seeded fault decorator for any UsbPipe.
 */

/** Full speed: 12 Mbit/s, 1 ms frames (USB 2.0 §5.3.3, §8.4.3.1). */
const FRAME_MS = 1;
const BIT_MS = 1 / 12_000;
/**
 * One transaction on the wire, in bits: token packet (SYNC 8, PID 8, address 7, endpoint 4, CRC5 5,
 * EOP 3 = 35), data packet (SYNC, PID, CRC16, EOP = 35, plus 8 per byte; bit stuffing ignored),
 * handshake (SYNC, PID, EOP = 19) and two inter-packet gaps of about 8 bit times (USB 2.0 §7.1.18).
 */
function transactionMs(bytes: number): number {
  return (35 + 35 + 8 * bytes + 19 + 16) * BIT_MS;
}
/** A bus reset: SE0 for at least 10 ms (TDRST), then 10 ms reset recovery (TRSTRCY), USB 2.0 §7.1.7.5, §9.2.6.2. */
const RESET_MS = 20;
/** Used when a caller gives no timeout, so a hung model fails a test instead of hanging it. */
const DEFAULT_TIMEOUT_MS = 5000;

export interface SimulatedUsbPipe extends UsbPipe {
  /** Pulls the cable: pending and later transfers fail with 'device-lost'. */
  unplug(): void;
  /** Transfers completed so far, for tests and benchmarks. */
  readonly transfers: number;
}

/**
 * Connects a host to a device model over a simulated full-speed bus.
 *
 * Timing (the device's own delays come from its `readyAt`):
 * - a transfer starts as soon as the bus is free (the host controller works through its asynchronous
 *   schedule within the current frame);
 * - SETUP, each data packet of up to `packetSize` bytes and the status stage each cost their bits at
 *   12 Mbit/s; a device that NAKs is retried in the next frame after it is ready;
 * - the host learns of completion at the end of the frame (1 ms, SOF to SOF) its last packet went in,
 *   so back-to-back control requests run at most one per millisecond, and a 2 KiB data stage (1.7 ms
 *   of packets) takes two frames.
 *
 * Enumeration (device and configuration descriptors, SET_CONFIGURATION 1, the three strings) happens
 * here, untimed, as the OS does at plug-in.
 */
export function createUsbPipe(model: UsbDeviceModel, clock: Clock): SimulatedUsbPipe {
  const gone = new Trigger();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closedByHost = false;
  const port: UsbDevicePort = {
    disconnect: () => end(),
    get connected() {
      return !gone.aborted;
    },
  };
  const end = () => {
    if (gone.aborted) return;
    gone.fire(usbLost());
    resolveClosed();
  };
  model.attachUsb(port);

  // Enumeration, as the host stack does before anyone opens the device.
  const enumerate = (setup: UsbSetup, length: number): Uint8Array => {
    const reply = model.control({ direction: 'in', setup, length, data: new Uint8Array(0), at: clock.now() });
    if (reply.status !== 'ok' || !reply.data) throw new FlashError('port-unavailable', 'The USB device did not enumerate (no descriptor).');
    return reply.data.subarray(0, length);
  };
  const device = enumerate(getDescriptorSetup(DescriptorType.DEVICE), 18);
  if (device.length < 18 || device[1] !== DescriptorType.DEVICE) throw new FlashError('port-unavailable', 'The USB device sent a malformed device descriptor.');
  const word = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
  const packetSize = device[7]!;
  const languages = device[14] || device[15] || device[16] ? enumerate(getDescriptorSetup(DescriptorType.STRING, 0), 255) : new Uint8Array(0);
  const languageId = languages.length >= 4 ? word(languages, 2) : 0x0409;
  const text = (index: number) => (index === 0 ? undefined : decodeStringDescriptor(enumerate(getDescriptorSetup(DescriptorType.STRING, index, languageId), 255)));
  const info: UsbDeviceInfo = { vendorId: word(device, 8), productId: word(device, 10), deviceVersion: word(device, 12) };
  const manufacturerName = text(device[14]!);
  const productName = text(device[15]!);
  const serialNumber = text(device[16]!);
  if (manufacturerName !== undefined) info.manufacturerName = manufacturerName;
  if (productName !== undefined) info.productName = productName;
  if (serialNumber !== undefined) info.serialNumber = serialNumber;
  const config = model.control({
    direction: 'out',
    setup: { requestType: 'standard', recipient: 'device', request: StandardRequest.SET_CONFIGURATION, value: 1, index: 0 },
    length: 0,
    data: new Uint8Array(0),
    at: clock.now(),
  });
  if (config.status !== 'ok') throw new FlashError('port-unavailable', 'The USB device refused configuration 1.');

  const claimed = new Set<number>();
  let busFreeAt = 0;
  let transfers = 0;

  const nextFrame = (t: number) => Math.ceil(t / FRAME_MS) * FRAME_MS;
  const checkOpen = () => {
    if (gone.aborted) throw usbLost();
  };
  const checkClaimed = (setup: UsbSetup) => {
    if (setup.recipient === 'interface' && setup.requestType !== 'standard' && !claimed.has(setup.index & 0xff)) {
      throw new FlashError('internal', `Interface ${setup.index & 0xff} was not claimed before a request to it.`);
    }
  };

  /** Waits until `until`, or fails early when the device goes or the caller aborts. */
  const waitUntil = async (until: number, opts: UsbTransferOptions | undefined, issued: number) => {
    const timeout = opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = issued + timeout;
    const stop = anySignal(gone, opts?.signal);
    try {
      await clock.sleep(Math.max(0, Math.min(until, deadline) - clock.now()), stop);
    } catch (err) {
      if (gone.aborted) throw usbLost();
      throw err;
    } finally {
      stop.dispose();
    }
    if (until > deadline) throw new FlashError('timeout', `The USB device did not finish a transfer within ${timeout} ms.`, { details: { timeoutMs: timeout } });
  };

  /** Runs one transfer's packets from `start`; returns when the host sees it complete. */
  const schedule = (start: number, reply: UsbReply, setupBytes: number, dataBytes: number): number => {
    let t = start + (setupBytes > 0 ? transactionMs(setupBytes) : 0);
    if (reply.status === 'ok' && reply.readyAt !== undefined && reply.readyAt > t) t = nextFrame(reply.readyAt);
    if (reply.status === 'stall') return nextFrame(t + transactionMs(0));
    // (a STALL handshake ends the transfer in the frame it happens)
    for (let left = dataBytes; left > 0; left -= packetSize) t += transactionMs(Math.min(packetSize, left));
    if (dataBytes === 0 && setupBytes === 0) t += transactionMs(0); // a bulk zero-length packet
    if (setupBytes > 0) t += transactionMs(0); // status stage
    // The end of the frame the last packet went in; a transfer ending exactly on a boundary completes there.
    return nextFrame(t);
  };

  const control = async (direction: 'in' | 'out', setup: UsbSetup, length: number, data: Uint8Array, opts?: UsbTransferOptions) => {
    checkOpen();
    if (opts?.signal?.aborted) throw opts.signal.reason;
    checkClaimed(setup);
    const issued = clock.now();
    const start = Math.max(issued, busFreeAt);
    const reply = model.control({ direction, setup, length, data: data.slice(), at: start });
    const payload = reply.status === 'ok' ? (direction === 'in' ? (reply.data ?? new Uint8Array(0)).subarray(0, length) : data) : new Uint8Array(0);
    const done = schedule(start, reply, 8, payload.length);
    busFreeAt = done;
    try {
      await waitUntil(done, opts, issued);
    } finally {
      if (reply.status === 'ok' && reply.thenDisconnect) end();
    }
    transfers++;
    if (reply.status === 'stall') throw new UsbStallError(describeSetup(direction, setup), setupDetails(direction, setup));
    return payload.slice();
  };

  const bulk = async (direction: 'in' | 'out', endpoint: number, length: number, data: Uint8Array, opts?: UsbTransferOptions) => {
    checkOpen();
    if (!model.bulk) throw new FlashError('protocol', `The USB device has no bulk endpoint ${endpoint}.`);
    const issued = clock.now();
    const start = Math.max(issued, busFreeAt);
    const reply = model.bulk({ direction, endpoint, length, data: data.slice(), at: start });
    const payload = reply.status === 'ok' ? (direction === 'in' ? (reply.data ?? new Uint8Array(0)).subarray(0, length) : data) : new Uint8Array(0);
    const done = schedule(start, reply, 0, payload.length);
    busFreeAt = done;
    await waitUntil(done, opts, issued);
    transfers++;
    if (reply.status === 'stall') throw new UsbStallError(`a bulk ${direction.toUpperCase()} on endpoint ${endpoint}`, { endpoint });
    return payload.slice();
  };

  return {
    info,
    packetSize,
    get transfers() {
      return transfers;
    },
    controlIn: (setup, length, opts) => control('in', setup, length, new Uint8Array(0), opts),
    controlOut: async (setup, data, opts) => (await control('out', setup, data?.length ?? 0, data ?? new Uint8Array(0), opts)).length,
    bulkIn: (endpoint, length, opts) => bulk('in', endpoint, length, new Uint8Array(0), opts),
    bulkOut: async (endpoint, data, opts) => (await bulk('out', endpoint, data.length, data, opts)).length,
    async claimInterface(n) {
      checkOpen();
      claimed.add(n);
    },
    async releaseInterface(n) {
      claimed.delete(n);
    },
    async selectAlternateInterface(n, alt) {
      if (!claimed.has(n)) throw new FlashError('internal', `Interface ${n} was not claimed before selecting alternate setting ${alt}.`);
      await control('out', { requestType: 'standard', recipient: 'interface', request: StandardRequest.SET_INTERFACE, value: alt, index: n }, 0, new Uint8Array(0));
    },
    async reset() {
      checkOpen();
      const start = nextFrame(Math.max(clock.now(), busFreeAt));
      model.busReset(start);
      busFreeAt = start + RESET_MS;
      await waitUntil(busFreeAt, { timeoutMs: RESET_MS + FRAME_MS }, start);
      checkOpen();
    },
    async close() {
      closedByHost = true;
      claimed.clear();
      end();
    },
    closed,
    unplug() {
      if (!closedByHost) end();
    },
  };
}

function describeSetup(direction: 'in' | 'out', s: UsbSetup): string {
  return `a ${s.requestType} ${direction.toUpperCase()} request ${s.request} (wValue ${s.value}, wIndex ${s.index})`;
}

function setupDetails(direction: 'in' | 'out', s: UsbSetup): Record<string, string | number> {
  return { direction, requestType: s.requestType, recipient: s.recipient, request: s.request, value: s.value, index: s.index };
}

/**
 * Reproducible faults on a USB link, for the same lifecycle tests serial drivers get:
 * - line noise (bit flips, drops, duplicates) becomes a failed transfer: USB's CRCs catch it and the
 *   host controller gives up after three tries (USB 2.0 §8.5.2), so corrupt data never reaches a
 *   driver, but an OUT transfer may have reached the device before its handshake was lost;
 * - `stallRate` delays a transfer by `stallMs`, like a device that NAKs;
 * - `disconnectAfterBytes` pulls the cable once that many data bytes have moved.
 */
export function withUsbFaults(inner: UsbPipe & { unplug?: () => void }, spec: FaultSpec, clock: Clock): UsbPipe {
  const faults = transferFaults(spec, clock, () => (inner.unplug ? inner.unplug() : inner.close()), () => usbLost());
  const failed = faults.hit;
  const account = faults.account;
  const delay = (opts?: UsbTransferOptions) => faults.stall(opts?.signal);
  const transferError = () =>
    new FlashError('bad-checksum', 'A USB transfer failed (the host controller gave up after three tries).', {
      hint: 'Use a shorter cable or another USB port (avoid unpowered hubs), then try again.',
    });
  return {
    info: inner.info,
    packetSize: inner.packetSize,
    async controlIn(setup, length, opts) {
      await delay(opts);
      const data = await inner.controlIn(setup, length, opts);
      await account(data.length);
      if (failed(data.length)) throw transferError();
      return data;
    },
    async controlOut(setup, data, opts) {
      await delay(opts);
      await account(data?.length ?? 0);
      const n = await inner.controlOut(setup, data, opts);
      if (failed(data?.length ?? 0)) throw transferError();
      return n;
    },
    async bulkIn(endpoint, length, opts) {
      await delay(opts);
      const data = await inner.bulkIn(endpoint, length, opts);
      await account(data.length);
      if (failed(data.length)) throw transferError();
      return data;
    },
    async bulkOut(endpoint, data, opts) {
      await delay(opts);
      await account(data.length);
      const n = await inner.bulkOut(endpoint, data, opts);
      if (failed(data.length)) throw transferError();
      return n;
    },
    claimInterface: (n) => inner.claimInterface(n),
    releaseInterface: (n) => inner.releaseInterface(n),
    selectAlternateInterface: (n, alt) => inner.selectAlternateInterface(n, alt),
    reset: () => inner.reset(),
    close: () => inner.close(),
    closed: inner.closed,
  };
}
