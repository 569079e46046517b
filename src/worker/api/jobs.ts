import { DRIVERS } from '../../drivers/registry';
import type { JobsApi, StationEvent } from '../../shared/api';
import { runFlashJob } from '../job-runner';
import { intake } from '../intake';
import { guard, type WorkerContext } from './context';

export function jobsApi(ctx: WorkerContext): JobsApi {
  return {
    listDrivers: () => guard(async () => DRIVERS.map((d) => structuredClone(d.meta))),
    inspect: (file) => guard(async () => (await ctx.firmware.load(file)).summary),
    checkFirmware: ({ fileSha256, ...request }) => guard(async () => intake(await ctx.firmware.get(fileSha256), request).verdict),
    // A plain job never reserves a serial, so its listener only ever sees JobEvents.
    flash: (spec, onEvent) => guard(() => runFlashJob(ctx, { spec, onEvent: onEvent as (event: StationEvent) => void })),
    cancel: (jobId) => guard(async () => ctx.sessions.cancel(jobId)),
  };
}
