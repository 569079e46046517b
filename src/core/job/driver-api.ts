import type { ByteStream } from '../io/byte-stream';
import type { DriveHandle } from '../io/drive';
import type { HidPipe } from '../io/hid-pipe';
import type { UsbPipe } from '../io/usb-pipe';
import type { AbortSignalLike, Clock } from '../io/clock';
import type { TargetMemory } from '../plan/blocks';
import type { BlockConstraints } from '../plan/blocks';
import type { DeviceIdentity } from '../../shared/model';
import type { FirmwareImage } from '../image/memory-image';

/*
 * The seam between core/job and protocol drivers. It lives in core so the job loop depends on
 * nothing above it; drivers/types.ts re-exports it for driver authors.
 */

export type LogFn = (level: 'debug' | 'info' | 'warn', message: string) => void;

/** What every driver gets, whatever its link. Time, logging and cancellation come in here, never from globals. */
export interface BaseDriverContext {
  clock: Clock;
  log: LogFn;
  signal: AbortSignalLike;
  /** The part the user chose; undefined means "detect and accept what answers". */
  targetId?: string;
  /**
   * Driver-specific settings by name (CLI `--option key=value`, a recipe's options in the app), e.g.
   * esp-rom's flash-mode / flash-freq / flash-size / reset. Each driver documents and validates its own.
   */
  options?: Readonly<Record<string, string>>;
}

/** A serial driver's context (meta link 'serial'): a ByteStream. */
export interface DriverContext extends BaseDriverContext {
  stream: ByteStream;
  /** The rate the user forced; undefined lets the driver try its defaults and fallbacks. */
  baudRate?: number;
}
export type SerialDriverContext = DriverContext;

/** A USB driver's context (meta link 'usb'): a UsbPipe instead of a ByteStream. */
export interface UsbDriverContext extends BaseDriverContext {
  usb: UsbPipe;
  /**
   * Re-acquires the device after it re-enumerated (a DFU detach from the application into the
   * bootloader, with possibly another VID:PID). The worker re-finds it with `navigator.usb.getDevices()`
   * and opens it; without this the driver asks the user to connect again.
   */
  reopen?: (match: { vendorId?: number; productId?: number; serialNumber?: string }) => Promise<UsbPipe>;
  /**
   * Operations that destroy data beyond the image and need the user's explicit yes, spelled out in
   * the UI first: `readUnprotect` removes read-out protection by mass-erasing the whole chip.
   */
  consent?: { readUnprotect?: boolean };
  /**
   * Start the application when a session that wrote or erased ends successfully (DfuSe "leave", a USB
   * reset for plain DFU); defaults to true. Read-only and failed sessions always stay in DFU mode.
   */
  leave?: boolean;
}

/** A HID driver's context (meta link 'hid'): a HidPipe (WebHID). */
export interface HidDriverContext extends BaseDriverContext {
  hid: HidPipe;
}

/** A drive driver's context (meta link 'drive'): a granted mass-storage drive (drag-and-drop bootloaders). */
export interface DriveDriverContext extends BaseDriverContext {
  drive: DriveHandle;
}

/**
 * The context for each link kind. A driver module of one kind accepts only its own context, so a
 * serial stream handed to a USB driver (or the reverse) is a compile error, not a run-time refusal.
 */
export interface LinkContexts {
  serial: DriverContext;
  usb: UsbDriverContext;
  hid: HidDriverContext;
  drive: DriveDriverContext;
}

export interface Identified {
  device: DeviceIdentity;
  memories: TargetMemory[];
}

/**
 * A protocol session with one device. Mandatory: connect, identify, writeBlock, close.
 * Drivers never loop over an image: core/job does, so progress, abort and retry behave the same
 * for every protocol.
 */
export interface Driver {
  /** Enter the bootloader / programming mode and establish sync. */
  connect(): Promise<void>;
  /** Reads the device ID, refuses a device that is not the chosen part (FlashError 'wrong-target'). */
  identify(): Promise<Identified>;
  constraints(memory: string): BlockConstraints;
  /**
   * The image as this device needs it, after identify and before validation: headers patched from
   * the driver's options (ESP flash mode/size/frequency), images built for another chip refused.
   * Pure with respect to the device: nothing is sent. Verify compares against what it returns.
   */
  prepareImage?(image: FirmwareImage): FirmwareImage;
  /**
   * `progress`, when given, takes the image bytes of this block the device has acknowledged so far
   * (a driver that sends a block in several frames reports each), so progress never jumps a block.
   */
  writeBlock(memory: string, address: number, data: Uint8Array, progress?: (imageBytes: number) => void): Promise<void>;
  /**
   * Raw bytes per second the link can carry at best (baud / bits per frame), when the driver knows it and
   * sends image bytes uncompressed: the job's time left is never less than the line allows.
   */
  lineRate?(): number | undefined;
  readBlock?(memory: string, address: number, length: number): Promise<Uint8Array>;
  /**
   * Compares a block on the device without reading it back (device-side MD5, CRC): what the device
   * computed, as hex, and whether it equals the digest of `expected`. Preferred over readBlock for
   * verify and skip-unchanged when present.
   */
  verifyBlock?(memory: string, address: number, expected: Uint8Array): Promise<{ equal: boolean; device: string; expected: string }>;
  /** Whole-chip erase, where the device has one that really erases. */
  erase?(): Promise<void>;
  /** The unit's own ID where the protocol can read one (ESP MAC, STM32 96-bit UID); asked by a probe, after identify(). */
  unitId?(): Promise<{ kind: 'mac' | 'uid'; value: string } | undefined>;
  /**
   * End the session and release the link. Never throws. `outcome.ok` is false when the job failed
   * (including a verify mismatch core found): a driver that would start the application on leaving
   * (DFU "leave", optiboot LEAVE_PROGMODE) should then stay in its bootloader where it can.
   */
  close(outcome?: { ok: boolean }): Promise<void>;
}

