/**
 * The panel's entry point for every host: plugin/entries/<host>.tsx builds its EditorDocument and
 * calls mountPanel(root, editor, { daemonUrl }). Wires store → connection → controller → React
 * and returns the unmount function (closes the connection, stops retrying, unmounts React).
 */
import { Provider, defaultTheme } from '@adobe/react-spectrum';
import { createRoot } from 'react-dom/client';
import type { DaemonSocket } from '../../shared/daemon-client.ts';
import { DaemonConnection, type SocketFactory } from '../connection/daemon-connection.ts';
import type { EditorDocument, EditorHost } from '../editor/editor-document.ts';
import { initialState } from '../state/reducer.ts';
import { PanelStore } from '../state/store.ts';
import { PanelController } from './controller.ts';
import { Panel } from './panel.tsx';
import { PanelContext, type PanelServices } from './panel-context.ts';

export interface MountOptions {
  /** The daemon's WebSocket address, e.g. ws://127.0.0.1:7860/. */
  daemonUrl: string;
  /** The daemon's token, when it was started with one. */
  token?: string;
  /** Defaults to `url => new WebSocket(url)`. */
  socketFactory?: (url: string) => DaemonSocket;
  /** Light or dark; default: dark in Photoshop and Photopea, the system's scheme elsewhere. */
  colorScheme?: 'light' | 'dark';
  /** Receives the store, controller and connection (for debugging and host integrations). */
  onReady?: (services: PanelServices) => void;
}

const HOST_SCHEME: Partial<Record<EditorHost, 'light' | 'dark'>> = { photoshop: 'dark', photopea: 'dark' };

export function mountPanel(root: HTMLElement, editor: EditorDocument, options: MountOptions): () => void {
  const store = new PanelStore(initialState(options.daemonUrl));
  const socketFactory: SocketFactory = options.socketFactory ?? ((url) => new WebSocket(url));
  const connection = new DaemonConnection({
    url: options.daemonUrl,
    socketFactory,
    store,
    client: `palette-${editor.host}/0.1.0`,
    ...(options.token ? { token: options.token } : {}),
  });
  const controller = new PanelController(store, editor, connection);
  const services: PanelServices = { store, controller, connection };

  const reactRoot = createRoot(root);
  const colorScheme = options.colorScheme ?? HOST_SCHEME[editor.host];
  reactRoot.render(
    <Provider theme={defaultTheme} {...(colorScheme ? { colorScheme } : {})} scale="medium" minHeight="100%">
      <PanelContext.Provider value={services}>
        <Panel />
      </PanelContext.Provider>
    </Provider>,
  );
  connection.start();
  options.onReady?.(services);

  let mounted = true;
  return () => {
    if (!mounted) return;
    mounted = false;
    connection.stop();
    controller.dispose();
    reactRoot.unmount();
  };
}
