import type { Recipe } from '../../shared/api';
import type { RecipesState } from './recipes.svelte';
import type { SettingsState } from './settings.svelte';

/**
 * Operator mode as a lock (journey 4: the engineer prepares and locks, the operator only runs). While
 * it is on, the station screen offers scan, start and stop, and nothing else of the app is reachable.
 * Entering needs a chosen recipe locked with the engineer's PIN (or a PIN to lock it with now);
 * leaving needs that PIN. The mode lives in the settings, so a reload stays locked.
 */
export class OperatorLock {
  readonly #settings: SettingsState;
  readonly #recipes: RecipesState;
  readonly #recipe: () => Recipe | undefined;

  constructor(deps: { settings: SettingsState; recipes: RecipesState; recipe: () => Recipe | undefined }) {
    this.#settings = deps.settings;
    this.#recipes = deps.recipes;
    this.#recipe = deps.recipe;
  }

  get on(): boolean {
    return this.#settings.current.operatorMode ?? false;
  }

  /** Why operator mode cannot be entered now, or null. */
  get blocker(): string | null {
    return this.#recipe() ? null : 'Choose a recipe first: operator mode runs one recipe.';
  }

  /** Entering locks the recipe first: the engineer chooses the PIN that will end operator mode. */
  get needsNewPin(): boolean {
    return !this.#recipe()?.lock;
  }

  /** Leaving asks for the recipe's PIN (a recipe unlocked meanwhile protects nothing). */
  get leaveNeedsPin(): boolean {
    return Boolean(this.#recipe()?.lock);
  }

  /** Enters operator mode, locking the recipe with `pin` first if it is not locked; a sentence if it cannot. */
  async enter(pin = ''): Promise<string | null> {
    const recipe = this.#recipe();
    if (!recipe) return this.blocker;
    if (!recipe.lock) {
      const locked = await this.#recipes.lock(recipe.id, pin);
      if (!locked.ok) return locked.error.message;
    }
    await this.#settings.update({ operatorMode: true });
    return null;
  }

  /** Leaves operator mode if `pin` opens the station's recipe; false, and still locked, if not. */
  async leave(pin = ''): Promise<boolean> {
    const recipe = this.#recipe();
    if (recipe?.lock && !(await this.#recipes.checkPin(recipe.id, pin))) return false;
    await this.#settings.update({ operatorMode: false });
    return true;
  }
}
