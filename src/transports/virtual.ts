import type { ByteStream } from '../core/io/byte-stream';
import type { Clock } from '../core/io/clock';
import { withFaults } from '../core/io/faults';
import { createUartPair, lineFormatOf } from '../core/io/uart-link';
import { findDriver, findDriverOfKind } from '../drivers/registry';
import type { DriveSimulator, HidSimulator, LinkKind, SerialSimulator, UsbSimulator } from '../drivers/types';
import { createDriveHandle, withDriveFaults } from '../core/io/drive-bus';
import type { DriveHandle } from '../core/io/drive';
import { createHidPipe, withHidFaults } from '../core/io/hid-bus';
import type { HidPipe } from '../core/io/hid-pipe';
import { type UsbPipe } from '../core/io/usb-pipe';
import { createUsbPipe, withUsbFaults } from '../core/io/usb-bus';
import { FlashError } from '../shared/errors';
import type { FaultSpec } from '../shared/model';

export interface VirtualDevice {
  stream: ByteStream;
  simulator: SerialSimulator;
}

export interface VirtualOptions {
  clock: Clock;
  targetId?: string;
  variant?: string;
  fault?: FaultSpec;
}

/** The refusal for a virtual device of the wrong kind or an unknown driver. */
function notOfKind(driverId: string, kind: LinkKind): FlashError {
  const entry = findDriver(driverId);
  if (!entry) return new FlashError('not-found', `No driver called "${driverId}".`);
  return new FlashError('unsupported', `${entry.meta.label} is a ${entry.link} device, not a ${kind} one.`);
}

/**
 * A built-in demo device: the driver's own simulator behind an in-memory UART at the device's real
 * line rate, optionally with injected faults. The host end starts at the device's rate; a driver
 * that changes rate garbles the line exactly as it would on a real board.
 */
export async function openVirtualDevice(driverId: string, opts: VirtualOptions & { board?: string }): Promise<VirtualDevice> {
  const entry = findDriverOfKind(driverId, 'serial');
  if (!entry) throw notOfKind(driverId, 'serial');
  const simulator = await namedBoard(opts.board, [driverId, opts.targetId, opts.variant], async () => {
    const { createSimulator } = await entry.simulator();
    return createSimulator({ clock: opts.clock, targetId: opts.targetId, variant: opts.variant });
  });
  const format = lineFormatOf(entry.meta, simulator.baudRate);
  const { host, device } = createUartPair(opts.clock, format);
  simulator.attach(device);
  const stream = opts.fault ? withFaults(host, opts.fault, opts.clock) : host;
  return { stream, simulator };
}

/** Named virtual boards: the same simulated chip, memory and all, every time the board is opened again. */
const boards = new Map<string, Promise<SerialSimulator>>();

/** The board called `name` (of this driver, part and variant), made on first use; a fresh one without a name. */
function namedBoard(name: string | undefined, kind: (string | undefined)[], create: () => Promise<SerialSimulator>): Promise<SerialSimulator> {
  if (name === undefined) return create();
  const key = JSON.stringify([name, ...kind]);
  let board = boards.get(key);
  if (!board) {
    board = create();
    boards.set(key, board);
    board.catch(() => boards.delete(key));
  }
  return board;
}

export interface VirtualUsbDevice {
  usb: UsbPipe;
  simulator: UsbSimulator;
}

/** Each virtual USB pipe's device, so a re-enumeration (a DFU detach) finds the same simulator again. */
const virtualUsb = new WeakMap<UsbPipe, { simulator: UsbSimulator; fault?: FaultSpec }>();

/** The simulator behind a pipe opened by `openVirtualUsbDevice` (or re-opened from it), else undefined. */
export function virtualUsbSimulator(pipe: UsbPipe): { simulator: UsbSimulator; fault?: FaultSpec } | undefined {
  return virtualUsb.get(pipe);
}

/** A new pipe to the same simulated device, once it is back on the bus; throws while it is away. */
export function reattachVirtualUsb(previous: UsbPipe, clock: Clock): UsbPipe {
  const known = virtualUsb.get(previous);
  if (!known) throw new FlashError('internal', 'Not a virtual USB device.');
  const pipe = createUsbPipe(known.simulator, clock);
  const usb = known.fault ? withUsbFaults(pipe, known.fault, clock) : pipe;
  virtualUsb.set(usb, known);
  return usb;
}

/** A built-in USB demo device: the driver's simulator on an in-memory full-speed bus. */
export async function openVirtualUsbDevice(driverId: string, opts: VirtualOptions): Promise<VirtualUsbDevice> {
  const entry = findDriverOfKind(driverId, 'usb');
  if (!entry) throw notOfKind(driverId, 'usb');
  const { createSimulator } = await entry.simulator();
  const simulator = createSimulator({ clock: opts.clock, targetId: opts.targetId, variant: opts.variant });
  const pipe = createUsbPipe(simulator, opts.clock);
  const usb = opts.fault ? withUsbFaults(pipe, opts.fault, opts.clock) : pipe;
  virtualUsb.set(usb, { simulator, ...(opts.fault ? { fault: opts.fault } : {}) });
  return { usb, simulator };
}

export interface VirtualHidDevice {
  hid: HidPipe;
  simulator: HidSimulator;
}

/** A built-in HID demo device: the driver's simulator behind an in-memory full-speed interrupt link. */
export async function openVirtualHidDevice(driverId: string, opts: VirtualOptions): Promise<VirtualHidDevice> {
  const entry = findDriverOfKind(driverId, 'hid');
  if (!entry) throw notOfKind(driverId, 'hid');
  const { createSimulator } = await entry.simulator();
  const simulator = createSimulator({ clock: opts.clock, targetId: opts.targetId, variant: opts.variant });
  const pipe = createHidPipe(simulator, opts.clock);
  return { hid: opts.fault ? withHidFaults(pipe, opts.fault, opts.clock) : pipe, simulator };
}

export interface VirtualDrive {
  drive: DriveHandle;
  simulator: DriveSimulator;
}

/** A built-in drag-and-drop demo device: the driver's simulated drive, as if granted with a folder picker. */
export async function openVirtualDrive(driverId: string, opts: VirtualOptions): Promise<VirtualDrive> {
  const entry = findDriverOfKind(driverId, 'drive');
  if (!entry) throw notOfKind(driverId, 'drive');
  const { createSimulator } = await entry.simulator();
  const simulator = createSimulator({ clock: opts.clock, targetId: opts.targetId, variant: opts.variant });
  const drive = createDriveHandle(simulator, opts.clock);
  return { drive: opts.fault ? withDriveFaults(drive, opts.fault, opts.clock) : drive, simulator };
}
