import type { Clock } from '../../core/io/clock';
import { type UsbControlRequest, type UsbDevicePort, type UsbReply } from '../../core/io/usb-pipe';
import { DescriptorType, encodeStringDescriptor, StandardRequest } from '../../core/io/usb-descriptors';
import { FlashError } from '../../shared/errors';
import type { SimulatorOptions } from '../types';
import type { UsbSimulator } from '../types';
import { parseMemoryLayout, sectorAt, type MemoryLayout } from './layout';
import { DFU_PARTS, findDfuPart, type DfuPart } from './parts';
import {
  BCD_DFUSE,
  DFU_CLASS,
  DFU_REQUEST,
  DFU_STATE,
  DFU_STATUS,
  DFUSE_COMMAND,
  DFUSE_FIRST_DATA_BLOCK,
  encodeFunctionalDescriptor,
  encodeStatus,
  stateName,
} from './protocol';

/** One alternate setting's memory: a buffer from the lowest to the highest address of its layout. */
interface SimMemory {
  base: number;
  data: Uint8Array;
  /** DfuSe layout; plain DFU memories have none. */
  layout?: MemoryLayout;
}

/** What a GETSTATUS in dfuDNLOAD-SYNC starts: the device's work, its length, and its outcome. */
interface Pending {
  what: string;
  durationMs: number;
  /** Applied when the work starts; returns the status it ends with. */
  run: () => number;
  /** DfuSe read unprotect / leave: the device resets or jumps away after answering. */
  thenDisconnect?: boolean;
}

export type DfuSimVariant = 'starts-in-error' | 'runtime' | 'protected' | 'slow-poll';

/** Commands the ST bootloader lists for DfuSe "Get Commands" (AN3156 §6.1). */
const GET_COMMANDS_LIST = [DFUSE_COMMAND.GET_COMMANDS, DFUSE_COMMAND.SET_ADDRESS_POINTER, DFUSE_COMMAND.ERASE, DFUSE_COMMAND.READ_UNPROTECT];
/** From reset to the first answer on the bus (a ROM bootloader starts its USB stack in a few ms; enumeration takes the rest). */
const REENUMERATE_MS = 50;

/**
 * A USB DFU 1.1 device, or an ST DfuSe one (bcdDFUVersion 0x011A), at transfer level: descriptors and
 * strings (with the memory layouts), the DFU state machine (DFU 1.1 appendix A.2) with bwPollTimeout
 * and the datasheet's erase and program times, DfuSe commands, flash that must be erased before it is
 * programmed, read-out protection, run-time mode with detach, and leaving the bus on "leave".
 *
 * Time only comes in with requests (`at`), so there are no timers and no scheduling slack: the device
 * is busy from the GETSTATUS that starts an operation until exactly `durationMs` later.
 *
 * Modelling choices where the specifications are silent:
 * - a GETSTATUS that arrives while the device is still busy is STALLed and changes nothing (dfu-util
 *   0.11 retries such stalls); any other request while busy is STALLed and ends in dfuERROR;
 * - read-out protection refuses uploads with a STALL and erase/program with bStatus errVENDOR;
 * - writing a byte that is neither erased (0xFF) nor already equal fails with errPROG.
 */
export class DfuDeviceSimulator implements UsbSimulator {
  readonly part: DfuPart;
  readonly dfuse: boolean;
  mode: 'dfu' | 'runtime' | 'app' = 'dfu';
  state: number = DFU_STATE.dfuIDLE;
  status: number = DFU_STATUS.OK;
  alt = 0;
  readProtected = false;
  /** DfuSe address pointer (AN3156 §6.2). */
  addressPointer = 0;
  /** Where "leave" jumped, for tests. */
  jumpedTo: number | undefined;
  /** Counters for tests and benchmarks. */
  readonly stats = { erasedSectors: [] as { alt: number; address: number }[], massErases: 0, earlyPolls: 0, stalls: 0, requests: 0, programmedBytes: 0 };

  private readonly memories: SimMemory[];
  private readonly slowPoll: boolean;
  private port: UsbDevicePort | null = null;
  private configuration = 0;
  private pending: Pending | null = null;
  private busyUntil = 0;
  private after: { state: number; status: number } | null = null;
  private presentAt = 0;
  private detachDeadline = 0;
  private firmwareValid = false;
  /** Plain DFU transfer cursors and the pages a download has erased. */
  private dnCursor = 0;
  private upCursor = 0;
  private dnErasedPages = new Set<number>();
  private injected: { op: 'program' | 'erase'; status: number; times: number } | null = null;
  private injectedStatus: number = DFU_STATUS.OK;

  constructor(
    private readonly clock: Clock,
    part: DfuPart,
    variants: DfuSimVariant[] = [],
  ) {
    this.part = part;
    this.dfuse = part.dfuVersion === BCD_DFUSE;
    this.slowPoll = variants.includes('slow-poll');
    this.memories = part.alts.map((name) => {
      if (this.dfuse) {
        const layout = parseMemoryLayout(name);
        const base = Math.min(...layout.segments.map((s) => s.start));
        const end = Math.max(...layout.segments.map((s) => s.start + s.count * s.size));
        return { base, data: new Uint8Array(end - base).fill(0xff), layout };
      }
      const m = part.plainMemory ?? { base: 0, size: 64 * 1024, pageSize: 1024 };
      return { base: m.base, data: new Uint8Array(m.size).fill(0xff) };
    });
    if (variants.includes('starts-in-error')) {
      // A log of a real STM32F4 shows its ROM answering the first GETSTATUS with dfuERROR / errFIRMWARE (10).
      this.state = DFU_STATE.dfuERROR;
      this.status = DFU_STATUS.errFIRMWARE;
    }
    if (variants.includes('protected')) this.readProtected = true;
    if (variants.includes('runtime') && part.runtime) {
      this.mode = 'runtime';
      this.state = DFU_STATE.appIDLE;
      this.firmwareValid = true;
    }
  }

  // ---- Simulator members ------------------------------------------------------------------------

  /** NRST with the bootloader strap (BOOT0) held: the device comes back in DFU mode, memory and protection kept. */
  reset(): void {
    this.port?.disconnect();
    this.enterDfu();
    this.presentAt = this.clock.now() + REENUMERATE_MS;
  }

  memory(name: string): Uint8Array {
    const m = /^alt(\d+)$/.exec(name);
    const index = m ? Number(m[1]) : name === 'flash' ? 0 : -1;
    const mem = this.memories[index];
    if (!mem) throw new FlashError('unsupported', `${this.part.name} has no memory called ${name}.`);
    return mem.data;
  }

  /** Base address of an alternate setting's memory buffer. */
  memoryBase(name: string): number {
    const m = /^alt(\d+)$/.exec(name);
    return this.memories[m ? Number(m[1]) : 0]!.base;
  }

  /** Makes the next `times` program or erase operations fail with `status` (errPROG, errERASE, ...). */
  failNext(op: 'program' | 'erase', status: number, times = 1): void {
    this.injected = { op, status, times };
  }

  /** Whether the device is on the bus now (it is not while its application runs without a DFU interface, or while it restarts). */
  get present(): boolean {
    return this.mode !== 'app' && this.clock.now() >= this.presentAt;
  }

  // ---- UsbDeviceModel --------------------------------------------------------------------------

  attachUsb(port: UsbDevicePort): void {
    this.port = port;
    this.configuration = 0;
    this.alt = 0;
  }

  busReset(at: number): void {
    this.configuration = 0;
    this.alt = 0;
    if (this.mode === 'runtime') {
      // DFU 1.1 §5.1: a reset within wDetachTimeOut after DFU_DETACH re-enumerates in DFU mode.
      if (this.state === DFU_STATE.appDETACH && at <= this.detachDeadline) this.leaveBus(at, () => this.enterDfu(), true);
      else this.state = DFU_STATE.appIDLE;
      return;
    }
    if (this.mode !== 'dfu') return;
    if (this.state === DFU_STATE.dfuMANIFEST_WAIT_RESET || (!this.dfuse && this.firmwareValid)) {
      this.leaveBus(at, () => this.runApplication(), true);
      return;
    }
    // ST's ROM stays in DFU mode across bus resets (it is entered by BOOT0); a plain device without valid firmware reports it (A.2.3).
    this.pending = null;
    this.after = null;
    this.state = this.dfuse ? DFU_STATE.dfuIDLE : DFU_STATE.dfuERROR;
    this.status = this.dfuse ? DFU_STATUS.OK : DFU_STATUS.errFIRMWARE;
  }

  control(req: UsbControlRequest): UsbReply {
    this.stats.requests++;
    if (!this.present) return { status: 'stall' };
    if (req.setup.requestType === 'standard') return this.standard(req);
    if (req.setup.requestType !== 'class' || req.setup.recipient !== 'interface' || (req.setup.index & 0xff) !== 0 || this.configuration === 0) {
      return this.stall();
    }
    return this.mode === 'runtime' ? this.runtimeRequest(req) : this.dfuRequest(req);
  }

  // ---- USB 2.0 chapter 9 -----------------------------------------------------------------------

  private standard(req: UsbControlRequest): UsbReply {
    const { request, value, index } = req.setup;
    const ok = (data?: Uint8Array): UsbReply => (data ? { status: 'ok', data: data.subarray(0, req.length) } : { status: 'ok' });
    switch (request) {
      case StandardRequest.GET_DESCRIPTOR: {
        const d = this.descriptor(value >> 8, value & 0xff, index);
        return d ? ok(d) : { status: 'stall' };
      }
      case StandardRequest.SET_CONFIGURATION:
        if (value > 1) return { status: 'stall' };
        this.configuration = value;
        return ok();
      case StandardRequest.GET_CONFIGURATION:
        return ok(Uint8Array.of(this.configuration));
      case StandardRequest.GET_STATUS:
        return ok(Uint8Array.of(req.setup.recipient === 'device' ? 1 : 0, 0)); // self-powered, as ST's bootloaders report
      case StandardRequest.SET_INTERFACE:
        if (index !== 0 || value >= this.alts().length || this.configuration === 0) return { status: 'stall' };
        this.alt = value;
        // Switching memories ends whatever transfer was going on; an error stays until cleared.
        if (this.state !== DFU_STATE.dfuERROR && this.mode === 'dfu') this.toIdle();
        return ok();
      case StandardRequest.GET_INTERFACE:
        return index === 0 ? ok(Uint8Array.of(this.alt)) : { status: 'stall' };
      default:
        return { status: 'stall' };
    }
  }

  private alts(): string[] {
    return this.mode === 'runtime' ? ['DFU runtime'] : this.part.alts;
  }

  /** USB 2.0 §9.6 descriptors; the DFU functional descriptor follows the last alternate setting, as on ST parts. */
  private descriptor(type: number, index: number, _language: number): Uint8Array | null {
    const p = this.part;
    const runtime = this.mode === 'runtime';
    if (type === DescriptorType.DEVICE) {
      const pid = runtime ? p.runtime!.productId : p.productId;
      const bcd = runtime ? p.runtime!.deviceVersion : p.deviceVersion;
      const usb = this.dfuse ? 0x0100 : 0x0200; // ST's ROMs report bcdUSB 1.00
      return Uint8Array.of(18, 1, usb & 0xff, usb >> 8, 0, 0, 0, p.packetSize, p.vendorId & 0xff, p.vendorId >> 8, pid & 0xff, pid >> 8, bcd & 0xff, bcd >> 8, 1, 2, 3, 1);
    }
    if (type === DescriptorType.CONFIGURATION && index === 0) {
      const alts = this.alts();
      const total = 9 + 9 * alts.length + 9;
      const out = new Uint8Array(total);
      out.set([9, 2, total & 0xff, total >> 8, 1, 1, 0, 0xc0, 50]);
      alts.forEach((_, i) => {
        const protocol = runtime ? DFU_CLASS.PROTOCOL_RUNTIME : DFU_CLASS.PROTOCOL_DFU_MODE;
        out.set([9, 4, 0, i, 0, DFU_CLASS.bInterfaceClass, DFU_CLASS.bInterfaceSubClass, protocol, 4 + i], 9 + 9 * i);
      });
      out.set(this.functional(), 9 + 9 * alts.length);
      return out;
    }
    if (type === 0x21 && index === 0) return this.functional();
    if (type === DescriptorType.STRING) {
      if (index === 0) return Uint8Array.of(4, 3, 0x09, 0x04); // LANGID 0x0409, English (United States)
      const strings = [p.strings.manufacturer, runtime ? p.runtime!.product : p.strings.product, p.strings.serial, ...this.alts()];
      const s = strings[index - 1];
      return s === undefined ? null : encodeStringDescriptor(s);
    }
    return null;
  }

  private functional(): Uint8Array {
    return encodeFunctionalDescriptor({
      attributes: this.part.attributes,
      detachTimeoutMs: this.part.detachTimeoutMs,
      transferSize: this.part.transferSize,
      dfuVersion: this.part.dfuVersion,
    });
  }

  // ---- DFU 1.1 ---------------------------------------------------------------------------------

  /** STALL and, as DFU 1.1 A.2 says for a request not valid in the current state, dfuERROR / errSTALLEDPKT. */
  private stall(error = true): UsbReply {
    this.stats.stalls++;
    if (error && this.mode === 'dfu') {
      this.pending = null;
      this.after = null;
      this.state = DFU_STATE.dfuERROR;
      this.status = DFU_STATUS.errSTALLEDPKT;
    }
    return { status: 'stall' };
  }

  private statusReply(pollMs: number, thenDisconnect = false): UsbReply {
    const reported = this.slowPoll ? Math.floor(pollMs / 2) : pollMs;
    const data = encodeStatus({ status: this.status, pollTimeoutMs: reported, state: this.state, stringIndex: 0 });
    return thenDisconnect ? { status: 'ok', data, thenDisconnect } : { status: 'ok', data };
  }

  private runtimeRequest(req: UsbControlRequest): UsbReply {
    switch (req.setup.request) {
      case DFU_REQUEST.DFU_GETSTATUS:
        return this.statusReply(0);
      case DFU_REQUEST.DFU_GETSTATE:
        return { status: 'ok', data: Uint8Array.of(this.state) };
      case DFU_REQUEST.DFU_DETACH: {
        this.state = DFU_STATE.appDETACH;
        this.detachDeadline = req.at + Math.min(req.setup.value, this.part.detachTimeoutMs);
        if (this.part.attributes & 0x08) {
          // bitWillDetach: the device detaches and re-attaches in DFU mode by itself.
          this.presentAt = req.at + REENUMERATE_MS;
          this.enterDfu();
          return { status: 'ok', thenDisconnect: true };
        }
        return { status: 'ok' };
      }
      default:
        return this.stall(false);
    }
  }

  private busy(at: number): boolean {
    return (this.state === DFU_STATE.dfuDNBUSY || this.state === DFU_STATE.dfuMANIFEST) && at < this.busyUntil;
  }

  private dfuRequest(req: UsbControlRequest): UsbReply {
    const { request, value } = req.setup;
    if (this.busy(req.at)) {
      if (request === DFU_REQUEST.DFU_GETSTATUS) {
        this.stats.earlyPolls++;
        return this.stall(false);
      }
      return this.stall();
    }
    if (this.state === DFU_STATE.dfuMANIFEST_WAIT_RESET) return this.stall(false);
    switch (request) {
      case DFU_REQUEST.DFU_GETSTATUS:
        return this.getStatus(req.at);
      case DFU_REQUEST.DFU_GETSTATE:
        return { status: 'ok', data: Uint8Array.of(this.state) };
      case DFU_REQUEST.DFU_CLRSTATUS:
        if (this.state !== DFU_STATE.dfuERROR && this.state !== DFU_STATE.dfuIDLE) return this.stall();
        this.toIdle();
        this.status = DFU_STATUS.OK;
        return { status: 'ok' };
      case DFU_REQUEST.DFU_ABORT:
        if (this.state === DFU_STATE.dfuERROR || this.state === DFU_STATE.dfuDNBUSY || this.state === DFU_STATE.dfuMANIFEST) return this.stall();
        this.toIdle();
        return { status: 'ok' };
      case DFU_REQUEST.DFU_DETACH:
        return { status: 'ok' }; // in DFU mode it only matters with the reset that follows (dfu-util -R)
      case DFU_REQUEST.DFU_DNLOAD:
        return this.dnload(value, req.data, req.length);
      case DFU_REQUEST.DFU_UPLOAD:
        return this.upload(value, req.length);
      default:
        return this.stall();
    }
  }

  private toIdle(): void {
    this.state = DFU_STATE.dfuIDLE;
    this.pending = null;
    this.after = null;
    this.upCursor = 0;
    this.dnCursor = 0;
    this.dnErasedPages.clear();
  }

  /** GETSTATUS moves the state machine (DFU 1.1 A.2.4–A.2.8): it starts queued work and reports finished work. */
  private getStatus(at: number): UsbReply {
    if (this.state === DFU_STATE.dfuDNLOAD_SYNC || this.state === DFU_STATE.dfuMANIFEST_SYNC) {
      const p = this.pending;
      if (!p) return this.stall();
      this.pending = null;
      const manifest = this.state === DFU_STATE.dfuMANIFEST_SYNC;
      const busyState = manifest ? DFU_STATE.dfuMANIFEST : DFU_STATE.dfuDNBUSY;
      const status = p.run();
      if (p.thenDisconnect) {
        // The device answers this one status and then resets or jumps away (run() already changed its mode).
        const data = encodeStatus({ status, pollTimeoutMs: p.durationMs, state: busyState, stringIndex: 0 });
        return { status: 'ok', data, thenDisconnect: true };
      }
      this.state = busyState;
      this.busyUntil = at + p.durationMs;
      this.after = {
        state: status !== DFU_STATUS.OK ? DFU_STATE.dfuERROR : manifest ? this.afterManifest() : DFU_STATE.dfuDNLOAD_IDLE,
        status,
      };
      return this.statusReply(p.durationMs);
    }
    if ((this.state === DFU_STATE.dfuDNBUSY || this.state === DFU_STATE.dfuMANIFEST) && this.after) {
      this.state = this.after.state;
      this.status = this.after.status;
      this.after = null;
    }
    return this.statusReply(0);
  }

  private afterManifest(): number {
    return this.part.attributes & 0x04 ? DFU_STATE.dfuIDLE : DFU_STATE.dfuMANIFEST_WAIT_RESET;
  }

  private dnload(blockNum: number, data: Uint8Array, length: number): UsbReply {
    if (!(this.part.attributes & 0x01) || length > this.part.transferSize) return this.stall();
    if (this.state !== DFU_STATE.dfuIDLE && this.state !== DFU_STATE.dfuDNLOAD_IDLE) return this.stall();
    if (this.dfuse) return this.dfuseDnload(blockNum, data);
    if (length === 0) {
      if (this.state === DFU_STATE.dfuIDLE) return this.stall();
      this.state = DFU_STATE.dfuMANIFEST_SYNC;
      this.pending = {
        what: 'manifest',
        durationMs: this.part.timing.manifestMs,
        run: () => {
          this.firmwareValid = true;
          return DFU_STATUS.OK;
        },
      };
      return { status: 'ok' };
    }
    if (this.state === DFU_STATE.dfuIDLE) {
      this.dnCursor = 0;
      this.dnErasedPages.clear();
    }
    const mem = this.memories[this.alt]!;
    const at = this.dnCursor;
    this.dnCursor += data.length;
    this.state = DFU_STATE.dfuDNLOAD_SYNC;
    const pageSize = this.part.plainMemory?.pageSize ?? 1024;
    const pages: number[] = [];
    for (let p = Math.floor(at / pageSize) * pageSize; p < at + data.length; p += pageSize) if (!this.dnErasedPages.has(p)) pages.push(p);
    this.pending = {
      what: `block ${blockNum}`,
      durationMs: pages.length * (this.part.timing.eraseMs[pageSize] ?? 20) + this.programMs(data.length),
      run: () => {
        if (at + data.length > mem.data.length) return DFU_STATUS.errADDRESS;
        if (this.takeInjected('erase')) return this.injectedStatus;
        for (const p of pages) {
          mem.data.fill(0xff, p, Math.min(p + pageSize, mem.data.length));
          this.dnErasedPages.add(p);
        }
        const failed = this.takeInjected('program');
        if (failed) return this.injectedStatus;
        return this.program(mem, mem.base + at, data, true);
      },
    };
    return { status: 'ok' };
  }

  private upload(blockNum: number, length: number): UsbReply {
    if (!(this.part.attributes & 0x02) || length > this.part.transferSize) return this.stall();
    if (this.state !== DFU_STATE.dfuIDLE && this.state !== DFU_STATE.dfuUPLOAD_IDLE) return this.stall();
    const mem = this.memories[this.alt]!;
    if (this.dfuse) {
      if (blockNum === 0) {
        this.state = DFU_STATE.dfuUPLOAD_IDLE;
        return { status: 'ok', data: Uint8Array.from(GET_COMMANDS_LIST) };
      }
      if (blockNum === 1) return this.stall();
      if (this.readProtected) return this.protectedStall();
      const address = this.addressPointer + (blockNum - DFUSE_FIRST_DATA_BLOCK) * this.part.transferSize;
      if (!this.accessible(mem, address, length, 'readable')) return this.errorStall(DFU_STATUS.errADDRESS);
      this.state = DFU_STATE.dfuUPLOAD_IDLE;
      return { status: 'ok', data: mem.data.slice(address - mem.base, address - mem.base + length) };
    }
    if (this.state === DFU_STATE.dfuIDLE) this.upCursor = 0;
    const data = mem.data.slice(this.upCursor, this.upCursor + length);
    this.upCursor += data.length;
    // A short frame ends the upload (DFU 1.1 A.2.10).
    this.state = data.length < length ? DFU_STATE.dfuIDLE : DFU_STATE.dfuUPLOAD_IDLE;
    return { status: 'ok', data };
  }

  // ---- DfuSe (AN3156 §6) -----------------------------------------------------------------------

  private dfuseDnload(blockNum: number, data: Uint8Array): UsbReply {
    const mem = this.memories[this.alt]!;
    if (data.length === 0) {
      // "Leave": the device enters dfuMANIFEST and jumps to the address pointer.
      this.state = DFU_STATE.dfuMANIFEST_SYNC;
      const target = this.addressPointer;
      this.pending = {
        what: 'leave',
        durationMs: 0,
        thenDisconnect: true,
        run: () => {
          this.jumpedTo = target;
          this.leaveBus(this.clock.now(), () => this.runApplication(), false);
          return DFU_STATUS.OK;
        },
      };
      return { status: 'ok' };
    }
    if (blockNum === 1) return this.stall();
    if (blockNum === 0) return this.command(mem, data);
    const address = this.addressPointer + (blockNum - DFUSE_FIRST_DATA_BLOCK) * this.part.transferSize;
    this.state = DFU_STATE.dfuDNLOAD_SYNC;
    this.pending = {
      what: `write ${data.length} bytes at 0x${address.toString(16)}`,
      durationMs: this.programMs(data.length),
      run: () => {
        if (this.readProtected) return DFU_STATUS.errVENDOR;
        if (!this.accessible(mem, address, data.length, 'writable')) return DFU_STATUS.errADDRESS;
        const failed = this.takeInjected('program');
        if (failed) return this.injectedStatus;
        return this.program(mem, address, data, false);
      },
    };
    return { status: 'ok' };
  }

  private command(mem: SimMemory, data: Uint8Array): UsbReply {
    const cmd = data[0]!;
    const address = data.length >= 5 ? (data[1]! | (data[2]! << 8) | (data[3]! << 16) | (data[4]! << 24)) >>> 0 : undefined;
    const queue = (p: Pending): UsbReply => {
      this.state = DFU_STATE.dfuDNLOAD_SYNC;
      this.pending = p;
      return { status: 'ok' };
    };
    if (cmd === DFUSE_COMMAND.SET_ADDRESS_POINTER && data.length === 5) {
      return queue({
        what: 'set address',
        durationMs: 0,
        run: () => {
          this.addressPointer = address!;
          return DFU_STATUS.OK;
        },
      });
    }
    if (cmd === DFUSE_COMMAND.ERASE && data.length === 5) {
      const sector = mem.layout ? sectorAt(mem.layout, address!) : null;
      return queue({
        what: `erase 0x${address!.toString(16)}`,
        durationMs: sector ? this.eraseMs(sector.size) : 0,
        run: () => {
          if (this.readProtected) return DFU_STATUS.errVENDOR;
          if (!sector || !sector.erasable) return DFU_STATUS.errADDRESS;
          if (this.takeInjected('erase')) return this.injectedStatus;
          mem.data.fill(0xff, sector.start - mem.base, sector.start - mem.base + sector.size);
          this.stats.erasedSectors.push({ alt: this.alt, address: sector.start });
          return DFU_STATUS.OK;
        },
      });
    }
    if (cmd === DFUSE_COMMAND.ERASE && data.length === 1) {
      return queue({
        what: 'mass erase',
        durationMs: this.part.timing.massEraseMs,
        run: () => {
          if (this.readProtected) return DFU_STATUS.errVENDOR;
          if (this.takeInjected('erase')) return this.injectedStatus;
          this.massErase();
          return DFU_STATUS.OK;
        },
      });
    }
    if (cmd === DFUSE_COMMAND.READ_UNPROTECT && data.length === 1) {
      return queue({
        what: 'read unprotect',
        durationMs: this.part.timing.massEraseMs,
        thenDisconnect: true,
        run: () => {
          // RDP level 1 -> 0 mass-erases the flash; the device then resets, back into DFU mode (BOOT0 still high).
          this.massErase();
          this.readProtected = false;
          this.leaveBus(this.clock.now() + this.part.timing.massEraseMs, () => this.enterDfu(), false);
          return DFU_STATUS.OK;
        },
      });
    }
    return this.stall();
  }

  private massErase(): void {
    const mem = this.memories[0]!;
    for (const s of mem.layout?.segments ?? []) {
      if (s.erasable) mem.data.fill(0xff, s.start - mem.base, s.start - mem.base + s.count * s.size);
    }
    this.stats.massErases++;
  }

  // ---- memory ----------------------------------------------------------------------------------

  private accessible(mem: SimMemory, address: number, length: number, need: 'readable' | 'writable'): boolean {
    if (!mem.layout) return address >= mem.base && address + length <= mem.base + mem.data.length;
    for (let at = address; at < address + length; ) {
      const s = sectorAt(mem.layout, at);
      if (!s || !s[need]) return false;
      at = s.start + s.size;
    }
    return true;
  }

  /** Programs bytes; flash (erasable memory) takes only erased bytes, like the silicon. */
  private program(mem: SimMemory, address: number, data: Uint8Array, plain: boolean): number {
    const off = address - mem.base;
    for (let i = 0; i < data.length; i++) {
      const old = mem.data[off + i]!;
      const erasable = plain || (mem.layout ? (sectorAt(mem.layout, address + i)?.erasable ?? false) : true);
      if (erasable && old !== 0xff && old !== data[i]) return DFU_STATUS.errPROG;
    }
    mem.data.set(data, off);
    this.stats.programmedBytes += data.length;
    return DFU_STATUS.OK;
  }

  private programMs(bytes: number): number {
    const t = this.part.timing;
    return (Math.ceil(bytes / t.programUnit) * t.programUs) / 1000;
  }

  private eraseMs(sectorSize: number): number {
    return this.part.timing.eraseMs[sectorSize] ?? (sectorSize / 16384) * 250;
  }

  private takeInjected(op: 'program' | 'erase'): boolean {
    if (this.injected?.op !== op) return false;
    this.injectedStatus = this.injected.status;
    if (--this.injected.times <= 0) this.injected = null;
    return true;
  }

  private protectedStall(): UsbReply {
    return this.errorStall(DFU_STATUS.errVENDOR);
  }

  private errorStall(status: number): UsbReply {
    this.stall();
    this.status = status;
    return { status: 'stall' };
  }

  // ---- modes -----------------------------------------------------------------------------------

  private enterDfu(): void {
    this.mode = 'dfu';
    this.toIdle();
    this.status = DFU_STATUS.OK;
    this.addressPointer = 0;
  }

  /** The application runs: with a DFU run-time interface it enumerates as that, else it is gone from the bus. */
  private runApplication(): void {
    this.mode = this.part.runtime ? 'runtime' : 'app';
    this.state = DFU_STATE.appIDLE;
    this.status = DFU_STATUS.OK;
  }

  /** True while the application (not the bootloader) runs. */
  get running(): boolean {
    return this.mode !== 'dfu';
  }

  /**
   * Leaves the bus and comes back (re-enumerates) `then`-changed, REENUMERATE_MS after `at`. From a bus
   * reset the pipe sees the loss at once; from inside a transfer the reply carries thenDisconnect, so
   * the host still gets the answer first.
   */
  private leaveBus(at: number, then: () => void, now: boolean): void {
    then();
    this.presentAt = Math.max(at, this.clock.now()) + REENUMERATE_MS;
    const port = this.port;
    this.port = null;
    if (now && port?.connected) port.disconnect();
  }

  describe(): string {
    return `${this.part.name}: ${this.mode} mode, ${stateName(this.state)}`;
  }
}

export function createSimulator(opts: SimulatorOptions): DfuDeviceSimulator {
  const part = opts.targetId ? findDfuPart(opts.targetId) : DFU_PARTS[0];
  if (!part) throw new FlashError('not-found', `No DFU part called "${opts.targetId}".`);
  const variants = (opts.variant ?? '').split(',').filter(Boolean) as DfuSimVariant[];
  return new DfuDeviceSimulator(opts.clock, part, variants);
}
