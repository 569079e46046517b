import type { LibraryApi } from '../../shared/api';
import { findDriver } from '../../drivers/registry';
import { FlashError } from '../../shared/errors';
import { entryFrom } from '../firmware-cache';
import { assertLibraryWorthy } from '../intake';
import { sampleFor } from '../samples';
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
    sampleFirmware: ({ driverId, targetId }) =>
      guard(async () => {
        const meta = findDriver(driverId)?.meta;
        if (!meta) throw new FlashError('unsupported', `No programmer called "${driverId}".`);
        const target = meta.targets.find((t) => t.id === targetId) ?? meta.targets[0];
        const flashBase = target?.memories.find((m) => m.name === 'flash')?.base ?? 0;
        const sample = sampleFor(driverId, targetId, flashBase);
        const { summary } = await ctx.firmware.load(sample.file);
        return { summary, realHardware: sample.realHardware, about: sample.about };
      }),
  };
}
