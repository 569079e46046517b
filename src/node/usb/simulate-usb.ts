import type { DriverEntry } from '../../drivers/registry';
import { UsageError } from '../cli/spec';

/** Placeholder until the libusb stand-in moves out of tests/ (issue 12, step 6). */
export async function simulateUsb(entry: DriverEntry, _part?: string, _variant?: string): Promise<number> {
  throw new UsageError(`simulate ${entry.meta.id} is not available yet`, 'Use tests/support/usb-sim-host.ts meanwhile.');
}
