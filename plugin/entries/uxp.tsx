/**
 * The Photoshop (UXP) panel. `photoshop` and `uxp` are host modules, external to the bundle (UXP
 * provides them through require); this entry is where they are imported, and they reach the adapter
 * by injection so the adapter can be tested with fakes.
 */
import * as photoshop from 'photoshop';
import { entrypoints } from 'uxp';
import { UxpDocumentAdapter, type UxpHost } from '../editor/uxp-document.ts';
import { mountPanel } from '../ui/mount.tsx';

const host: UxpHost = {
  app: photoshop.app as UxpHost['app'],
  core: photoshop.core as UxpHost['core'],
  imaging: photoshop.imaging as UxpHost['imaging'],
  action: photoshop.action as UxpHost['action'],
  constants: photoshop.constants as UxpHost['constants'],
};

let unmount: (() => void) | null = null;

function show(): void {
  if (unmount) return;
  const root = document.getElementById('panel')!;
  unmount = mountPanel(root, new UxpDocumentAdapter(host), { daemonUrl: 'ws://127.0.0.1:7860' });
}

entrypoints.setup({
  panels: {
    'palette.panel': {
      show,
      destroy() {
        unmount?.();
        unmount = null;
      },
    },
  },
});
