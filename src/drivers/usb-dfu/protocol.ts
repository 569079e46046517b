import { type UsbSetup } from '../../core/io/usb-pipe';
import { DescriptorType } from '../../core/io/usb-descriptors';

/*
 * USB Device Firmware Upgrade 1.1 ("DFU", USB-IF, 2004) and ST's DfuSe extension of it
 * (UM0424 "STM32 USB-FS-Device development kit" §10, AN3156 "USB DFU protocol used in the STM32
 * bootloader"). Names follow the specifications.
 */

/** DFU 1.1 §3, table 3.2: class-specific requests. */
export const DFU_REQUEST = {
  DFU_DETACH: 0,
  DFU_DNLOAD: 1,
  DFU_UPLOAD: 2,
  DFU_GETSTATUS: 3,
  DFU_CLRSTATUS: 4,
  DFU_GETSTATE: 5,
  DFU_ABORT: 6,
} as const;

/** DFU 1.1 §6.1.2, bState values. */
export const DFU_STATE = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;

/** DFU 1.1 §6.1.2, bStatus values. */
export const DFU_STATUS = {
  OK: 0x00,
  errTARGET: 0x01,
  errFILE: 0x02,
  errWRITE: 0x03,
  errERASE: 0x04,
  errCHECK_ERASED: 0x05,
  errPROG: 0x06,
  errVERIFY: 0x07,
  errADDRESS: 0x08,
  errNOTDONE: 0x09,
  errFIRMWARE: 0x0a,
  errVENDOR: 0x0b,
  errUSBR: 0x0c,
  errPOR: 0x0d,
  errUNKNOWN: 0x0e,
  errSTALLEDPKT: 0x0f,
} as const;

/** DFU 1.1 §6.1.2, the meaning of each bStatus, worded for the log. */
const STATUS_TEXT: Record<number, string> = {
  0x00: 'no error',
  0x01: 'the file is not for this device',
  0x02: 'the file failed a device-specific check',
  0x03: 'the device cannot write memory',
  0x04: 'the memory erase failed',
  0x05: 'the memory was not erased',
  0x06: 'programming the memory failed',
  0x07: 'the programmed memory failed verification',
  0x08: 'the address is outside the memory',
  0x09: 'the download ended before all data arrived',
  0x0a: 'the firmware is corrupt',
  0x0b: 'a vendor-specific error',
  0x0c: 'an unexpected USB reset',
  0x0d: 'an unexpected power-on reset',
  0x0e: 'an unknown error',
  0x0f: 'the device stalled an unexpected request',
};

export function stateName(state: number): string {
  return Object.entries(DFU_STATE).find(([, v]) => v === state)?.[0].replace(/_/g, '-') ?? `state ${state}`;
}

export function statusName(status: number): string {
  return Object.entries(DFU_STATUS).find(([, v]) => v === status)?.[0] ?? `status 0x${status.toString(16)}`;
}

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'an undefined status';
}

/** DFU 1.1 §4.2.1 / §4.2.3: interface class, subclass and protocol codes. */
export const DFU_CLASS = {
  bInterfaceClass: 0xfe, // Application Specific
  bInterfaceSubClass: 0x01, // Device Firmware Upgrade
  PROTOCOL_RUNTIME: 0x01,
  PROTOCOL_DFU_MODE: 0x02,
} as const;

/** DFU 1.1 §4.1.3, table 4.2: the DFU functional descriptor. */
export const DFU_FUNCTIONAL = {
  bDescriptorType: 0x21,
  bLength: 9,
  bitCanDnload: 0x01,
  bitCanUpload: 0x02,
  bitManifestationTolerant: 0x04,
  bitWillDetach: 0x08,
} as const;

/** bcdDFUVersion: 1.1 per the specification, 1.1a (0x011A) for ST's DfuSe (UM0424 §10.2). */
export const BCD_DFU_1_1 = 0x0110;
export const BCD_DFUSE = 0x011a;

/** AN3156 §6: DfuSe commands, sent as DFU_DNLOAD with wBlockNum 0; the first byte names them. */
export const DFUSE_COMMAND = {
  GET_COMMANDS: 0x00,
  SET_ADDRESS_POINTER: 0x21,
  ERASE: 0x41,
  READ_UNPROTECT: 0x92,
} as const;

/** AN3156 §6: wBlockNum 0 carries commands, data blocks start at 2 (1 is unused). */
export const DFUSE_FIRST_DATA_BLOCK = 2;

export interface DfuFunctionalDescriptor {
  canDownload: boolean;
  canUpload: boolean;
  manifestationTolerant: boolean;
  willDetach: boolean;
  /** wDetachTimeOut, ms: how long a run-time device waits for a USB reset after DFU_DETACH. */
  detachTimeoutMs: number;
  /** wTransferSize: the most bytes one DNLOAD or UPLOAD carries. */
  transferSize: number;
  /** bcdDFUVersion; 0x0100 when the descriptor is the 7-byte DFU 1.0 form. */
  dfuVersion: number;
  attributes: number;
}

/** Table 4.2. A 7-byte descriptor is DFU 1.0, which has no bcdDFUVersion (dfu-util treats it so too). */
export function parseFunctionalDescriptor(bytes: Uint8Array): DfuFunctionalDescriptor | null {
  if (bytes.length < 7 || bytes[1] !== DFU_FUNCTIONAL.bDescriptorType || bytes[0]! < 7) return null;
  const attributes = bytes[2]!;
  return {
    attributes,
    canDownload: (attributes & DFU_FUNCTIONAL.bitCanDnload) !== 0,
    canUpload: (attributes & DFU_FUNCTIONAL.bitCanUpload) !== 0,
    manifestationTolerant: (attributes & DFU_FUNCTIONAL.bitManifestationTolerant) !== 0,
    willDetach: (attributes & DFU_FUNCTIONAL.bitWillDetach) !== 0,
    detachTimeoutMs: bytes[3]! | (bytes[4]! << 8),
    transferSize: bytes[5]! | (bytes[6]! << 8),
    dfuVersion: bytes[0]! >= 9 && bytes.length >= 9 ? bytes[7]! | (bytes[8]! << 8) : 0x0100,
  };
}

export function encodeFunctionalDescriptor(d: { attributes: number; detachTimeoutMs: number; transferSize: number; dfuVersion: number }): Uint8Array {
  return Uint8Array.of(
    DFU_FUNCTIONAL.bLength,
    DFU_FUNCTIONAL.bDescriptorType,
    d.attributes,
    d.detachTimeoutMs & 0xff,
    d.detachTimeoutMs >> 8,
    d.transferSize & 0xff,
    d.transferSize >> 8,
    d.dfuVersion & 0xff,
    d.dfuVersion >> 8,
  );
}

/** One alternate setting of an interface, from the configuration descriptor (USB 2.0 table 9-12). */
export interface InterfaceAlt {
  interfaceNumber: number;
  alternateSetting: number;
  interfaceClass: number;
  interfaceSubClass: number;
  interfaceProtocol: number;
  /** iInterface: string index of its name (DfuSe puts the memory layout here). */
  nameIndex: number;
}

export interface ParsedConfiguration {
  configurationValue: number;
  alts: InterfaceAlt[];
  /** The DFU functional descriptor, wherever it appears (ST puts it after the last alternate setting). */
  functional: DfuFunctionalDescriptor | null;
}

/** Walks a full configuration descriptor (USB 2.0 §9.6.3): interfaces and the DFU functional descriptor. */
export function parseConfiguration(bytes: Uint8Array): ParsedConfiguration {
  const out: ParsedConfiguration = { configurationValue: bytes[5] ?? 1, alts: [], functional: null };
  const total = Math.min(bytes.length, (bytes[2] ?? 0) | ((bytes[3] ?? 0) << 8) || bytes.length);
  for (let at = 0; at + 1 < total; ) {
    const length = bytes[at]!;
    if (length < 2) break; // a zero length would loop forever; the rest is unusable
    const type = bytes[at + 1]!;
    const d = bytes.subarray(at, Math.min(at + length, total));
    if (type === DescriptorType.INTERFACE && d.length >= 9) {
      out.alts.push({
        interfaceNumber: d[2]!,
        alternateSetting: d[3]!,
        interfaceClass: d[5]!,
        interfaceSubClass: d[6]!,
        interfaceProtocol: d[7]!,
        nameIndex: d[8]!,
      });
    } else if (type === DFU_FUNCTIONAL.bDescriptorType && !out.functional) {
      out.functional = parseFunctionalDescriptor(d);
    }
    at += length;
  }
  return out;
}

export function isDfuAlt(alt: InterfaceAlt): boolean {
  return alt.interfaceClass === DFU_CLASS.bInterfaceClass && alt.interfaceSubClass === DFU_CLASS.bInterfaceSubClass;
}

/** DFU 1.1 §6.1.2: the 6-byte DFU_GETSTATUS answer. bwPollTimeout is 24 bits, little-endian. */
export interface DfuStatus {
  status: number;
  pollTimeoutMs: number;
  state: number;
  stringIndex: number;
}

export function parseStatus(bytes: Uint8Array): DfuStatus | null {
  if (bytes.length < 6) return null;
  return { status: bytes[0]!, pollTimeoutMs: bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16), state: bytes[4]!, stringIndex: bytes[5]! };
}

export function encodeStatus(s: DfuStatus): Uint8Array {
  const t = Math.min(0xffffff, Math.max(0, Math.ceil(s.pollTimeoutMs)));
  return Uint8Array.of(s.status, t & 0xff, (t >> 8) & 0xff, t >> 16, s.state, s.stringIndex);
}

/** The setup of a DFU class request to interface `iface` (DFU 1.1 §3: bmRequestType 0x21 / 0xA1). */
export function dfuSetup(request: number, iface: number, value = 0): UsbSetup {
  return { requestType: 'class', recipient: 'interface', request, value, index: iface };
}

/** A DfuSe command payload: the command byte and, when given, a 32-bit little-endian address. */
export function dfuseCommand(command: number, address?: number): Uint8Array {
  if (address === undefined) return Uint8Array.of(command);
  return Uint8Array.of(command, address & 0xff, (address >>> 8) & 0xff, (address >>> 16) & 0xff, (address >>> 24) & 0xff);
}
