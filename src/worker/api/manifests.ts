import type { ManifestsApi, StationEvent } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { runFlashJob } from '../job-runner';
import { ManifestStore } from '../manifests';
import { guard, type WorkerContext } from './context';

export function manifestsApi(ctx: WorkerContext): ManifestsApi {
  const manifests = new ManifestStore(ctx.deps.fetchFile);
  return {
    loadManifest: (source) => guard(() => manifests.load(source)),
    install: (spec, onEvent) =>
      guard(async () => {
        const install = manifests.plan(manifests.get(String(spec?.firmware?.fileSha256 ?? '')), String(spec?.driverId ?? ''));
        const { serial: _none, ...report } = await runFlashJob(ctx, {
          spec: { ...spec, keepInLibrary: false },
          onEvent: onEvent as (event: StationEvent) => void,
          install,
        });
        const build = install.build();
        if (!build) throw new FlashError('internal', 'The install finished without choosing a build.');
        return { ...report, build };
      }),
  };
}
