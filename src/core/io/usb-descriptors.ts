import type { UsbSetup } from './usb-pipe';

/* USB 2.0 chapter 9 codecs: request codes, descriptor types, bmRequestType, string descriptors. */

/** USB 2.0 table 9-4 standard request codes, the ones a host stack or simulator handles. */
export const StandardRequest = {
  GET_STATUS: 0,
  CLEAR_FEATURE: 1,
  SET_FEATURE: 3,
  SET_ADDRESS: 5,
  GET_DESCRIPTOR: 6,
  SET_DESCRIPTOR: 7,
  GET_CONFIGURATION: 8,
  SET_CONFIGURATION: 9,
  GET_INTERFACE: 10,
  SET_INTERFACE: 11,
} as const;

/** USB 2.0 table 9-5 descriptor types. */
export const DescriptorType = {
  DEVICE: 1,
  CONFIGURATION: 2,
  STRING: 3,
  INTERFACE: 4,
  ENDPOINT: 5,
} as const;

const TYPES = ['standard', 'class', 'vendor'] as const;
const RECIPIENTS = ['device', 'interface', 'endpoint', 'other'] as const;

/** bmRequestType (USB 2.0 table 9-2): direction bit 7, type bits 6..5, recipient bits 4..0. */
export function requestTypeByte(direction: 'in' | 'out', setup: Pick<UsbSetup, 'requestType' | 'recipient'>): number {
  return (direction === 'in' ? 0x80 : 0) | (TYPES.indexOf(setup.requestType) << 5) | RECIPIENTS.indexOf(setup.recipient);
}

/** The inverse of requestTypeByte; null for the reserved type 3 or recipients above 3. */
export function parseRequestType(byte: number): { direction: 'in' | 'out'; requestType: UsbSetup['requestType']; recipient: UsbSetup['recipient'] } | null {
  const requestType = TYPES[(byte >> 5) & 3];
  const recipient = RECIPIENTS[byte & 0x1f];
  if (!requestType || !recipient) return null;
  return { direction: byte & 0x80 ? 'in' : 'out', requestType, recipient };
}

/** GET_DESCRIPTOR's setup (USB 2.0 §9.4.3): type in the high byte of wValue, index in the low byte. */
export function getDescriptorSetup(type: number, index = 0, languageId = 0): UsbSetup {
  return { requestType: 'standard', recipient: 'device', request: StandardRequest.GET_DESCRIPTOR, value: (type << 8) | index, index: languageId };
}

/** A string descriptor's UTF-16LE text (USB 2.0 §9.6.7); tolerant of a bLength larger than what came. */
export function decodeStringDescriptor(bytes: Uint8Array): string {
  const end = Math.min(bytes[0] ?? 0, bytes.length);
  let s = '';
  for (let i = 2; i + 1 < end; i += 2) s += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
  return s;
}

export function encodeStringDescriptor(text: string): Uint8Array {
  const n = Math.min(text.length, 126);
  const out = new Uint8Array(2 + 2 * n);
  out[0] = out.length;
  out[1] = DescriptorType.STRING;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    out[2 + 2 * i] = c & 0xff;
    out[3 + 2 * i] = c >> 8;
  }
  return out;
}
