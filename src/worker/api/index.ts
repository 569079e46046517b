import type { FlasherApi } from '../../shared/api';
import { createWorkerContext } from './context';
import type { ApiDeps } from './deps';
import { historyApi } from './history';
import { inspectorApi } from './inspector';
import { jobsApi } from './jobs';
import { libraryApi } from './library';
import { manifestsApi } from './manifests';
import { monitorsApi } from './monitors';
import { productionApi } from './production';
import { settingsApi } from './settings';

export type { ApiDeps } from './deps';

/**
 * The worker's implementation of FlasherApi: one small module per concern, all sharing one
 * WorkerContext (running jobs, firmware cache, MES queue). Every method returns a Result; exceptions
 * become `{ ok: false, error }` in `guard` and nowhere else, so nothing is thrown across comlink.
 */
export function createApi(deps: ApiDeps): FlasherApi {
  const ctx = createWorkerContext(deps);
  return {
    ...jobsApi(ctx),
    ...libraryApi(ctx),
    ...historyApi(ctx),
    ...settingsApi(ctx),
    ...monitorsApi(ctx),
    ...productionApi(ctx),
    ...inspectorApi(ctx),
    ...manifestsApi(ctx),
  };
}
