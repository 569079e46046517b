import type { Settings, SettingsApi } from '../../shared/api';
import * as settings from '../storage/settings';
import { guard, type WorkerContext } from './context';

export function settingsApi(ctx: WorkerContext): SettingsApi {
  return {
    getSettings: () => guard(async () => settings.getSettings(await ctx.deps.db())),
    updateSettings: (patch: Partial<Settings>) => guard(async () => settings.updateSettings(await ctx.deps.db(), patch)),
  };
}
