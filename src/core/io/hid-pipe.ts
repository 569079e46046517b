import { FlashError } from '../../shared/errors';
import type { AbortSignalLike } from './clock';

/*
 * The HID seam, shaped like UsbPipe: drivers see reports on one opened HID interface, as WebHID
 * offers them (HIDDevice.sendReport / 'inputreport' / feature reports) and as the in-memory bus
 * (hid-bus.ts) offers them to simulators. Framing inside reports (CMSIS-DAP commands, HID bootloader
 * packets) belongs to drivers, never here.
 */

export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  productName?: string;
  /**
   * Report sizes in bytes, without the report ID byte, as the report descriptor declares them: a
   * driver pads what it sends to `outputReportSize` (WebHID sends exactly what it is given).
   */
  inputReportSize: number;
  outputReportSize: number;
}

export interface HidTransferOptions {
  /** Bounds the wait for a report; the pipe's own default otherwise. */
  timeoutMs?: number;
  signal?: AbortSignalLike;
}

export interface HidReport {
  reportId: number;
  data: Uint8Array;
}

/**
 * One opened HID interface. Invariants, as for ByteStream and UsbPipe:
 * - `receiveReport` resolves with input reports in arrival order; none is lost to a timeout;
 * - a closed or unplugged device rejects every pending and later call with 'device-lost';
 * - a report that does not arrive in time rejects with 'timeout'.
 */
export interface HidPipe {
  readonly info: HidDeviceInfo;
  /** An output report (interrupt OUT, or SET_REPORT on the control pipe where there is none). */
  sendReport(reportId: number, data: Uint8Array, opts?: HidTransferOptions): Promise<void>;
  /** The next input report. */
  receiveReport(opts?: HidTransferOptions): Promise<HidReport>;
  sendFeatureReport(reportId: number, data: Uint8Array, opts?: HidTransferOptions): Promise<void>;
  receiveFeatureReport(reportId: number, opts?: HidTransferOptions): Promise<Uint8Array>;
  close(): Promise<void>;
  /** Resolves when the device goes away or the host closes it. */
  readonly closed: Promise<void>;
}

export function hidLost(message = 'The HID device disconnected.'): FlashError {
  return new FlashError('device-lost', message);
}

// ---------------------------------------------------------------------------------------------
// The device side: what a HID simulator implements.

/** How a device model talks back: input reports (ready at a time on the clock) and unplugging. */
export interface HidDevicePort {
  input(report: HidReport, readyAt?: number): void;
  unplug(): void;
}

/** A feature report answer; `stall` is a refused GET/SET_REPORT. */
export type HidFeatureReply = { status: 'ok'; data?: Uint8Array } | { status: 'stall' };

export interface HidDeviceModel {
  readonly info: HidDeviceInfo;
  /** Called once when the pipe opens; the model keeps the port to send input reports. */
  connect(port: HidDevicePort): void;
  /** An output report from the host, at time `at`. */
  output(report: HidReport, at: number): void;
  setFeature?(report: HidReport, at: number): HidFeatureReply;
  getFeature?(reportId: number, at: number): HidFeatureReply;
}
