import type { ByteStream } from '../core/io/byte-stream';
import type { UsbPipe } from '../core/io/usb-pipe';
import type { BaseDriverContext, Driver } from '../core/job/driver-api';
import type { DriverEntry } from '../drivers/registry';
import { FlashError } from '../shared/errors';
import type { DeviceSelector } from '../shared/model';
import type { UsbMatch } from '../transports/reacquire';
import type { ApiDeps } from './api/deps';

/** A driver on its device's link, of whatever kind. */
export interface DriverSession {
  driver: Driver;
  /** Releases the link (and any pipe re-opened after a re-enumeration). Never throws. */
  close(): Promise<void>;
  /** The serial stream, for finding the port again after the device re-enumerated. */
  stream?: ByteStream;
}

export interface SessionRequest {
  device: DeviceSelector;
  /** The serial hand-off check (see transports/index.ts). */
  expectedPortCount?: number;
  /** A forced line rate, for serial drivers. */
  baudRate?: number;
  /** What every driver gets: clock, log, signal, part, options. */
  context: BaseDriverContext;
  signal: AbortSignal;
}

/**
 * Opens the link the driver's kind needs and creates the driver on it. The switch on `entry.link`
 * gives each branch the driver module of that kind, so each gets exactly its own context type.
 */
export async function openDriverSession(entry: DriverEntry, deps: ApiDeps, req: SessionRequest): Promise<DriverSession> {
  switch (entry.link) {
    case 'serial': {
      const stream = await deps.openLink(req.device, {
        clock: deps.clock,
        ...(entry.meta.serialDefaults ? { serialDefaults: entry.meta.serialDefaults } : {}),
        ...(req.expectedPortCount === undefined ? {} : { expectedPortCount: req.expectedPortCount }),
      });
      const close = () => stream.close().catch(() => {});
      const { createDriver } = await entry.load().catch(async (err: unknown) => {
        await close();
        throw err;
      });
      return { driver: createDriver({ ...req.context, stream, ...(req.baudRate === undefined ? {} : { baudRate: req.baudRate }) }), close, stream };
    }
    case 'usb': {
      const usb = await deps.openUsbLink(req.device, { clock: deps.clock });
      // Pipes to the device after it re-enumerated (a DFU detach), closed with the link.
      const reopened: UsbPipe[] = [];
      const close = async () => {
        for (const pipe of reopened) await pipe.close().catch(() => {});
        await usb.close().catch(() => {});
      };
      const { createDriver } = await entry.load().catch(async (err: unknown) => {
        await close();
        throw err;
      });
      const reopenUsb = deps.reopenUsbLink;
      // The device is found again by getDevices(), no second prompt.
      const reopen = reopenUsb
        ? async (match: UsbMatch) => {
            const pipe = await reopenUsb(reopened.at(-1) ?? usb, match, { clock: deps.clock, signal: req.signal });
            reopened.push(pipe);
            return pipe;
          }
        : undefined;
      return { driver: createDriver({ ...req.context, usb, ...(reopen ? { reopen } : {}) }), close };
    }
    case 'hid': {
      if (!deps.openHidLink) throw noTransport('HID devices');
      const hid = await deps.openHidLink(req.device, { clock: deps.clock });
      const close = () => hid.close().catch(() => {});
      const { createDriver } = await entry.load().catch(async (err: unknown) => {
        await close();
        throw err;
      });
      return { driver: createDriver({ ...req.context, hid }), close };
    }
    case 'drive': {
      if (!deps.openDrive) throw noTransport('drives');
      const drive = await deps.openDrive(req.device, { clock: deps.clock });
      const close = () => drive.close().catch(() => {});
      const { createDriver } = await entry.load().catch(async (err: unknown) => {
        await close();
        throw err;
      });
      return { driver: createDriver({ ...req.context, drive }), close };
    }
  }
}

function noTransport(what: string): FlashError {
  return new FlashError('unsupported', `This build of webprog cannot reach ${what} yet.`, { hint: 'Use a virtual device, or another programmer for this board.' });
}
