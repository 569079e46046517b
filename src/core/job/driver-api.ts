import type { ByteStream } from '../io/byte-stream';
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

/** Everything a driver may touch. Time, logging and cancellation come in here, never from globals. */
export interface DriverContext {
  stream: ByteStream;
  clock: Clock;
  log: LogFn;
  signal: AbortSignalLike;
  /** The part the user chose; undefined means "detect and accept what answers". */
  targetId?: string;
  /** The rate the user forced; undefined lets the driver try its defaults and fallbacks. */
  baudRate?: number;
  /**
   * Driver-specific settings by name (CLI `--option key=value`, a recipe's options in the app), e.g.
   * esp-rom's flash-mode / flash-freq / flash-size / reset. Each driver documents and validates its own.
   */
  options?: Readonly<Record<string, string>>;
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

