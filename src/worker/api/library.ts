import type { LibraryApi } from '../../shared/api';
import { entryFrom } from '../firmware-cache';
import { assertLibraryWorthy } from '../intake';
import * as library from '../storage/firmware';
import { guard, type WorkerContext } from './context';

export function libraryApi(ctx: WorkerContext): LibraryApi {
  const { deps } = ctx;
  return {
    listFirmware: () => guard(async () => library.listFirmware(await deps.db())),
    addFirmware: (file, notes) =>
      guard(async () => {
        const fw = await ctx.firmware.load(file);
        assertLibraryWorthy(fw);
        const db = await deps.db();
        const entry = await library.saveFirmware(db, entryFrom(fw.summary, deps.now(), notes), fw.bytes);
        return notes !== undefined && entry.notes !== notes ? library.updateFirmware(db, entry.fileSha256, { notes }) : entry;
      }),
    useFirmware: (fileSha256) => guard(async () => (await ctx.firmware.get(fileSha256)).summary),
    updateFirmware: (fileSha256, patch) => guard(async () => library.updateFirmware(await deps.db(), fileSha256, patch)),
    removeFirmware: (fileSha256) => guard(async () => library.removeFirmware(await deps.db(), fileSha256)),
  };
}
