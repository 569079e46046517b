import { hex } from '../../core/image/memory-image';
import { isStall, type UsbPipe, type UsbTransferOptions } from '../../core/io/usb-pipe';
import { DescriptorType, decodeStringDescriptor, getDescriptorSetup } from '../../core/io/usb-descriptors';
import { FlashError, isFlashError, type ErrorCode } from '../../shared/errors';
import type { BlockConstraints, Driver, Identified, TargetMemory } from '../types';
import type { UsbDriverContext } from '../types';
import { findDfuPart, matchDfuPart, type DfuPart } from './parts';
import {
  BCD_DFUSE,
  DFU_CLASS,
  DFU_REQUEST,
  DFU_STATE,
  DFU_STATUS,
  dfuSetup,
  isDfuAlt,
  parseConfiguration,
  parseFunctionalDescriptor,
  parseStatus,
  stateName,
  statusName,
  statusText,
  type DfuFunctionalDescriptor,
  type DfuStatus,
} from './protocol';

/** dfu-util's DFU_TIMEOUT: the bound on one control transfer. */
const TRANSFER_TIMEOUT_MS = 5000;
/** Polling a busy device gives up after this long without leaving the busy state (a mass erase is 8 s typ., 16 s max). */
const BUSY_LIMIT_MS = 40_000;
/** A device may STALL GETSTATUS while it erases (dfu-util 0.11 "reusing last poll timeout"): wait and ask again. */
const BUSY_STALL_RETRIES = 50;
/** Linux usbfs carries at most one page per control transfer, in Chrome as in dfu-util. */
const MAX_CONTROL_TRANSFER = 4096;
/** DFU 1.1 §5.1: the wDetachTimeOut the host asks for in DFU_DETACH (dfu-util sends 1000). */
const DETACH_REQUEST_MS = 1000;

/** What the descriptors say about a DFU device, before any class request. */
export interface DfuProbe {
  vendorId: number;
  productId: number;
  deviceVersion: number;
  serialNumber?: string;
  productName?: string;
  interfaceNumber: number;
  /** DFU-mode alternate settings and their names. */
  alts: { alternateSetting: number; name: string }[];
  functional: DfuFunctionalDescriptor;
  /** Only a run-time interface (DFU 1.1 §4.1): the application must be detached into DFU mode first. */
  runtime: boolean;
  dfuse: boolean;
}

/** A device-reported error (dfuERROR with a bStatus), as a FlashError whose code follows the status. */
export class DfuStatusError extends FlashError {
  constructor(
    readonly dfu: DfuStatus,
    what: string,
  ) {
    super(statusCode(dfu.status), `The DFU device reported ${statusName(dfu.status)} (${statusText(dfu.status)}) ${what}; it is in ${stateName(dfu.state)}.`, {
      hint: statusHint(dfu.status),
      details: { state: stateName(dfu.state), status: statusName(dfu.status), statusCode: dfu.status },
    });
    this.name = 'DfuStatusError';
  }
}

function statusCode(status: number): ErrorCode {
  switch (status) {
    case DFU_STATUS.errTARGET:
    case DFU_STATUS.errFILE:
      return 'wrong-target';
    case DFU_STATUS.errADDRESS:
      return 'image-out-of-range';
    case DFU_STATUS.errVERIFY:
      return 'verify-mismatch';
    case DFU_STATUS.errNOTDONE:
    case DFU_STATUS.errSTALLEDPKT:
      return 'protocol';
    case DFU_STATUS.errUSBR:
    case DFU_STATUS.errPOR:
      return 'device-lost';
    default:
      return 'nak';
  }
}

function statusHint(status: number): string {
  switch (status) {
    case DFU_STATUS.errWRITE:
    case DFU_STATUS.errERASE:
    case DFU_STATUS.errCHECK_ERASED:
    case DFU_STATUS.errPROG:
      return 'The memory refused the write: check that it is not write-protected, then reset the device into DFU mode and flash again.';
    case DFU_STATUS.errVENDOR:
      return 'On STM32 parts this usually means read-out protection is active; removing it erases the whole chip.';
    case DFU_STATUS.errADDRESS:
      return 'The image reaches memory this device does not have: use a firmware file built for it.';
    default:
      return 'Reset the device into DFU mode and flash again; if it repeats, the device or its bootloader may be faulty.';
  }
}

/** True for the failures DFU 1.1 §6.1.4 lets a host clear with DFU_CLRSTATUS: a STALL or a dfuERROR status. */
export function isRecoverable(err: unknown): boolean {
  return isStall(err) || (err instanceof DfuStatusError && err.dfu.state === DFU_STATE.dfuERROR);
}

/**
 * Reads the descriptors a DFU host needs (DFU 1.1 §4): the DFU interface and its alternate settings'
 * names, and the functional descriptor (transfer size, attributes, version). Standard requests only,
 * so nothing is claimed yet.
 */
export async function probeDfu(usb: UsbPipe): Promise<DfuProbe> {
  const opts: UsbTransferOptions = { timeoutMs: TRANSFER_TIMEOUT_MS };
  const device = await usb.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18, opts);
  const head = await usb.controlIn(getDescriptorSetup(DescriptorType.CONFIGURATION), 9, opts);
  const total = (head[2] ?? 0) | ((head[3] ?? 0) << 8);
  const config = parseConfiguration(total > 9 ? await usb.controlIn(getDescriptorSetup(DescriptorType.CONFIGURATION), total, opts) : head);
  const dfuAlts = config.alts.filter(isDfuAlt);
  const deviceText = `${hex4(usb.info.vendorId)}:${hex4(usb.info.productId)}${usb.info.productName ? ` "${usb.info.productName}"` : ''}`;
  if (dfuAlts.length === 0) {
    throw new FlashError('wrong-target', `The USB device ${deviceText} has no DFU interface.`, {
      hint: 'Put the board into its bootloader (for STM32: BOOT0 high, then reset) and choose the device that appears then.',
      details: { vendorId: usb.info.vendorId, productId: usb.info.productId },
    });
  }
  let functional = config.functional;
  if (!functional) {
    // Some devices only answer a direct GET_DESCRIPTOR for it (dfu-util does the same fallback).
    try {
      functional = parseFunctionalDescriptor(await usb.controlIn(getDescriptorSetup(0x21), 9, opts));
    } catch (err) {
      if (!isStall(err)) throw err;
    }
  }
  if (!functional || functional.transferSize === 0) {
    throw new FlashError('protocol', `The USB device ${deviceText} has a DFU interface but no usable DFU functional descriptor (no transfer size).`, {
      hint: 'This bootloader does not follow DFU 1.1; webprog cannot tell how much data it takes per request.',
    });
  }
  const dfuse = functional.dfuVersion === BCD_DFUSE;
  const interfaceNumber = dfuAlts[0]!.interfaceNumber;
  // DFU mode is protocol 2; ST-derived devices (DSO Nano) say 0 with a DfuSe descriptor (as dfu-util accepts).
  const modeAlts = dfuAlts.filter((a) => a.interfaceNumber === interfaceNumber && (a.interfaceProtocol === DFU_CLASS.PROTOCOL_DFU_MODE || (dfuse && a.interfaceProtocol === 0)));
  const runtime = modeAlts.length === 0;
  const names = await readStrings(usb, (runtime ? dfuAlts.slice(0, 1) : modeAlts).map((a) => a.nameIndex));
  const alts = (runtime ? dfuAlts.slice(0, 1) : modeAlts).map((a, i) => ({ alternateSetting: a.alternateSetting, name: names[i] ?? '' }));
  const probe: DfuProbe = {
    vendorId: usb.info.vendorId,
    productId: usb.info.productId,
    deviceVersion: (device[12] ?? 0) | ((device[13] ?? 0) << 8),
    interfaceNumber,
    alts,
    functional,
    runtime,
    dfuse,
  };
  if (usb.info.serialNumber !== undefined) probe.serialNumber = usb.info.serialNumber;
  if (usb.info.productName !== undefined) probe.productName = usb.info.productName;
  return probe;
}

/** String descriptors by index, in the first language the device offers; '' where it has none. */
async function readStrings(usb: UsbPipe, indexes: number[]): Promise<string[]> {
  if (indexes.every((i) => i === 0)) return indexes.map(() => '');
  const opts: UsbTransferOptions = { timeoutMs: TRANSFER_TIMEOUT_MS };
  const langs = await usb.controlIn(getDescriptorSetup(DescriptorType.STRING, 0), 255, opts);
  const language = langs.length >= 4 ? langs[2]! | (langs[3]! << 8) : 0x0409;
  const out: string[] = [];
  for (const index of indexes) {
    if (index === 0) {
      out.push('');
      continue;
    }
    // Truncated descriptors exist (STM32F427's ROM): decodeStringDescriptor takes what came.
    out.push(decodeStringDescriptor(await usb.controlIn(getDescriptorSetup(DescriptorType.STRING, index, language), 255, opts)));
  }
  return out;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/**
 * DFU 1.1 class requests on one interface, with the state handling every DFU host needs:
 * GETSTATUS polling that honours bwPollTimeout, and bringing the device back to dfuIDLE.
 */
export class DfuLink {
  /** bwPollTimeout of the last status: the wait owed before the next DFU_GETSTATUS (DFU 1.1 §6.1.2). */
  private owedPollMs = 0;
  private lastStatusAt = 0;

  constructor(
    public usb: UsbPipe,
    private readonly ctx: Pick<UsbDriverContext, 'clock' | 'log' | 'signal'>,
    readonly interfaceNumber: number,
  ) {}

  private opts(timeoutMs = TRANSFER_TIMEOUT_MS): UsbTransferOptions {
    return { timeoutMs, signal: this.ctx.signal };
  }

  async getStatus(): Promise<DfuStatus> {
    const wait = this.lastStatusAt + this.owedPollMs - this.ctx.clock.now();
    if (wait > 0) await this.ctx.clock.sleep(wait, this.ctx.signal);
    const bytes = await this.usb.controlIn(dfuSetup(DFU_REQUEST.DFU_GETSTATUS, this.interfaceNumber), 6, this.opts());
    const status = parseStatus(bytes);
    if (!status) throw new FlashError('protocol', `DFU_GETSTATUS returned ${bytes.length} bytes instead of 6.`);
    this.owedPollMs = status.pollTimeoutMs;
    this.lastStatusAt = this.ctx.clock.now();
    return status;
  }

  async getState(): Promise<number> {
    const bytes = await this.usb.controlIn(dfuSetup(DFU_REQUEST.DFU_GETSTATE, this.interfaceNumber), 1, this.opts());
    return bytes[0] ?? -1;
  }

  async clearStatus(): Promise<void> {
    await this.usb.controlOut(dfuSetup(DFU_REQUEST.DFU_CLRSTATUS, this.interfaceNumber), undefined, this.opts());
  }

  async abort(): Promise<void> {
    await this.usb.controlOut(dfuSetup(DFU_REQUEST.DFU_ABORT, this.interfaceNumber), undefined, this.opts());
  }

  async detach(timeoutMs: number): Promise<void> {
    await this.usb.controlOut(dfuSetup(DFU_REQUEST.DFU_DETACH, this.interfaceNumber, timeoutMs), undefined, this.opts());
  }

  async dnload(blockNum: number, data: Uint8Array): Promise<void> {
    const n = await this.usb.controlOut(dfuSetup(DFU_REQUEST.DFU_DNLOAD, this.interfaceNumber, blockNum & 0xffff), data, this.opts());
    if (n !== data.length) throw new FlashError('protocol', `The DFU device took ${n} of ${data.length} bytes of block ${blockNum}.`);
  }

  async upload(blockNum: number, length: number): Promise<Uint8Array> {
    return this.usb.controlIn(dfuSetup(DFU_REQUEST.DFU_UPLOAD, this.interfaceNumber, blockNum & 0xffff), length, this.opts());
  }

  /**
   * Asks for the status until the device leaves its busy states (dfuDNLOAD-SYNC, dfuDNBUSY,
   * dfuMANIFEST-SYNC, dfuMANIFEST), sleeping bwPollTimeout before each ask. A STALLed GETSTATUS while
   * busy is retried after the last poll timeout, as some devices do during an erase.
   */
  async settle(what: string): Promise<DfuStatus> {
    const started = this.ctx.clock.now();
    let stalls = 0;
    for (;;) {
      let st: DfuStatus;
      try {
        st = await this.getStatus();
      } catch (err) {
        if (!isStall(err) || ++stalls > BUSY_STALL_RETRIES) throw err;
        this.ctx.log('debug', `GETSTATUS stalled while ${what}; asking again in ${Math.max(this.owedPollMs, 10)} ms.`);
        this.owedPollMs = Math.max(this.owedPollMs, 10);
        this.lastStatusAt = this.ctx.clock.now();
        continue;
      }
      if (!isBusy(st.state)) return st;
      if (this.ctx.clock.now() - started > BUSY_LIMIT_MS) {
        throw new FlashError('timeout', `The DFU device stayed busy (${stateName(st.state)}) for ${BUSY_LIMIT_MS / 1000} s while ${what}.`, {
          details: { state: stateName(st.state), pollTimeoutMs: st.pollTimeoutMs },
        });
      }
    }
  }

  /** Throws the device's own error unless `st` is OK and in `state`. */
  expect(st: DfuStatus, state: number, what: string): void {
    if (st.state === DFU_STATE.dfuERROR || st.status !== DFU_STATUS.OK) throw new DfuStatusError(st, what);
    if (st.state !== state) {
      throw new FlashError('protocol', `The DFU device went to ${stateName(st.state)} instead of ${stateName(state)} ${what}.`, {
        details: { state: stateName(st.state), expected: stateName(state) },
      });
    }
  }

  /**
   * Brings the device to dfuIDLE with status OK, as dfu-util does before any operation: dfuERROR is
   * cleared with DFU_CLRSTATUS, unfinished transfers are ended with DFU_ABORT, busy states are waited out.
   */
  async toIdle(): Promise<void> {
    for (let round = 0; round < 6; round++) {
      let st: DfuStatus;
      try {
        st = await this.getStatus();
      } catch (err) {
        if (!isStall(err)) throw err;
        // A device that stalls GETSTATUS has gone to dfuERROR (errSTALLEDPKT) or is busy: clear and look again.
        await this.clearStatus().catch((e: unknown) => {
          if (!isStall(e)) throw e;
        });
        continue;
      }
      switch (st.state) {
        case DFU_STATE.dfuIDLE:
          if (st.status === DFU_STATUS.OK) return;
          this.ctx.log('info', `The DFU device is idle but reports ${statusName(st.status)}; clearing it.`);
          await this.clearStatus();
          break;
        case DFU_STATE.dfuERROR:
          this.ctx.log('info', `The DFU device is in dfuERROR (${statusName(st.status)}: ${statusText(st.status)}); clearing it.`);
          await this.clearStatus();
          break;
        case DFU_STATE.dfuDNLOAD_IDLE:
        case DFU_STATE.dfuUPLOAD_IDLE:
          this.ctx.log('info', `Ending an unfinished transfer (${stateName(st.state)}).`);
          await this.abort();
          break;
        case DFU_STATE.appIDLE:
        case DFU_STATE.appDETACH:
          throw new FlashError('protocol', 'The device is still running its application (DFU run-time mode).', {
            hint: 'Detach it into DFU mode first, or put the board into its bootloader by hand.',
          });
        case DFU_STATE.dfuMANIFEST_WAIT_RESET:
          throw new FlashError('protocol', 'The DFU device finished a download and waits for a USB reset.', {
            hint: 'Unplug and replug the device (or reset it into DFU mode), then flash again.',
          });
        default:
          // Busy states: their bwPollTimeout is owed before the next GETSTATUS, which getStatus() waits.
          break;
      }
    }
    throw new FlashError('protocol', 'The DFU device would not return to dfuIDLE.', {
      hint: 'Reset the device into DFU mode and try again.',
    });
  }
}

function isBusy(state: number): boolean {
  return (
    state === DFU_STATE.dfuDNBUSY ||
    state === DFU_STATE.dfuDNLOAD_SYNC ||
    state === DFU_STATE.dfuMANIFEST_SYNC ||
    state === DFU_STATE.dfuMANIFEST
  );
}

/** Where an image memory lives on the device: the alternate setting, and its memory as the planner sees it. */
export interface AltMemory {
  alt: number;
  memory: TargetMemory;
}

/** A plain DFU 1.1 memory of unknown size (no part entry): this bound, with a warning. */
const UNKNOWN_PLAIN_SIZE = 16 * 1024 * 1024;

/**
 * A plain DFU 1.1 session (no addresses: DFU 1.1 §6.1.1, §6.2). A download is one stream of blocks
 * from the start of the selected alternate setting's memory, ended by a zero-length DFU_DNLOAD after
 * which the device manifests the firmware; an upload reads the memory from its start.
 *
 * Invariants:
 * - blocks are written in ascending address order; a gap between two blocks is sent as erased bytes;
 * - the download is finished (and manifested) before anything is read back;
 * - a device-reported error is cleared and the operation retried once where the protocol allows
 *   (not mid-download: DFU_CLRSTATUS ends the download, which then would have to start over);
 * - nothing is written before identify() has matched the device to the chosen part.
 */
export class DfuDriver implements Driver {
  protected readonly link: DfuLink;
  protected part: DfuPart | undefined;
  protected memories = new Map<string, AltMemory>();
  protected currentAlt = -1;
  /** The session saw a failure: close() then leaves the device in DFU mode instead of starting the application. */
  protected failed = false;
  /** Something was written or erased: only then does close() start the application (leaving DFU mode is one-way). */
  protected changed = false;
  /** The device left the bus (manifested and reset, unplugged). */
  protected gone = false;
  private download: { alt: number; block: number; cursor: number } | null = null;
  private upload: { alt: number; block: number; cursor: number } | null = null;

  constructor(
    protected readonly ctx: UsbDriverContext,
    protected probe: DfuProbe,
  ) {
    this.link = new DfuLink(ctx.usb, ctx, probe.interfaceNumber);
  }

  protected get transferSize(): number {
    return Math.min(this.probe.functional.transferSize, MAX_CONTROL_TRANSFER);
  }

  /** Claims the DFU interface and brings the device to dfuIDLE (clearing an error left from before). */
  async connect(): Promise<void> {
    await this.guard(async () => {
      await this.link.usb.claimInterface(this.probe.interfaceNumber);
      await this.selectAlt(this.probe.alts[0]!.alternateSetting);
      await this.link.toIdle();
    });
  }

  async identify(): Promise<Identified> {
    return this.guard(async () => {
      const part = this.checkPart();
      const layout = part?.plainMemory;
      if (!layout) this.ctx.log('warn', `No size is known for this DFU device; assuming at most ${UNKNOWN_PLAIN_SIZE / 1024 / 1024} MiB per alternate setting.`);
      const f = this.probe.functional;
      if (!f.canUpload) this.ctx.log('warn', 'This DFU device cannot upload: nothing can be read back or verified.');
      else if (!f.manifestationTolerant) this.ctx.log('warn', 'This DFU device starts its firmware as soon as a download ends, so a download cannot be read back in the same session.');
      for (const a of this.probe.alts) {
        const memory: TargetMemory = {
          name: `alt${a.alternateSetting}`,
          base: layout?.base ?? 0,
          size: layout?.size ?? UNKNOWN_PLAIN_SIZE,
          pageSize: 1,
          reserved: [],
        };
        this.memories.set(memory.name, { alt: a.alternateSetting, memory });
        if (a === this.probe.alts[0]) this.memories.set('flash', { alt: a.alternateSetting, memory: { ...memory, name: 'flash' } });
      }
      return { device: this.identity(part), memories: [...this.memories.values()].map((m) => m.memory) };
    });
  }

  constraints(memory: string): BlockConstraints {
    this.altMemory(memory);
    // One DFU_DNLOAD per block; reads may take several UPLOADs in a row.
    return { pageSize: 1, maxBlock: this.transferSize, maxReadBlock: this.transferSize * 16, fill: 0xff };
  }

  async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    await this.guard(async () => {
      const { alt, memory: mem } = this.altMemory(memory);
      if (!this.probe.functional.canDownload) throw new FlashError('unsupported', 'This DFU device does not accept downloads (bitCanDnload is 0).');
      if (this.download && this.download.alt !== alt) await this.finishDownload();
      if (!this.download) {
        await this.endUpload();
        await this.selectAlt(alt);
        await this.link.toIdle();
        this.download = { alt, block: 0, cursor: mem.base };
      }
      const d = this.download;
      this.changed = true;
      if (address < d.cursor) {
        throw new FlashError('unsupported', `A DFU 1.1 download is one stream from the start; this block at ${hex(address)} comes after ${hex(d.cursor)} was sent.`);
      }
      const fill = new Uint8Array(this.transferSize).fill(0xff);
      while (d.cursor < address) await this.sendBlock(d, fill.subarray(0, Math.min(fill.length, address - d.cursor)));
      for (let at = 0; at < data.length; at += this.transferSize) await this.sendBlock(d, data.subarray(at, at + this.transferSize));
    });
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    return this.guard(async () => {
      const { alt, memory: mem } = this.altMemory(memory);
      if (!this.probe.functional.canUpload) throw new FlashError('unsupported', 'This DFU device cannot upload (bitCanUpload is 0), so it cannot be read back.');
      if (this.download) await this.finishDownload();
      if (this.gone) {
        throw new FlashError('unsupported', 'The device started its new firmware when the download ended (it is not manifestation-tolerant), so it cannot be read back now.', {
          hint: 'Flash with verify turned off, then read it back after putting it into DFU mode again.',
        });
      }
      const offset = address - mem.base;
      if (!this.upload || this.upload.alt !== alt || this.upload.cursor > offset) {
        await this.endUpload();
        await this.selectAlt(alt);
        await this.link.toIdle();
        this.upload = { alt, block: 0, cursor: 0 };
      }
      const u = this.upload;
      const take = async (n: number) => {
        const got = await this.link.upload(u.block++, n);
        u.cursor += got.length;
        if (got.length < n) {
          this.upload = null; // a short frame ended the upload (the device is back in dfuIDLE)
          throw new FlashError('image-out-of-range', `The device ended its upload after ${hex(mem.base + u.cursor)}: it holds no more data.`, {
            details: { memory, length: u.cursor },
          });
        }
        return got;
      };
      while (u.cursor < offset) await take(Math.min(this.transferSize, offset - u.cursor));
      const out = new Uint8Array(length);
      for (let at = 0; at < length; at += this.transferSize) out.set(await take(Math.min(this.transferSize, length - at)), at);
      return out;
    });
  }

  async erase(): Promise<void> {
    throw new FlashError('unsupported', 'Plain DFU 1.1 devices have no erase command; they erase as they are written.');
  }

  /**
   * Finishes an open download, then starts the application if the session wrote something and nothing
   * failed (and `leave` is not false). A read-only or failed session leaves the device in DFU mode, so
   * the user can try again without re-entering the bootloader.
   */
  async close(outcome?: { ok: boolean }): Promise<void> {
    if (this.gone) return;
    if (outcome?.ok === false) this.failed = true;
    try {
      if (this.download) await this.finishDownload();
      await this.endUpload();
      if (!this.shouldLeave()) return;
      // DFU 1.1 §5.1 / dfu-util -R: DFU_DETACH, then a USB reset makes a DFU-mode device run its firmware.
      await this.link.detach(DETACH_REQUEST_MS).catch((err: unknown) => {
        if (!isStall(err)) throw err;
      });
      await this.resetDevice();
      this.ctx.log('info', 'Reset the device: the application starts.');
    } catch (err) {
      this.ctx.log('warn', `Ending the DFU session failed: ${(err as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Runs a driver step; a failure marks the session so close() does not start half-written firmware. */
  protected async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.failed = true;
      if (isFlashError(err, 'device-lost')) this.gone = true;
      throw err;
    }
  }

  /**
   * Start the application at the end: after a session that changed the device and saw no failure and no
   * cancel, unless told not to. (A verify mismatch is found by core/job, which does not tell close(); a failed verify still leaves.)
   */
  protected shouldLeave(): boolean {
    return this.ctx.leave !== false && this.changed && !this.failed && !this.gone && !this.ctx.signal.aborted;
  }

  protected altMemory(memory: string): AltMemory {
    const m = this.memories.get(memory);
    if (!m) throw new FlashError('image-out-of-range', `This DFU device has no memory "${memory}" (it has ${[...this.memories.keys()].join(', ') || 'none identified yet'}).`);
    return m;
  }

  protected async selectAlt(alt: number): Promise<void> {
    if (alt === this.currentAlt) return;
    await this.link.usb.selectAlternateInterface(this.probe.interfaceNumber, alt);
    this.currentAlt = alt;
  }

  /** The chosen part must be the one connected; with none chosen, any DFU device is accepted. */
  protected checkPart(): DfuPart | undefined {
    const found = matchDfuPart(this.probe.vendorId, this.probe.productId, this.probe.alts.map((a) => a.name));
    const wanted = this.ctx.targetId ? findDfuPart(this.ctx.targetId) : undefined;
    if (this.ctx.targetId && !wanted) {
      throw new FlashError('not-found', `Unknown DFU part "${this.ctx.targetId}".`, { hint: 'Use one of the parts the USB DFU programmer lists.' });
    }
    const ids = `${hex4(this.probe.vendorId)}:${hex4(this.probe.productId)}`;
    if (wanted && wanted !== found) {
      throw new FlashError('wrong-target', `The connected DFU device is ${found ? found.name : `${ids} "${this.probe.productName ?? 'unknown'}" (${this.probe.alts[0]?.name ?? 'no memory name'})`}, but ${wanted.name} was chosen.`, {
        hint: found ? `Choose ${found.name}, or connect the board you meant to flash.` : 'Check that the right board is connected; nothing was written.',
        details: { expected: `${hex4(wanted.vendorId)}:${hex4(wanted.productId)} ${wanted.alts[0] ?? ''}`, actual: `${ids} ${this.probe.alts[0]?.name ?? ''}` },
      });
    }
    this.part = found;
    return found;
  }

  protected identity(part: DfuPart | undefined): Identified['device'] {
    const f = this.probe.functional;
    const version = this.probe.dfuse ? 'DfuSe 1.1a' : `DFU ${(f.dfuVersion >> 8).toString(16)}.${((f.dfuVersion >> 4) & 0xf).toString(16)}`;
    return {
      id: `${hex4(this.probe.vendorId)}:${hex4(this.probe.productId)}`,
      name: part?.name ?? this.probe.productName ?? 'USB DFU device',
      bootloader: `${version}, bcdDevice ${hex4(this.probe.deviceVersion)}, transfer size ${f.transferSize}${this.probe.serialNumber ? `, serial ${this.probe.serialNumber}` : ''}`,
    };
  }

  /** Resets the device, which then re-enumerates (so 'device-lost' is the expected outcome). */
  protected async resetDevice(): Promise<void> {
    try {
      await this.link.usb.reset();
    } catch (err) {
      if (!isFlashError(err, 'device-lost')) throw err;
    }
    this.gone = true;
  }

  private async sendBlock(d: { block: number; cursor: number }, chunk: Uint8Array): Promise<void> {
    await this.link.dnload(d.block, chunk);
    const st = await this.link.settle(`writing block ${d.block}`);
    this.link.expect(st, DFU_STATE.dfuDNLOAD_IDLE, `after block ${d.block} (${hex(d.cursor)})`);
    d.block = (d.block + 1) & 0xffff;
    d.cursor += chunk.length;
  }

  /**
   * DFU 1.1 §7: a zero-length DFU_DNLOAD ends the download; the device manifests the firmware and,
   * if manifestation-tolerant, returns to dfuIDLE, else waits for a USB reset, which we then give it.
   */
  private async finishDownload(): Promise<void> {
    const d = this.download;
    if (!d) return;
    this.download = null;
    await this.link.dnload(d.block, new Uint8Array(0));
    let st: DfuStatus;
    try {
      st = await this.link.settle('manifesting the firmware');
    } catch (err) {
      // An intolerant device may stop answering once it manifests; it only waits for the reset.
      if (this.probe.functional.manifestationTolerant || !isStall(err)) throw err;
      st = { status: DFU_STATUS.OK, state: DFU_STATE.dfuMANIFEST_WAIT_RESET, pollTimeoutMs: 0, stringIndex: 0 };
    }
    if (st.state === DFU_STATE.dfuERROR || st.status !== DFU_STATUS.OK) throw new DfuStatusError(st, 'when the download ended');
    if (st.state === DFU_STATE.dfuMANIFEST_WAIT_RESET || !this.probe.functional.manifestationTolerant) {
      this.ctx.log('info', 'The device manifested the firmware and waits for a USB reset: resetting it.');
      await this.resetDevice();
      return;
    }
    this.link.expect(st, DFU_STATE.dfuIDLE, 'after the download');
  }

  private async endUpload(): Promise<void> {
    if (!this.upload) return;
    this.upload = null;
    await this.link.abort();
  }
}
