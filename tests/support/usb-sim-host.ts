// The libusb stand-in and its host moved to src/node/usb (the CLI's `simulate usb-dfu` uses them too).
export * from '../../src/node/usb/sim-host';
