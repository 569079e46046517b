import type { AppState } from './app.svelte';
import type { DeviceChoice } from './catalog.svelte';

/**
 * The customer's screen (journey 3), opened by a vendor link (`?manifest=`) or the embed: product,
 * version, what's new, one "Install" that asks for the port itself, progress in plain words, and "Done —
 * you can unplug" only after a real device verified. Virtual devices only behind "Try a demo"; the
 * engineers' controls only behind "Advanced".
 */

/** What to pick in the browser's chooser, per driver: the names adapters of that kind show there. */
export const PICK_WORDS: Record<string, { names: string[]; what: string }> = {
  'esp-rom': { names: ['USB JTAG/serial debug unit', 'CP2102 USB to UART Bridge', 'USB-SERIAL CH340'], what: 'your board’s USB port' },
  stk500v1: { names: ['Arduino Uno', 'USB-SERIAL CH340', 'FT232R USB UART'], what: 'your Arduino’s USB port' },
  stk500v2: { names: ['Arduino Mega 2560', 'USB-SERIAL CH340'], what: 'your Arduino’s USB port' },
  'stm32-usart': { names: ['CP2102 USB to UART Bridge', 'FT232R USB UART', 'USB-SERIAL CH340'], what: 'the USB-to-serial adapter wired to the board' },
  'usb-dfu': { names: ['STM32 BOOTLOADER', 'DFU in FS Mode'], what: 'the board in its USB bootloader' },
  serprog: { names: ['Pico serprog', 'USB Serial Device'], what: 'the programmer holding the flash chip' },
};
const DEFAULT_WORDS = { names: ['USB Serial Device'], what: 'your board' };

export class CustomerState {
  /** The engineers' screen was asked for ("Advanced"). */
  #advanced = $state(false);
  /** The last install ran on a virtual device ("Try a demo"). */
  #demo = $state(false);
  readonly #app: AppState;
  readonly #linked: boolean;

  constructor(app: AppState, opts: { linked: boolean }) {
    this.#app = app;
    this.#linked = opts.linked;
  }

  /** Shown instead of the engineers' screen: opened by a vendor link, Advanced not opened. */
  get active(): boolean {
    return this.#linked && !this.#advanced;
  }
  openAdvanced(): void {
    this.#advanced = true;
  }

  get demo(): boolean {
    return this.#demo;
  }

  /** The board choice installs run on: the manifest's driver (the driver detects the chip itself). */
  get choice(): DeviceChoice | undefined {
    const driver = this.#app.manifest.driver;
    return driver ? this.#app.catalog.choices.find((c) => c.driverId === driver) : undefined;
  }

  /** 'serial' or 'usb': what the browser must reach for this manifest. */
  get link(): 'serial' | 'usb' {
    return this.choice?.link === 'usb' ? 'usb' : 'serial';
  }

  /** This browser can reach the device: Web Serial (or WebUSB for USB drivers) in a secure page. */
  get supported(): boolean {
    const s = this.#app.support;
    return s.secureContext && (this.link === 'usb' ? s.usb : s.serial);
  }

  get pickWords(): { names: string[]; what: string } {
    return PICK_WORDS[this.#app.manifest.driver ?? ''] ?? DEFAULT_WORDS;
  }

  /** Asks for the port (or USB device) itself, then installs: one click for the customer. */
  async install(): Promise<void> {
    const app = this.#app;
    const choice = this.choice;
    if (!choice || !this.supported || app.job.running) return;
    app.device.choiceKey = choice.key;
    this.#demo = false;
    if (this.link === 'usb') await app.device.chooseUsbDevice();
    else await app.device.choosePort();
    if (app.device.connection === 'virtual' || !app.device.ready) return; // the picker was closed
    await app.install();
  }

  /** The same install on the driver's virtual device: clearly a demo, never "installed on your device". */
  async tryDemo(): Promise<void> {
    const app = this.#app;
    const choice = this.choice;
    if (!choice || app.job.running) return;
    app.device.choiceKey = choice.key;
    app.device.connection = 'virtual';
    this.#demo = true;
    await app.install();
  }
}
