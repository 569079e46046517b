import type { LinkDriverEntry } from '../../drivers/registry';
import { createUsbPipe } from '../../core/io/usb-bus';
import { DescriptorType, getDescriptorSetup } from '../../core/io/usb-descriptors';
import { systemClock } from '../../transports/clock';
import { EXIT, UsageError } from '../cli/spec';
import { untilStopped } from '../cli/lifetime';
import { buildLibusbShim, hostUsbSimulator, shimEnv } from './sim-host';

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/**
 * `webprog simulate usb-dfu`: a virtual USB device, served to libusb-1.0 programs (dfu-util) run with
 * the environment printed on the one line `USB <vid>:<pid> ENV <NAME=value …>`. The libusb stand-in is
 * built on first use with gcc into a cache directory; it is a test fixture, not a way to reach hardware.
 */
export async function simulateUsb(entry: LinkDriverEntry<'usb'>, part?: string, variant?: string): Promise<number> {
  const { createSimulator } = await entry.simulator();
  let sim;
  try {
    sim = createSimulator({ clock: systemClock, targetId: part, variant });
  } catch (err) {
    throw new UsageError((err as Error).message, `See "webprog parts --driver ${entry.meta.id}".`);
  }
  buildLibusbShim();
  const probe = createUsbPipe(sim, systemClock);
  const descriptor = await probe.controlIn(getDescriptorSetup(DescriptorType.DEVICE), 18);
  await probe.close();
  const vid = descriptor[8]! | (descriptor[9]! << 8);
  const pid = descriptor[10]! | (descriptor[11]! << 8);
  const host = await hostUsbSimulator(sim as typeof sim & { readonly present: boolean }, systemClock);
  const env = Object.entries(shimEnv(host.socket)).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(`USB ${hex4(vid)}:${hex4(pid)} ENV ${env.join(' ')}\n`);
  await untilStopped();
  await host.stop();
  return EXIT.ok;
}
