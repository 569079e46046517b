import type { HistoryApi } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { historyExport, listJobs } from '../storage/audit-log';
import { guard, type WorkerContext } from './context';

export function historyApi(ctx: WorkerContext): HistoryApi {
  const { deps } = ctx;
  return {
    listHistory: (query) =>
      guard(async () => {
        const db = await deps.db();
        await ctx.reconcile(db);
        ctx.mes.kick(); // records left waiting by an earlier session go out now
        return listJobs(db, query?.limit, query?.since);
      }),
    exportHistory: (format) =>
      guard(async () => {
        if (format !== 'csv' && format !== 'json') throw new FlashError('invalid-argument', `Cannot export History as ${String(format)}.`);
        const db = await deps.db();
        await ctx.reconcile(db);
        return historyExport(await listJobs(db), format, deps.now());
      }),
  };
}
