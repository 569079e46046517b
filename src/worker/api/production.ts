import { parseSerialList } from '../../core/production/serialize';
import type { JobSpec, ProductionApi, Recipe, RecipeDraft } from '../../shared/api';
import { FlashError } from '../../shared/errors';
import { entryFrom } from '../firmware-cache';
import { runFlashJob } from '../job-runner';
import * as recipeRules from '../production/recipes';
import * as library from '../storage/firmware';
import * as recipes from '../storage/recipes';
import * as serials from '../storage/serials';
import * as settings from '../storage/settings';
import { guard, newId, type WorkerContext } from './context';

/** The production station: recipes (locked by PIN, revisioned), station jobs, serial pools, the MES queue. */
export function productionApi(ctx: WorkerContext): ProductionApi {
  const { deps } = ctx;

  async function changeLock(recipeId: string, pin: string, lock: boolean): Promise<Recipe> {
    const db = await deps.db();
    const existing = await recipes.getRecipe(db, recipeId);
    if (!existing) throw new FlashError('not-found', 'That recipe no longer exists.');
    recipeRules.requirePin(existing, pin, lock ? 'locking it again' : 'unlocking it');
    const now = deps.now();
    const { lock: _old, ...rest } = existing;
    const next: Recipe = { ...rest, updatedAt: now, revision: existing.revision + 1, ...(lock ? { lock: recipeRules.newLock(pin, now) } : {}) };
    if (!(await recipes.putRecipe(db, next, existing.revision))) throw new FlashError('conflict', `"${existing.name}" was changed elsewhere meanwhile.`);
    return next;
  }

  return {
    runRecipe: (spec, onEvent) =>
      guard(async () => {
        const db = await deps.db();
        const recipe = await recipes.getRecipe(db, spec.recipeId);
        if (!recipe) throw new FlashError('not-found', 'That recipe no longer exists.', { hint: 'Choose a recipe again.' });
        if (spec.recipeRevision !== undefined && spec.recipeRevision !== recipe.revision) {
          throw new FlashError('conflict', `"${recipe.name}" was changed since the station loaded it.`, {
            hint: 'Check the recipe, then start again.',
            details: { loadedRevision: spec.recipeRevision, currentRevision: recipe.revision },
          });
        }
        const current = await settings.getSettings(db);
        const job: JobSpec = {
          jobId: spec.jobId,
          driverId: recipe.driverId,
          ...(recipe.targetId === undefined ? {} : { targetId: recipe.targetId }),
          device: spec.device,
          deviceLabel: spec.deviceLabel,
          firmware: { fileSha256: recipe.firmware.fileSha256 },
          options: recipe.options,
          ...(spec.expectedPortCount === undefined ? {} : { expectedPortCount: spec.expectedPortCount }),
        };
        return runFlashJob(ctx, {
          spec: job,
          onEvent,
          production: { recipe, spec, mesUrl: current.mesUrl },
          ...(spec.progressIntervalMs === undefined ? {} : { progressIntervalMs: spec.progressIntervalMs }),
        });
      }),

    listRecipes: () => guard(async () => recipes.listRecipes(await deps.db())),

    saveRecipe: (draft: RecipeDraft, pin?: string) =>
      guard(async () => {
        const db = await deps.db();
        const existing = draft.id ? await recipes.getRecipe(db, draft.id) : undefined;
        if (existing) recipeRules.requirePin(existing, pin, 'changing it');
        const fw = await ctx.firmware.get(draft.firmware?.fileSha256 ?? '').catch(() => {
          throw new FlashError('bad-image', 'The recipe\'s firmware is not in the library.', { hint: 'Add the file to the library, then choose it.' });
        });
        const id = existing?.id ?? draft.id ?? newId();
        // A serial rule without a pool name counts in the recipe's own pool.
        const serial = draft.serial ? { ...draft.serial, pool: draft.serial.pool?.trim() || id } : undefined;
        const clean = recipeRules.validateDraft(
          { ...draft, ...(serial ? { serial } : {}), firmware: { fileSha256: fw.summary.fileSha256, name: draft.firmware.name || fw.summary.name } },
          fw.image,
        );
        recipeRules.requireUniqueName(clean.name, await recipes.listRecipes(db), id);
        const now = deps.now();
        const recipe: Recipe = {
          ...clean,
          id,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
          revision: (existing?.revision ?? 0) + 1,
          ...(existing?.lock ? { lock: existing.lock } : {}),
        };
        if (!(await recipes.putRecipe(db, recipe, existing?.revision))) {
          throw new FlashError('conflict', `"${recipe.name}" was changed elsewhere meanwhile.`, { hint: 'Reload the recipe and make the change again.' });
        }
        return recipe;
      }),

    deleteRecipe: (recipeId, pin) =>
      guard(async () => {
        const db = await deps.db();
        const existing = await recipes.getRecipe(db, recipeId);
        if (!existing) return false;
        recipeRules.requirePin(existing, pin, 'deleting it');
        return recipes.deleteRecipe(db, recipeId);
      }),

    lockRecipe: (recipeId, pin) => guard(() => changeLock(recipeId, pin, true)),

    unlockRecipe: (recipeId, pin) => guard(() => changeLock(recipeId, pin, false)),

    checkRecipePin: (recipeId, pin) =>
      guard(async () => {
        const existing = await recipes.getRecipe(await deps.db(), recipeId);
        return existing ? recipeRules.pinOpens(existing.lock, pin) : false;
      }),

    exportRecipe: (recipeId) =>
      guard(async () => {
        const db = await deps.db();
        const recipe = await recipes.getRecipe(db, recipeId);
        if (!recipe) throw new FlashError('not-found', 'That recipe no longer exists.');
        const stored = await library.getFirmware(db, recipe.firmware.fileSha256);
        return recipeRules.recipeExport(recipe, stored ? { name: stored.entry.name, bytes: stored.bytes } : null, deps.now());
      }),

    importRecipe: (text) =>
      guard(async () => {
        const db = await deps.db();
        const { recipe, firmware } = recipeRules.parseRecipeFile(String(text));
        if (firmware) {
          const bytes = firmware.bytes.slice().buffer;
          const fw = await ctx.firmware.load({ name: firmware.name, bytes });
          if (fw.summary.fileSha256 !== recipe.firmware?.fileSha256) {
            throw new FlashError('bad-image', 'The firmware inside the recipe file does not match its SHA-256.', { hint: 'Export the recipe again from the station that made it.' });
          }
          await library.saveFirmware(db, entryFrom(fw.summary, deps.now(), `From recipe "${recipe.name}"`), fw.bytes);
        }
        const fw = await ctx.firmware.get(recipe.firmware?.fileSha256 ?? '').catch(() => {
          throw new FlashError('bad-image', 'The recipe file has no firmware, and its image is not in the library.', { hint: 'Add the image to the library first, or export the recipe with its firmware.' });
        });
        const clean = recipeRules.validateDraft(recipe, fw.image);
        const now = deps.now();
        const existing = recipe.id ? await recipes.getRecipe(db, recipe.id) : undefined;
        // An import never overwrites a recipe silently: a recipe with the same ID becomes a new revision
        // only if it is not locked; otherwise the import is kept beside it as a copy.
        const replace = existing !== undefined && !existing.lock;
        const id = existing && !replace ? newId() : recipe.id || newId();
        const lock = recipe.lock && typeof recipe.lock.salt === 'string' && typeof recipe.lock.pinSha256 === 'string' ? recipe.lock : undefined;
        const out: Recipe = {
          ...clean,
          id,
          name: existing && !replace ? `${clean.name} (imported)` : clean.name,
          createdAt: replace ? existing.createdAt : now,
          updatedAt: now,
          revision: replace ? existing.revision + 1 : 1,
          ...(lock ? { lock } : {}),
        };
        recipeRules.requireUniqueName(out.name, await recipes.listRecipes(db), out.id);
        if (!(await recipes.putRecipe(db, out, replace ? existing.revision : undefined))) {
          throw new FlashError('conflict', 'The recipe was changed elsewhere during the import.', { hint: 'Import it again.' });
        }
        return out;
      }),

    readSerialList: (text) => guard(async () => parseSerialList(String(text)).map((v) => v.toString())),

    listSerials: (query) =>
      guard(async () => {
        const db = await deps.db();
        await ctx.reconcile(db);
        return serials.listSerials(db, query ?? {});
      }),

    serialStatus: (recipeId) =>
      guard(async () => {
        const db = await deps.db();
        const recipe = await recipes.getRecipe(db, recipeId);
        if (!recipe?.serial) return null;
        await ctx.reconcile(db);
        return serials.poolStatus(db, recipe.serial);
      }),

    mesStatus: () =>
      guard(async () => {
        const db = await deps.db();
        const url = (await settings.getSettings(db)).mesUrl?.trim() || null;
        ctx.mes.kick();
        return ctx.mes.status(url);
      }),

    retryMes: () =>
      guard(async () => {
        const db = await deps.db();
        await ctx.mes.retryNow();
        return ctx.mes.status((await settings.getSettings(db)).mesUrl?.trim() || null);
      }),
  };
}
