import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte';

const KEY = Symbol('webprog-app');

/** Makes the app state available to every component below the caller (App.svelte). */
export function setAppState(state: AppState): AppState {
  return setContext(KEY, state);
}

export function useAppState(): AppState {
  const state = getContext<AppState | undefined>(KEY);
  if (!state) throw new Error('useAppState() outside <App>');
  return state;
}
