import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import type { Clock } from './clock';
import { driveLost, type DriveHandle, type DriveModel, type DriveTransferOptions } from './drive';
import { transferFaults } from './faults';

/*
 * The simulated side of the drive seam: a mass-storage device behind an in-memory USB MSC link
 * (bulk-only transport at full speed), and a seeded fault decorator for any DriveHandle.
 */

/** Bulk-only MSC at full speed moves about 1 MB/s once the OS batches sectors (19 packets of 64 B per frame, less overhead). */
const BYTES_PER_MS = 1000;
/** A file operation's fixed cost: directory lookup, FAT and directory-entry updates (a few SCSI commands). */
const OPERATION_MS = 5;

export interface SimulatedDrive extends DriveHandle {
  /** Pulls the cable. */
  unplug(): void;
}

export function createDriveHandle(model: DriveModel, clock: Clock): SimulatedDrive {
  let gone = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const end = () => {
    if (gone) return;
    gone = true;
    resolveClosed();
  };
  let ejectAt: number | null = null;
  model.connect({
    eject(readyAt = clock.now()) {
      ejectAt = readyAt;
    },
  });
  const live = () => {
    if (ejectAt !== null && clock.now() >= ejectAt) end();
    if (gone) throw driveLost();
  };
  const busy = async (bytes: number, opts?: DriveTransferOptions) => {
    await clock.sleep(OPERATION_MS + bytes / BYTES_PER_MS, opts?.signal);
    live();
  };
  return {
    info: model.info,
    async list(opts) {
      live();
      await busy(0, opts);
      return model.files().map((f) => ({ ...f }));
    },
    async read(name, opts) {
      live();
      const data = model.readFile(name);
      if (!data) throw new FlashError('not-found', `The drive has no file "${name}".`);
      await busy(data.length, opts);
      return data.slice();
    },
    async write(name, data, opts) {
      live();
      await busy(data.length, opts);
      model.writeFile(name, data.slice(), clock.now());
      // A bootloader that reboots on the last block leaves right after the OS closed the file.
      if (ejectAt !== null) {
        await clock.sleep(Math.max(0, ejectAt - clock.now()));
        end();
      }
    },
    async close() {
      end();
    },
    closed,
    unplug: end,
  };
}

/**
 * Reproducible faults on a drive: line noise becomes a write or read error (MSC's bulk transfers are
 * CRC-checked, so data is never silently corrupted; the OS reports an I/O error), `stallRate` delays an
 * operation by `stallMs`, and `disconnectAfterBytes` pulls the cable once that many bytes have moved.
 */
export function withDriveFaults(inner: DriveHandle & { unplug?: () => void }, spec: FaultSpec, clock: Clock): DriveHandle {
  const faults = transferFaults(spec, clock, () => (inner.unplug ? inner.unplug() : inner.close()), () => driveLost());
  // The OS moves a file in transfers of at most 512 bytes: noise hits one of them.
  const failed = (n: number) => faults.hit(Math.min(n, 512));
  const account = faults.account;
  const delay = (opts?: DriveTransferOptions) => faults.stall(opts?.signal);
  const ioError = () =>
    new FlashError('bad-checksum', 'The drive reported an I/O error.', { hint: 'Use a shorter cable or another USB port (avoid unpowered hubs), then try again.' });
  return {
    info: inner.info,
    list: (opts) => inner.list(opts),
    async read(name, opts) {
      await delay(opts);
      const data = await inner.read(name, opts);
      await account(data.length);
      if (failed(data.length)) throw ioError();
      return data;
    },
    async write(name, data, opts) {
      await delay(opts);
      await account(data.length);
      if (failed(data.length)) throw ioError();
      await inner.write(name, data, opts);
    },
    close: () => inner.close(),
    closed: inner.closed,
  };
}
