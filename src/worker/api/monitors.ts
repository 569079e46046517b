import type { MonitorsApi } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { Monitors } from '../monitors';
import { deliver, guard, type WorkerContext } from './context';

export function monitorsApi(ctx: WorkerContext): MonitorsApi {
  const { deps } = ctx;
  const monitors = new Monitors(33, ctx.timers);
  return {
    openMonitor: (spec, onEvent) =>
      guard(async () => {
        if (!Number.isInteger(spec.baudRate) || spec.baudRate <= 0) throw new FlashError('invalid-argument', `${spec.baudRate} is not a baud rate.`);
        const stream = await deps.openLink(spec.device, {
          clock: deps.clock,
          serialDefaults: { baudRate: spec.baudRate },
          ...(spec.expectedPortCount === undefined ? {} : { expectedPortCount: spec.expectedPortCount }),
        });
        return monitors.start(stream, (event) => deliver(onEvent, event));
      }),
    writeMonitor: (monitorId, bytes) =>
      guard(async () => {
        await monitors.write(monitorId, bytes);
        return true;
      }),
    closeMonitor: (monitorId) => guard(() => monitors.stop(monitorId)),
  };
}
