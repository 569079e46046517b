import { FlashError } from '../../shared/errors';
import type { AbortSignalLike } from './clock';

/*
 * The drive seam: a mass-storage device the user granted as a directory (File System Access API
 * `showDirectoryPicker()` on the page; a mounted folder in Node). Drag-and-drop bootloaders (UF2,
 * mbed DAPLink) are programmed by writing one file; some expose the flash read back as a file.
 * Drivers see files by name, never paths, handles or the host's file system.
 */

export interface DriveFile {
  name: string;
  size: number;
}

export interface DriveInfo {
  /** The volume label or folder name as the user picked it ("RPI-RP2", "MAINTENANCE"). */
  label: string;
}

export interface DriveTransferOptions {
  signal?: AbortSignalLike;
}

/**
 * One granted drive. Invariants:
 * - `write` creates or replaces the file and resolves only when its bytes were handed to the drive
 *   (FileSystemWritableFileStream.close()); a drive that goes away mid-write rejects with 'device-lost';
 * - `read` of a missing file rejects with 'not-found';
 * - `closed` resolves when the drive disappears (a bootloader that reboots once the copy is complete)
 *   or the host closes it.
 */
export interface DriveHandle {
  readonly info: DriveInfo;
  list(opts?: DriveTransferOptions): Promise<DriveFile[]>;
  read(name: string, opts?: DriveTransferOptions): Promise<Uint8Array>;
  write(name: string, data: Uint8Array, opts?: DriveTransferOptions): Promise<void>;
  close(): Promise<void>;
  readonly closed: Promise<void>;
}

export function driveLost(message = 'The drive went away.'): FlashError {
  return new FlashError('device-lost', message);
}

// ---------------------------------------------------------------------------------------------
// The device side: what a drive simulator implements.

export interface DriveDevicePort {
  /** The device leaves the bus (reboots into the new firmware). */
  eject(readyAt?: number): void;
}

export interface DriveModel {
  readonly info: DriveInfo;
  connect(port: DriveDevicePort): void;
  files(): DriveFile[];
  /** The file's bytes, or null when there is no such file. */
  readFile(name: string): Uint8Array | null;
  /** A whole file written by the host at time `at` (the OS writes the file's sectors, then closes it). */
  writeFile(name: string, data: Uint8Array, at: number): void;
}
