/**
 * The panel's store: the current state, a dispatch that runs the reducer, and listeners told after
 * every change. React reads it through useSyncExternalStore (plugin/ui/use-panel-state.ts); the
 * connection and the controller dispatch into it. getState() is always current, so event handlers
 * read it instead of a render's (possibly stale) snapshot.
 */
import type { PanelAction } from './actions.ts';
import { initialState, reduce } from './reducer.ts';
import type { PanelState } from './types.ts';

export type Listener = (state: PanelState, action: PanelAction) => void;

export class PanelStore {
  private state: PanelState;
  private readonly listeners = new Set<Listener>();

  constructor(initial: PanelState = initialState()) {
    this.state = initial;
  }

  getState = (): PanelState => this.state;

  dispatch = (action: PanelAction): void => {
    const next = reduce(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener(next, action);
  };

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };
}

export function createPanelStore(initial?: Partial<PanelState>): PanelStore {
  return new PanelStore({ ...initialState(), ...initial });
}
