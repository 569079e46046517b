import { isFlashError, FlashError } from '../../shared/errors';
import { isStall, type UsbPipe } from '../../core/io/usb-pipe';
import type { BlockConstraints, Driver, Identified } from '../types';
import { hasConsent } from '../../core/job/options';
import type { UsbDriverContext } from '../types';
import { DfuDriver, DfuLink, probeDfu, type DfuProbe } from './dfu';
import { DfuseDriver } from './dfuse';
import { DFU_STATE } from './protocol';

/** dfu-util's DFU_DETACH wValue: how long we ask a run-time device to wait for the reset. */
const DETACH_REQUEST_MS = 1000;

/**
 * The USB DFU programmer: reads the descriptors, detaches a run-time device into DFU mode if needed,
 * then runs a plain DFU 1.1 session (dfu.ts) or, for bcdDFUVersion 1.1a, an ST DfuSe one (dfuse.ts),
 * as dfu-util and webdfu decide.
 */
export class UsbDfuDriver implements Driver {
  private inner: DfuDriver | null = null;
  private ctx: UsbDriverContext;

  constructor(ctx: UsbDriverContext) {
    this.ctx = ctx;
  }

  async connect(): Promise<void> {
    let probe = await probeDfu(this.ctx.usb);
    if (probe.runtime) {
      const usb = await this.detach(probe);
      this.ctx = { ...this.ctx, usb };
      probe = await probeDfu(usb);
      if (probe.runtime) throw new FlashError('protocol', 'The device came back from DFU_DETACH still in run-time mode.');
    }
    this.inner = probe.dfuse ? new DfuseDriver(this.ctx, probe) : new DfuDriver(this.ctx, probe);
    this.ctx.log('info', `${probe.dfuse ? 'ST DfuSe' : 'DFU 1.1'} device ${probe.productName ?? ''}, ${probe.alts.length} memor${probe.alts.length === 1 ? 'y' : 'ies'}, transfer size ${probe.functional.transferSize}.`);
    await this.inner.connect();
  }

  identify(): Promise<Identified> {
    return this.session().identify();
  }

  constraints(memory: string): BlockConstraints {
    return this.session().constraints(memory);
  }

  writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    return this.session().writeBlock(memory, address, data);
  }

  readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    return this.session().readBlock(memory, address, length);
  }

  /** DfuSe: mass erase. Plain DFU 1.1 has no erase request (it erases while it writes). */
  erase(): Promise<void> {
    return this.session().erase();
  }

  /** Removes STM32 read-out protection (erasing the chip); needs `consent.readUnprotect`. */
  async readUnprotect(): Promise<void> {
    const inner = this.session();
    if (!(inner instanceof DfuseDriver)) throw new FlashError('unsupported', 'Only ST DfuSe devices have a read-unprotect command.');
    await inner.readUnprotect();
  }

  async close(outcome?: { ok: boolean }): Promise<void> {
    await this.inner?.close(outcome);
  }

  /** The pipe in use: after a detach it is the DFU-mode device, which the caller should close too. */
  get usb(): UsbPipe {
    return this.ctx.usb;
  }

  private session(): DfuDriver {
    if (!this.inner) throw new FlashError('internal', 'The DFU driver was used before connect().');
    return this.inner;
  }

  /**
   * DFU 1.1 §5.1: a run-time device is asked to detach (DFU_DETACH); unless it detaches by itself
   * (bitWillDetach) the host resets it within wDetachTimeOut; it then enumerates in DFU mode, possibly
   * with another product ID, and has to be opened again.
   */
  private async detach(probe: DfuProbe): Promise<UsbPipe> {
    const { usb, log } = this.ctx;
    const link = new DfuLink(usb, this.ctx, probe.interfaceNumber);
    await usb.claimInterface(probe.interfaceNumber);
    let state: number = DFU_STATE.appIDLE;
    try {
      state = (await link.getStatus()).state;
    } catch (err) {
      if (!isStall(err)) throw err; // DFU_GETSTATUS is optional in run-time mode: a STALL means appIDLE
    }
    if (state !== DFU_STATE.appIDLE && state !== DFU_STATE.appDETACH) {
      throw new FlashError('protocol', `The device's run-time interface reports DFU state ${state}.`);
    }
    log('info', 'The application is running: asking it to detach into DFU mode.');
    await link.detach(Math.min(DETACH_REQUEST_MS, probe.functional.detachTimeoutMs || DETACH_REQUEST_MS));
    if (!probe.functional.willDetach) {
      try {
        await usb.reset();
      } catch (err) {
        if (!isFlashError(err, 'device-lost')) throw err;
      }
    }
    await usb.close().catch(() => undefined);
    if (!this.ctx.reopen) {
      throw new FlashError('device-lost', 'The device switched from its application to DFU mode and reconnected as a new USB device.', {
        hint: 'Choose the device again (its name and ID may have changed), then flash.',
      });
    }
    const match: { vendorId?: number; serialNumber?: string } = { vendorId: probe.vendorId };
    if (probe.serialNumber) match.serialNumber = probe.serialNumber;
    return this.ctx.reopen(match);
  }
}

export function createDriver(usb: UsbDriverContext): UsbDfuDriver {
  // The declared options (--consent unprotect, --after stay) say what the context fields say.
  const readUnprotect = usb.consent?.readUnprotect ?? hasConsent(usb.options, 'unprotect');
  const leave = usb.leave ?? usb.options?.after !== 'stay';
  return new UsbDfuDriver({ ...usb, consent: { readUnprotect }, leave });
}
