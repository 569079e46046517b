import type { ByteStream } from '../../core/io/byte-stream';
import type { Clock } from '../../core/io/clock';
import type { DriveHandle } from '../../core/io/drive';
import type { HidPipe } from '../../core/io/hid-pipe';
import type { UsbPipe } from '../../core/io/usb-pipe';
import type { DeviceSelector, SerialDefaults } from '../../shared/model';
import type { UsbMatch } from '../../transports/reacquire';
import type { FetchFile } from '../manifests';
import type { MesQueueDeps } from '../production/mes-queue';
import type { JobLocks } from '../sessions';
import type { FlasherDb } from '../storage/db';

/** What the API is built from; the worker passes the browser's, tests pass fakes. */
export interface ApiDeps {
  /** The database, opened on first use. */
  db: () => Promise<FlasherDb>;
  /** Monotonic time for the engine and links. */
  clock: Clock;
  /** Wall-clock epoch milliseconds, for History. */
  now: () => number;
  openLink: (
    selector: DeviceSelector,
    opts: { clock: Clock; serialDefaults?: SerialDefaults; expectedPortCount?: number },
  ) => Promise<ByteStream>;
  /** For drivers whose meta says link 'usb'. */
  openUsbLink: (selector: DeviceSelector, opts: { clock: Clock }) => Promise<UsbPipe>;
  /** For drivers whose meta says link 'hid'; without it such drivers are refused. */
  openHidLink?: (selector: DeviceSelector, opts: { clock: Clock }) => Promise<HidPipe>;
  /** For drivers whose meta says link 'drive'; without it such drivers are refused. */
  openDrive?: (selector: DeviceSelector, opts: { clock: Clock }) => Promise<DriveHandle>;
  /**
   * Opens a USB device again after it re-enumerated (a DFU detach); without it a USB driver asks the
   * user to connect the device again. transports/reacquire.ts reopenUsbLink.
   */
  reopenUsbLink?: (previous: UsbPipe, match: UsbMatch, opts: { clock: Clock; signal?: AbortSignal }) => Promise<UsbPipe>;
  /**
   * Finds a serial port again after the device re-enumerated on reset (DriverInfo.reenumerates), or null
   * (then the page asks the user to pick it once). transports/reacquire.ts reacquireSerialPort.
   */
  reacquireSerialPort?: (
    lost: ByteStream,
    ids: { usbVendorId: number; usbProductIds: readonly number[] },
    opts: { clock: Clock; signal?: AbortSignal },
  ) => Promise<{ selector: Extract<DeviceSelector, { kind: 'serial' }>; expectedPortCount: number } | null>;
  /** Downloads manifests and their parts; the platform's fetch by default. */
  fetchFile?: FetchFile;
  locks: JobLocks;
  appVersion: string;
  /** Minimum gap between progress events sent to the page; 40 ms = 25 per second. */
  progressIntervalMs?: number;
  timers?: Timers;
  /** For MES delivery; the platform's fetch by default. */
  fetch?: MesQueueDeps['fetch'];
  /** MES retry timing, for tests. */
  mesBackoff?: { baseMs: number; maxMs: number; random?: () => number };
}

export interface Timers {
  set: (fn: () => void, ms: number) => unknown;
  clear: (handle: unknown) => void;
}
