import type { Clock } from '../core/io/clock';
import { anySignal, Trigger } from '../core/io/signal';
import { UsbStallError, usbLost, type UsbDeviceInfo, type UsbPipe, type UsbSetup, type UsbTransferOptions } from '../core/io/usb-pipe';
import { DescriptorType, getDescriptorSetup } from '../core/io/usb-descriptors';
import { FlashError } from '../shared/errors';

/** WebUSB's transfer outcome (USBInTransferResult / USBOutTransferResult). */
export interface UsbInResultLike {
  readonly status: 'ok' | 'stall' | 'babble';
  readonly data?: DataView | undefined;
}
export interface UsbOutResultLike {
  readonly status: 'ok' | 'stall' | 'babble';
  readonly bytesWritten: number;
}

/** The part of WebUSB's USBDevice this transport uses; the real one satisfies it, tests pass fakes. */
export interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName?: string | null | undefined;
  readonly productName?: string | null | undefined;
  readonly serialNumber?: string | null | undefined;
  readonly opened: boolean;
  readonly configuration: { readonly configurationValue: number } | null;
  readonly configurations: readonly { readonly configurationValue: number }[];
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  controlTransferIn(setup: UsbSetup, length: number): Promise<UsbInResultLike>;
  controlTransferOut(setup: UsbSetup, data?: BufferSource): Promise<UsbOutResultLike>;
  clearHalt(direction: 'in' | 'out', endpointNumber: number): Promise<void>;
  transferIn(endpointNumber: number, length: number): Promise<UsbInResultLike>;
  transferOut(endpointNumber: number, data: BufferSource): Promise<UsbOutResultLike>;
  reset(): Promise<void>;
}

/** `navigator.usb`: WebUSB fires 'disconnect' there, not on the device. */
export interface UsbEventsLike {
  addEventListener(type: 'disconnect', listener: (event: { readonly device: unknown }) => void): void;
  removeEventListener(type: 'disconnect', listener: (event: { readonly device: unknown }) => void): void;
}

export interface OpenUsbOptions {
  clock: Clock;
  /** Where 'disconnect' events come from: `navigator.usb` by default. */
  usb?: UsbEventsLike;
  /** The configuration to select when the device has none selected (default: its first). */
  configurationValue?: number;
}

/** How long to wait for WebUSB's 'disconnect' event after a transfer error, to tell an unplug from line noise. */
const DISCONNECT_GRACE_MS = 50;

/**
 * Opens a WebUSB device as a UsbPipe.
 *
 * Invariants:
 * - a STALL (`result.status === 'stall'`) rejects with UsbStallError; a bulk endpoint is un-halted
 *   first (WebUSB leaves that to the page); babble is a transfer error ('bad-checksum');
 * - losing the device (the 'disconnect' event for this device, NotFoundError, a transfer error
 *   followed by the disconnect) ends the pipe: pending and later calls reject with 'device-lost'
 *   and `closed` resolves;
 * - WebUSB transfers have no timeout, so `timeoutMs` races a timer ('timeout'); the transfer itself
 *   cannot be cancelled and is left to finish or fail on its own.
 */
export async function openUsbDevice(device: UsbDeviceLike, opts: OpenUsbOptions): Promise<UsbPipe> {
  const pipe = new WebUsbPipe(device, opts);
  await pipe.open();
  return pipe;
}

class WebUsbPipe implements UsbPipe {
  readonly info: UsbDeviceInfo;
  packetSize = 64;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #ended = new Trigger();
  #claimed = new Set<number>();
  readonly #events: UsbEventsLike | undefined;
  readonly #onDisconnect = (event: { readonly device: unknown }) => {
    if (event.device === this.device) this.#end();
  };

  constructor(
    private readonly device: UsbDeviceLike,
    private readonly opts: OpenUsbOptions,
  ) {
    const d = device;
    this.info = {
      vendorId: d.vendorId,
      productId: d.productId,
      // WebUSB splits bcdDevice into major, minor and subminor digits.
      deviceVersion: (d.deviceVersionMajor << 8) | (d.deviceVersionMinor << 4) | d.deviceVersionSubminor,
    };
    if (d.serialNumber) this.info.serialNumber = d.serialNumber;
    if (d.productName) this.info.productName = d.productName;
    if (d.manufacturerName) this.info.manufacturerName = d.manufacturerName;
    this.#events = opts.usb ?? workerUsb();
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  async open(): Promise<void> {
    try {
      if (!this.device.opened) await this.device.open();
      if (!this.device.configuration) {
        const value = this.opts.configurationValue ?? this.device.configurations[0]?.configurationValue ?? 1;
        await this.device.selectConfiguration(value);
      }
    } catch (err) {
      throw openError(err, this.info);
    }
    this.#events?.addEventListener('disconnect', this.#onDisconnect);
    // WebUSB does not expose bMaxPacketSize0; the device descriptor has it at offset 7.
    try {
      const d = await this.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18, { timeoutMs: 1000 });
      if (d.length >= 8 && d[7]) this.packetSize = d[7];
    } catch (err) {
      if (this.#ended.aborted) throw err;
      // Keep 64, the full-speed maximum; a device that refuses its own descriptor will show it soon enough.
    }
  }

  async controlIn(setup: UsbSetup, length: number, opts?: UsbTransferOptions): Promise<Uint8Array> {
    const r = await this.#run(() => this.device.controlTransferIn({ ...setup }, length), opts);
    this.#check(r.status, () => new UsbStallError(`a ${setup.requestType} IN request ${setup.request} (wValue ${setup.value}, wIndex ${setup.index})`, { request: setup.request, value: setup.value, index: setup.index }));
    return bytesOf(r.data);
  }

  async controlOut(setup: UsbSetup, data?: Uint8Array, opts?: UsbTransferOptions): Promise<number> {
    // WebUSB sends no data stage when data is omitted; an empty buffer would be the same, but be exact.
    const r = await this.#run(() => (data && data.length > 0 ? this.device.controlTransferOut({ ...setup }, data.slice()) : this.device.controlTransferOut({ ...setup })), opts);
    this.#check(r.status, () => new UsbStallError(`a ${setup.requestType} OUT request ${setup.request} (wValue ${setup.value}, wIndex ${setup.index})`, { request: setup.request, value: setup.value, index: setup.index }));
    return r.bytesWritten;
  }

  async bulkIn(endpoint: number, length: number, opts?: UsbTransferOptions): Promise<Uint8Array> {
    const r = await this.#run(() => this.device.transferIn(endpoint, length), opts);
    if (r.status === 'stall') await this.device.clearHalt('in', endpoint).catch(() => undefined);
    this.#check(r.status, () => new UsbStallError(`a bulk IN on endpoint ${endpoint}`, { endpoint }));
    return bytesOf(r.data);
  }

  async bulkOut(endpoint: number, data: Uint8Array, opts?: UsbTransferOptions): Promise<number> {
    const r = await this.#run(() => this.device.transferOut(endpoint, data.slice()), opts);
    if (r.status === 'stall') await this.device.clearHalt('out', endpoint).catch(() => undefined);
    this.#check(r.status, () => new UsbStallError(`a bulk OUT on endpoint ${endpoint}`, { endpoint }));
    return r.bytesWritten;
  }

  async claimInterface(n: number): Promise<void> {
    await this.#run(() => this.device.claimInterface(n));
    this.#claimed.add(n);
  }

  async releaseInterface(n: number): Promise<void> {
    this.#claimed.delete(n);
    await this.#run(() => this.device.releaseInterface(n));
  }

  async selectAlternateInterface(n: number, alt: number): Promise<void> {
    await this.#run(() => this.device.selectAlternateInterface(n, alt));
  }

  async reset(): Promise<void> {
    await this.#run(() => this.device.reset());
  }

  async close(): Promise<void> {
    if (this.#ended.aborted) return;
    this.#end();
    for (const n of this.#claimed) await this.device.releaseInterface(n).catch(() => undefined);
    this.#claimed.clear();
    await this.device.close().catch(() => undefined);
  }

  #end(): void {
    if (this.#ended.aborted) return;
    this.#ended.fire(usbLost());
    this.#events?.removeEventListener('disconnect', this.#onDisconnect);
    this.#resolveClosed();
  }

  #check(status: 'ok' | 'stall' | 'babble', stall: () => FlashError): void {
    if (status === 'stall') throw stall();
    if (status === 'babble') throw transferError('The USB device sent more data than asked for (babble).');
  }

  /** Runs a WebUSB call against the pipe's end, the caller's abort and timeout; maps DOMExceptions to FlashErrors. */
  async #run<T>(call: () => Promise<T>, opts?: UsbTransferOptions): Promise<T> {
    if (this.#ended.aborted) throw usbLost();
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const stop = anySignal(this.#ended, opts?.signal);
    const racers: Promise<T>[] = [call()];
    const timer = new Trigger();
    // A stop (disconnect, abort) or the timer ends the wait; the WebUSB call itself cannot be cancelled.
    racers.push(
      new Promise<T>((_, reject) => {
        stop.addEventListener('abort', () => reject(stop.reason));
        if (opts?.timeoutMs !== undefined) {
          const ms = opts.timeoutMs;
          this.opts.clock.sleep(ms, anySignal(stop, timer)).then(
            () => reject(new FlashError('timeout', `The USB device did not finish a transfer within ${ms} ms.`, { details: { timeoutMs: ms } })),
            () => undefined,
          );
        }
      }),
    );
    try {
      return await Promise.race(racers);
    } catch (err) {
      throw await this.#mapError(err);
    } finally {
      timer.fire();
      stop.dispose();
    }
  }

  async #mapError(err: unknown): Promise<unknown> {
    if (err instanceof FlashError) return err;
    const name = (err as { name?: string } | null)?.name;
    const message = (err as { message?: string } | null)?.message ?? String(err);
    if (name === 'NotFoundError' || name === 'AbortError') {
      this.#end();
      return usbLost();
    }
    if (name === 'NetworkError') {
      // Chrome reports an unplug mid-transfer as a transfer error first and the disconnect event soon after.
      await this.opts.clock.sleep(DISCONNECT_GRACE_MS).catch(() => undefined);
      if (this.#ended.aborted || !this.device.opened) {
        this.#end();
        return usbLost();
      }
      return transferError(`The USB transfer failed: ${message}`);
    }
    if (name === 'InvalidStateError') return new FlashError('internal', `WebUSB refused a call in the wrong state: ${message}`);
    if (name === 'SecurityError') return new FlashError('port-unavailable', `WebUSB refused access to the device: ${message}`, { hint: ACCESS_HINT });
    return new FlashError('internal', `Unexpected WebUSB error: ${name ?? ''} ${message}`.trim());
  }
}

const ACCESS_HINT =
  'Close other programs that use the device (dfu-util, STM32CubeProgrammer, IDEs). On Windows the device needs the ' +
  'WinUSB driver (Zadig installs it); on Linux a udev rule must give your user access to it.';

function openError(err: unknown, info: UsbDeviceInfo): FlashError {
  const name = (err as { name?: string } | null)?.name;
  const message = (err as { message?: string } | null)?.message ?? String(err);
  const ids = `${info.vendorId.toString(16).padStart(4, '0')}:${info.productId.toString(16).padStart(4, '0')}`;
  if (name === 'NotFoundError') return usbLost(`The USB device ${ids} disconnected before it could be opened.`);
  return new FlashError('port-unavailable', `Cannot open the USB device ${ids}: ${message}`, { hint: ACCESS_HINT, details: { error: name ?? 'unknown' } });
}

function transferError(message: string): FlashError {
  return new FlashError('bad-checksum', message, { hint: 'Use a shorter cable or another USB port (avoid unpowered hubs), then try again.' });
}

function bytesOf(view: DataView | undefined): Uint8Array {
  if (!view) return new Uint8Array(0);
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function workerUsb(): UsbEventsLike | undefined {
  const nav = (globalThis as { navigator?: { usb?: UsbEventsLike } }).navigator;
  return nav?.usb;
}

/** Compile-time proof that the browser's objects fit the structural types above (types w3c-web-usb). */
type Fits<T extends true> = T;
export type WebUsbFits = [Fits<USBDevice extends UsbDeviceLike ? true : false>, Fits<USB extends UsbEventsLike ? true : false>];
