/**
 * React's view of the panel: the store, the controller and the connection, given to every
 * component through one context, and a hook that re-renders on every state change.
 */
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { DaemonConnection } from '../connection/daemon-connection.ts';
import type { PanelStore } from '../state/store.ts';
import type { PanelState } from '../state/types.ts';
import type { PanelController } from './controller.ts';

export interface PanelServices {
  store: PanelStore;
  controller: PanelController;
  connection: DaemonConnection;
}

export const PanelContext = createContext<PanelServices | null>(null);

export function usePanel(): PanelServices {
  const services = useContext(PanelContext);
  if (!services) throw new Error('usePanel() outside <PanelContext.Provider>.');
  return services;
}

export function usePanelState(): PanelState {
  const { store } = usePanel();
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}

/** The current time, refreshed every `intervalMs` while `active` (for "retrying in 3 s"). */
export function useNow(active: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return undefined;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
  return now;
}
