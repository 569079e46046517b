import { proxy } from 'comlink';
import type { MonitorEvent } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import type { DeviceSelector } from '../../shared/model';
import { call } from '../worker-client';

export const MONITOR_BAUD_RATES = [300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 74880, 115200, 230400, 250000, 460800, 500000, 921600, 1000000, 2000000] as const;

/** The serial monitor: the worker holds the port, this keeps the terminal fed. */
export class MonitorState {
  #status = $state<'closed' | 'opening' | 'open'>('closed');
  #error = $state.raw<FlashErrorInfo | null>(null);
  #label = $state('');
  #id: string | null = null;
  #sink: ((bytes: Uint8Array) => void) | null = null;
  /** What arrived before a terminal was attached, so the first lines after a reset are not lost. */
  #backlog: Uint8Array[] = [];

  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  get label() {
    return this.#label;
  }

  attach(sink: (bytes: Uint8Array) => void): void {
    this.#sink = sink;
    for (const b of this.#backlog) sink(b);
    this.#backlog = [];
  }

  detach(): void {
    this.#sink = null;
  }

  async open(device: DeviceSelector, baudRate: number, label: string, expectedPortCount?: number): Promise<void> {
    if (this.#status !== 'closed') await this.close();
    this.#status = 'opening';
    this.#error = null;
    // A virtual board's line has no rate to get wrong: it talks at its own.
    this.#label = device.kind === 'virtual' ? label : `${label} at ${baudRate} baud`;
    const onEvent = (event: MonitorEvent) => {
      if (event.type === 'data') {
        if (this.#sink) this.#sink(event.bytes);
        else this.#backlog.push(event.bytes);
      } else {
        this.#id = null;
        this.#status = 'closed';
        this.#error = event.error;
      }
    };
    const result = await call((api) =>
      api.openMonitor({ device, baudRate, ...(expectedPortCount === undefined ? {} : { expectedPortCount }) }, proxy(onEvent)),
    );
    if (result.ok) {
      this.#id = result.value;
      if (this.#status === 'opening') this.#status = 'open';
    } else {
      this.#status = 'closed';
      this.#error = result.error;
    }
  }

  async close(): Promise<void> {
    const id = this.#id;
    this.#id = null;
    if (id) await call((api) => api.closeMonitor(id));
    this.#status = 'closed';
  }

  async send(text: string): Promise<void> {
    const id = this.#id;
    if (!id) return;
    const result = await call((api) => api.writeMonitor(id, new TextEncoder().encode(text)));
    if (!result.ok) this.#error = result.error;
  }
}
