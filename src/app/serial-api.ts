import { serial as cdcAcmSerial } from 'web-serial-polyfill';

/**
 * The page's serial ports: Web Serial where the browser has it; otherwise, where it has WebUSB (Chrome
 * on Android), Google's web-serial-polyfill, which drives USB CDC-ACM devices (ESP32-S2/S3/C3 native
 * USB, CDC adapters, Arduino boards with a CDC bridge) as serial ports over WebUSB. The worker makes
 * the same choice (transports/cdc-acm.ts), so both list the same ports in the same order.
 */
export function serialApi(): Pick<Serial, 'requestPort' | 'getPorts'> | undefined {
  if ('serial' in navigator) return navigator.serial;
  if ('usb' in navigator) return cdcAcmSerial as unknown as Pick<Serial, 'requestPort' | 'getPorts'>;
  return undefined;
}

/** The polyfill makes a new port object per call: two are the same port when they drive one USB device. */
export function samePort(a: SerialPort, b: SerialPort): boolean {
  const device = (p: SerialPort) => (p as SerialPort & { device_?: USBDevice }).device_;
  return a === b || (device(a) !== undefined && device(a) === device(b));
}
