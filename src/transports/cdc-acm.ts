import { SerialPort as CdcAcmPort } from 'web-serial-polyfill';
import type { SerialPortLike } from './web-serial';

/**
 * Serial ports where the browser has WebUSB but no Web Serial (Chrome on Android): every USB CDC-ACM
 * device, driven by Google's web-serial-polyfill as a serial port. The polyfill's port lacks the
 * 'disconnect' event, which the USB object's own 'disconnect' supplies here. The page lists the same
 * devices through the same polyfill (app/serial-api.ts), in the same order.
 */
export interface UsbLike {
  getDevices(): Promise<USBDevice[]>;
  addEventListener(type: 'disconnect', listener: (event: { device: USBDevice }) => void): void;
  removeEventListener(type: 'disconnect', listener: (event: { device: USBDevice }) => void): void;
}

export function cdcAcmSerial(usb: UsbLike): { getPorts(): Promise<SerialPortLike[]> } {
  return {
    async getPorts() {
      const ports: SerialPortLike[] = [];
      for (const device of await usb.getDevices()) {
        try {
          ports.push(new PolyfilledPort(new CdcAcmPort(device), device, usb));
        } catch {
          // not a CDC-ACM device (the polyfill finds no CDC control and data interfaces)
        }
      }
      return ports;
    },
  };
}

class PolyfilledPort implements SerialPortLike {
  readonly #listeners = new Map<() => void, (event: { device: USBDevice }) => void>();

  constructor(
    private readonly port: CdcAcmPort,
    private readonly device: USBDevice,
    private readonly usb: UsbLike,
  ) {}

  get readable() {
    return this.port.readable;
  }
  get writable() {
    return this.port.writable;
  }
  open(options: Parameters<SerialPortLike['open']>[0]) {
    return this.port.open(options as SerialOptions);
  }
  close() {
    return this.port.close();
  }
  setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean }) {
    return this.port.setSignals(signals);
  }
  getInfo() {
    return { usbVendorId: this.device.vendorId, usbProductId: this.device.productId };
  }
  addEventListener(_type: 'disconnect', listener: () => void) {
    const onUsb = (event: { device: USBDevice }) => event.device === this.device && listener();
    this.#listeners.set(listener, onUsb);
    this.usb.addEventListener('disconnect', onUsb);
  }
  removeEventListener(_type: 'disconnect', listener: () => void) {
    const onUsb = this.#listeners.get(listener);
    if (onUsb) this.usb.removeEventListener('disconnect', onUsb);
    this.#listeners.delete(listener);
  }
}
