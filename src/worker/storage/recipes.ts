import type { Recipe } from '../../shared/api';
import { stored, type FlasherDb } from './db';

/** Recipes by name. */
export async function listRecipes(db: FlasherDb): Promise<Recipe[]> {
  const all = await stored('read the recipes', () => db.getAll('recipes'));
  return all.sort((a, b) => a.name.localeCompare(b.name) || a.createdAt - b.createdAt);
}

export async function getRecipe(db: FlasherDb, id: string): Promise<Recipe | undefined> {
  return stored('read the recipe', () => db.get('recipes', id));
}

/**
 * Replaces a recipe if it is still at `expectedRevision` (undefined: must not exist yet), in one
 * transaction, so two editors never overwrite each other's changes silently. Returns false on a
 * conflict.
 */
export async function putRecipe(db: FlasherDb, recipe: Recipe, expectedRevision: number | undefined): Promise<boolean> {
  return stored('save the recipe', async () => {
    const tx = db.transaction('recipes', 'readwrite');
    const existing = await tx.store.get(recipe.id);
    if ((existing?.revision ?? undefined) !== expectedRevision) {
      await tx.done;
      return false;
    }
    await tx.store.put(recipe);
    await tx.done;
    return true;
  });
}

export async function deleteRecipe(db: FlasherDb, id: string): Promise<boolean> {
  return stored('delete the recipe', async () => {
    const tx = db.transaction('recipes', 'readwrite');
    const existed = (await tx.store.getKey(id)) !== undefined;
    await tx.store.delete(id);
    await tx.done;
    return existed;
  });
}
