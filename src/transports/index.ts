import { cdcAcmSerial, type UsbLike } from './cdc-acm';
import type { ByteStream } from '../core/io/byte-stream';
import type { Clock } from '../core/io/clock';
import { FlashError } from '../shared/errors';
import type { DeviceSelector, SerialDefaults } from '../shared/model';
import type { UsbPipe } from '../core/io/usb-pipe';
import { openVirtualDevice, openVirtualDrive, openVirtualHidDevice, openVirtualUsbDevice } from './virtual';
import type { DriveHandle } from '../core/io/drive';
import type { HidPipe } from '../core/io/hid-pipe';
import { openUsbDevice } from './web-usb';
import { rememberOpenedPort, rememberUsbDevice } from './reacquire';
import { openSerialPort, type SerialPortLike } from './web-serial';

export { openSerialPort, type SerialPortLike, type SerialLineOptions } from './web-serial';
export { reacquireSerialPort, reopenUsbLink } from './reacquire';

/**
 * Device hand-off between the page and the worker.
 *
 * `requestPort()` needs a user gesture, so only the page can show the port picker; a SerialPort
 * object cannot be posted to a worker. Web Serial is exposed to dedicated workers, and a port the
 * user granted to the origin is listed there by `navigator.serial.getPorts()`. So:
 * 1. the page picks the port, then describes it as { usbVendorId, usbProductId, index }, where `index`
 *    is its position among the granted ports with the same VID/PID in the page's `getPorts()` list,
 *    plus `expectedPortCount`, the size of that group;
 * 2. the worker calls `getPorts()`, filters the same group and takes the same index. Both lists come
 *    from the same per-origin permission list in the browser, in the same order, so two identical
 *    adapters (same VID/PID, and Web Serial exposes no serial number) are still told apart;
 * 3. if the group's size differs (an adapter was plugged in or out between the pick and the job), the
 *    index could point at another board, so the worker refuses and asks for the port again, rather
 *    than flash the wrong device.
 * The port is opened by the worker for one job and closed afterwards, so the page (or the next job)
 * can open it again.
 */
export interface LinkOptions {
  clock: Clock;
  /** The driver's line settings, for serial ports. */
  serialDefaults?: SerialDefaults;
  /** See the hand-off above. */
  expectedPortCount?: number;
  /** `navigator.serial` by default; tests inject a fake. */
  serial?: { getPorts(): Promise<SerialPortLike[]> };
}

/** Opens the link a selector names: a built-in virtual device or a granted serial port. */
export async function openLink(selector: DeviceSelector, opts: LinkOptions): Promise<ByteStream> {
  switch (selector.kind) {
    case 'virtual': {
      const device = await openVirtualDevice(selector.driverId, {
        clock: opts.clock,
        ...(selector.targetId === undefined ? {} : { targetId: selector.targetId }),
        ...(selector.fault === undefined ? {} : { fault: selector.fault }),
        ...(selector.variant === undefined ? {} : { variant: selector.variant }),
        ...(selector.board === undefined ? {} : { board: selector.board }),
      });
      return device.stream;
    }
    case 'serial':
      return openGrantedSerialPort(selector, opts);
    case 'usb':
      throw new FlashError('unsupported', 'This programmer talks to serial ports, not raw USB devices.', {
        hint: 'Choose a serial (COM port) device or a virtual one.',
      });
  }
}

/**
 * Opens a USB device for a driver whose meta says link 'usb'. A real device is re-found in the worker
 * with `navigator.usb.getDevices()` by VID, PID and serial number (WebUSB, unlike Web Serial, exposes
 * the serial number, so identical devices are told apart directly); a virtual one is its driver's
 * simulator on the in-memory bus.
 */
export async function openUsbLink(selector: DeviceSelector, opts: { clock: Clock; usb?: { getDevices(): Promise<USBDevice[]> } }): Promise<UsbPipe> {
  if (selector.kind === 'virtual') {
    const device = await openVirtualUsbDevice(selector.driverId, {
      clock: opts.clock,
      ...(selector.targetId === undefined ? {} : { targetId: selector.targetId }),
      ...(selector.fault === undefined ? {} : { fault: selector.fault }),
      ...(selector.variant === undefined ? {} : { variant: selector.variant }),
    });
    return device.usb;
  }
  if (selector.kind !== 'usb') {
    throw new FlashError('unsupported', 'This programmer talks to USB devices, not serial ports.', {
      hint: 'Choose the device from the USB device list.',
    });
  }
  const usb = opts.usb ?? (globalThis as { navigator?: { usb?: { getDevices(): Promise<USBDevice[]> } } }).navigator?.usb;
  if (!usb) {
    throw new FlashError('unsupported', 'This browser does not let webprog reach USB devices.', {
      hint: 'Use a desktop Chrome, Edge or Opera over https, or a virtual device.',
    });
  }
  const matches = (await usb.getDevices()).filter(
    (d) => d.vendorId === selector.vendorId && d.productId === selector.productId && (selector.serialNumber === undefined || d.serialNumber === selector.serialNumber),
  );
  if (matches.length !== 1) {
    throw new FlashError('port-unavailable', matches.length === 0 ? 'The chosen USB device is not connected any more.' : 'Several identical USB devices match and none names a serial number.', {
      hint: matches.length === 0 ? 'Plug it back in (in its bootloader mode) and choose it again.' : 'Connect one at a time, or choose the device again.',
    });
  }
  const pipe = await openUsbDevice(matches[0]!, { clock: opts.clock });
  rememberUsbDevice(pipe, matches[0]!);
  return pipe;
}

/**
 * Opens a HID device for a driver whose meta says link 'hid'. Only virtual devices for now: the WebHID
 * transport (HIDDevice → HidPipe) comes with the first HID protocol.
 */
export async function openHidLink(selector: DeviceSelector, opts: { clock: Clock }): Promise<HidPipe> {
  if (selector.kind !== 'virtual') throw notReachable('HID devices');
  return (await openVirtualHidDevice(selector.driverId, virtualOptions(selector, opts.clock))).hid;
}

/**
 * Opens a drive for a driver whose meta says link 'drive'. Only virtual drives for now: the File System
 * Access transport (a granted directory handle → DriveHandle) comes with the first drag-and-drop protocol.
 */
export async function openDriveLink(selector: DeviceSelector, opts: { clock: Clock }): Promise<DriveHandle> {
  if (selector.kind !== 'virtual') throw notReachable('drives');
  return (await openVirtualDrive(selector.driverId, virtualOptions(selector, opts.clock))).drive;
}

function virtualOptions(selector: Extract<DeviceSelector, { kind: 'virtual' }>, clock: Clock) {
  return {
    clock,
    ...(selector.targetId === undefined ? {} : { targetId: selector.targetId }),
    ...(selector.fault === undefined ? {} : { fault: selector.fault }),
    ...(selector.variant === undefined ? {} : { variant: selector.variant }),
  };
}

function notReachable(what: string): FlashError {
  return new FlashError('unsupported', `This build of webprog reaches ${what} only as virtual devices.`, { hint: 'Choose the virtual device, or another programmer for this board.' });
}

async function openGrantedSerialPort(
  selector: Extract<DeviceSelector, { kind: 'serial' }>,
  opts: LinkOptions,
): Promise<ByteStream> {
  const serial = opts.serial ?? workerSerial();
  if (!serial) {
    throw new FlashError('unsupported', 'This browser does not let webprog reach serial ports.', {
      hint: 'Use a desktop Chrome, Edge or Opera over https, or flash a virtual device.',
    });
  }
  const ports = await serial.getPorts();
  const group = ports.filter((p) => {
    const info = p.getInfo();
    return info.usbVendorId === selector.usbVendorId && info.usbProductId === selector.usbProductId;
  });
  const port = group[selector.index];
  if (opts.expectedPortCount !== undefined && group.length !== opts.expectedPortCount) {
    throw new FlashError('port-unavailable', 'The connected serial ports changed since the port was chosen.', {
      hint: 'Choose the port again, then flash.',
      details: { expectedPorts: opts.expectedPortCount, foundPorts: group.length, index: selector.index },
    });
  }
  if (!port) {
    throw new FlashError('port-unavailable', 'The chosen serial port is not connected any more.', {
      hint: 'Plug the board back in and choose its port again.',
      details: { index: selector.index, foundPorts: group.length },
    });
  }
  const d = opts.serialDefaults;
  const stream = await openSerialPort(
    port,
    {
      baudRate: d?.baudRate ?? 115200,
      dataBits: d?.dataBits ?? 8,
      parity: d?.parity ?? 'none',
      stopBits: d?.stopBits ?? 1,
      bufferSize: 4096,
    },
    opts.clock,
  );
  rememberOpenedPort(stream, port, ports);
  return stream;
}

function workerSerial(): { getPorts(): Promise<SerialPortLike[]> } | undefined {
  const nav = (globalThis as { navigator?: { serial?: { getPorts(): Promise<SerialPortLike[]> }; usb?: UsbLike } }).navigator;
  // Android: no Web Serial, but WebUSB: CDC-ACM devices as serial ports (transports/cdc-acm.ts).
  return nav?.serial ?? (nav?.usb ? cdcAcmSerial(nav.usb) : undefined);
}
