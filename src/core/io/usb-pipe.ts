import { FlashError } from '../../shared/errors';
import type { AbortSignalLike, Clock } from './clock';

/*
 * The USB seam. Drivers see a UsbPipe: control and bulk transfers on one opened device, as WebUSB
 * offers them (transports/web-usb.ts) and as the in-memory pipe below offers them to simulators.
 * Framing (DFU requests, states, polling) belongs to the drivers, never here.
 */

/** A setup packet without wLength, named as WebUSB's USBControlTransferParameters (USB 2.0 §9.3). */
export interface UsbSetup {
  requestType: 'standard' | 'class' | 'vendor';
  recipient: 'device' | 'interface' | 'endpoint' | 'other';
  /** bRequest */
  request: number;
  /** wValue */
  value: number;
  /** wIndex */
  index: number;
}

export interface UsbTransferOptions {
  /** Bound on the whole transfer. WebUSB has none of its own, so transports race a timer. */
  timeoutMs?: number;
  signal?: AbortSignalLike;
}

/** What the host knows about a device from enumeration, before any driver talks to it. */
export interface UsbDeviceInfo {
  vendorId: number;
  productId: number;
  /** bcdDevice, e.g. 0x2200 */
  deviceVersion: number;
  serialNumber?: string;
  productName?: string;
  manufacturerName?: string;
}

/**
 * One opened USB device.
 *
 * Invariants:
 * - a STALL handshake rejects with `UsbStallError` (FlashError 'nak'); the pipe stays usable, as the
 *   next SETUP clears a control-endpoint stall (USB 2.0 §8.5.3.4);
 * - once the device is gone (unplugged, re-enumerated after a detach or a reset) every pending and
 *   later call rejects with FlashError 'device-lost' and `closed` resolves;
 * - class and vendor requests to an interface need that interface claimed first, as in WebUSB.
 */
export interface UsbPipe {
  readonly info: UsbDeviceInfo;
  /** bMaxPacketSize0: the control endpoint's packet size (8, 16, 32 or 64 at full speed). */
  readonly packetSize: number;
  controlIn(setup: UsbSetup, length: number, opts?: UsbTransferOptions): Promise<Uint8Array>;
  /** Resolves with the number of bytes the device accepted. */
  controlOut(setup: UsbSetup, data?: Uint8Array, opts?: UsbTransferOptions): Promise<number>;
  bulkIn(endpoint: number, length: number, opts?: UsbTransferOptions): Promise<Uint8Array>;
  bulkOut(endpoint: number, data: Uint8Array, opts?: UsbTransferOptions): Promise<number>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  /** SET_INTERFACE (USB 2.0 §9.4.10) on a claimed interface. */
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** A USB bus reset. A device that re-enumerates meanwhile ends the pipe ('device-lost'). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the pipe ends from either side. */
  readonly closed: Promise<void>;
}

/** A STALL handshake: the device refused the request (USB 2.0 §8.4.5). */
export class UsbStallError extends FlashError {
  constructor(what: string, details: Record<string, string | number | boolean> = {}) {
    super('nak', `The USB device refused ${what} (STALL).`, { details: { stall: true, ...details } });
    this.name = 'UsbStallError';
  }
}

export function isStall(err: unknown): err is UsbStallError {
  return err instanceof UsbStallError;
}

export function usbLost(message = 'The USB device disconnected.'): FlashError {
  return new FlashError('device-lost', message);
}

// ---------------------------------------------------------------------------------------------
// The device side: what a USB simulator implements.

export interface UsbControlRequest {
  direction: 'in' | 'out';
  setup: UsbSetup;
  /** wLength */
  length: number;
  /** The data stage of an OUT request (empty for IN). */
  data: Uint8Array;
  /** Clock time at which the SETUP packet reaches the device. */
  at: number;
}

export interface UsbBulkRequest {
  direction: 'in' | 'out';
  endpoint: number;
  length: number;
  data: Uint8Array;
  at: number;
}

/**
 * A device's answer. `readyAt` makes the device NAK the data or status stage until then (it is busy),
 * and the host controller retries once per frame; Infinity means it never answers. `thenDisconnect`
 * makes the device leave the bus right after this transfer completes (a DfuSe "leave" jumping to the
 * application, a DFU_DETACH with bitWillDetach).
 */
export type UsbReply = { status: 'ok'; data?: Uint8Array; readyAt?: number; thenDisconnect?: boolean } | { status: 'stall' };

/** Handed to a device model when it is plugged in. */
export interface UsbDevicePort {
  /** The device leaves the bus: unplugged, detached, or reset into its application. */
  disconnect(): void;
  readonly connected: boolean;
}

/**
 * A USB device at transfer level: standard requests (descriptors, SET_CONFIGURATION, SET_INTERFACE)
 * and its class requests. Pure and synchronous: time comes in with every request, so a simulator
 * needs no timers and its timing has no scheduling slack.
 */
export interface UsbDeviceModel {
  /** Called once per enumeration; a model that re-enumerates gets a new port each time. */
  attachUsb(port: UsbDevicePort): void;
  control(request: UsbControlRequest): UsbReply;
  /** A USB bus reset (USB 2.0 §7.1.7.5), seen at `at`. */
  busReset(at: number): void;
  bulk?(request: UsbBulkRequest): UsbReply;
}
