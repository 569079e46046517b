import type { HistoryApi } from './history';
import type { InspectorApi } from './inspector';
import type { JobsApi } from './jobs';
import type { LibraryApi } from './library';
import type { ManifestsApi } from './manifests';
import type { MonitorsApi } from './monitors';
import type { ProductionApi } from './production';
import type { SettingsApi } from './settings';

/*
 * The comlink surface between the page and the flasher worker, declared first and implemented by
 * src/worker/api/ (one module per concern, composed in src/worker/api/index.ts). Rules every member keeps:
 * - every method resolves with a `Result`; nothing is thrown across the thread edge, and a failure
 *   travels only there (events carry progress, never the outcome);
 * - arguments and results are plain structured-cloneable data (firmware bytes go in with `transfer()`);
 * - the only callbacks are event listeners, passed with `proxy()` as the last argument.
 */
export interface FlasherApi extends JobsApi, LibraryApi, HistoryApi, SettingsApi, MonitorsApi, ProductionApi, InspectorApi, ManifestsApi {}

export * from './history';
export * from './inspector';
export * from './jobs';
export * from './library';
export * from './manifests';
export * from './monitors';
export * from './production';
export * from './settings';
