import type { Recipe, RecipeDraft, SerialPoolStatus } from '../../shared/api';
import type { Result } from '../../shared/errors';
import { saveText } from '../download';
import { call } from '../worker-client';
import { WorkerList } from './worker-list.svelte';

/**
 * Recipes as the station and the editor see them.
 *
 * A locked recipe can be run by anyone; editing it needs the engineer's PIN. Once the PIN was
 * entered, this page remembers it (in memory only, never stored) until the recipe is locked again or
 * the page is reloaded, so the engineer can make several changes.
 */
export class RecipesState extends WorkerList<Recipe> {
  #pins = $state.raw<ReadonlyMap<string, string>>(new Map());

  find(id: string | undefined): Recipe | undefined {
    return id === undefined ? undefined : this.items.find((r) => r.id === id);
  }

  /** Unlocked recipes, and locked ones whose PIN was entered on this page. */
  canEdit(recipe: Recipe): boolean {
    return !recipe.lock || this.#pins.has(recipe.id);
  }

  protected fetchAll(): Promise<Result<Recipe[]>> {
    return call((api) => api.listRecipes());
  }

  /** Checks a PIN and remembers it for this page; false if it does not open the recipe. */
  async enterPin(recipeId: string, pin: string): Promise<boolean> {
    const opens = await this.checkPin(recipeId, pin);
    if (opens) this.#pins = new Map(this.#pins).set(recipeId, pin);
    return opens;
  }

  /** Whether `pin` opens the recipe, without remembering it (leaving operator mode). */
  async checkPin(recipeId: string, pin: string): Promise<boolean> {
    const result = await call((api) => api.checkRecipePin(recipeId, pin));
    if (!result.ok) this.fail(result.error);
    return result.ok && result.value;
  }

  async save(draft: RecipeDraft): Promise<Result<Recipe>> {
    const pin = draft.id ? this.#pins.get(draft.id) : undefined;
    const result = await call((api) => api.saveRecipe($state.snapshot(draft) as RecipeDraft, pin));
    if (result.ok) this.#replace(result.value);
    return result;
  }

  async remove(recipeId: string): Promise<void> {
    const result = await call((api) => api.deleteRecipe(recipeId, this.#pins.get(recipeId)));
    this.settle(result);
    await this.refresh();
  }

  async lock(recipeId: string, pin: string): Promise<Result<Recipe>> {
    const result = await call((api) => api.lockRecipe(recipeId, pin));
    if (result.ok) {
      this.#replace(result.value);
      this.#forgetPin(recipeId);
    }
    return result;
  }

  async unlock(recipeId: string): Promise<Result<Recipe>> {
    const pin = this.#pins.get(recipeId) ?? '';
    const result = await call((api) => api.unlockRecipe(recipeId, pin));
    if (result.ok) {
      this.#replace(result.value);
      this.#forgetPin(recipeId);
    }
    return result;
  }

  /** Locks an edited recipe again right away (the engineer is done). */
  relock(recipeId: string): void {
    this.#forgetPin(recipeId);
  }

  async download(recipeId: string): Promise<void> {
    const result = await call((api) => api.exportRecipe(recipeId));
    this.settle(result, (file) => saveText(file));
  }

  async importFile(file: File): Promise<Recipe | null> {
    const text = await file.text();
    const result = await call((api) => api.importRecipe(text));
    if (!this.settle(result)) return null;
    await this.refresh();
    return result.value;
  }

  async readSerialList(text: string): Promise<Result<string[]>> {
    return call((api) => api.readSerialList(text));
  }

  async serialStatus(recipeId: string): Promise<SerialPoolStatus | null> {
    const result = await call((api) => api.serialStatus(recipeId));
    return result.ok ? result.value : null;
  }

  #replace(recipe: Recipe): void {
    const others = this.items.filter((r) => r.id !== recipe.id);
    this.setItems([...others, recipe].sort((a, b) => a.name.localeCompare(b.name) || a.createdAt - b.createdAt));
    this.clearError();
  }

  #forgetPin(recipeId: string): void {
    const pins = new Map(this.#pins);
    pins.delete(recipeId);
    this.#pins = pins;
  }
}
