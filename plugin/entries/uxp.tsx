/**
 * The Photoshop (UXP) panel. `photoshop` and `uxp` are host modules, external to the bundle (UXP
 * provides them through require); this entry is where they are imported, and they reach the adapter
 * by injection so the adapter can be tested with fakes.
 */
/// <reference types="@adobe/cc-ext-uxp-types" />
import * as photoshop from 'photoshop';
import { entrypoints } from 'uxp';
import { UxpDocumentAdapter, type UxpHost } from '../editor/uxp-document.ts';
import { mountPanel } from '../ui/mount.tsx';

// The published types (@types/photoshop) check every call the adapter makes: this assignment fails
// the build when UxpHost asks for something Photoshop does not have, or has in another shape.
type PsLayer = NonNullable<typeof photoshop.app.activeDocument>['layers'][number];
type PsImageData = Awaited<ReturnType<typeof photoshop.imaging.createImageDataFromBuffer>>;
const host: UxpHost<PsLayer, PsImageData> = {
  app: photoshop.app,
  core: photoshop.core,
  imaging: photoshop.imaging,
  action: photoshop.action,
  constants: photoshop.constants,
};

let unmount: (() => void) | null = null;

function show(): void {
  if (unmount) return;
  const root = document.getElementById('panel')!;
  unmount = mountPanel(root, new UxpDocumentAdapter(host), { daemonUrl: 'ws://127.0.0.1:7860' });
}

/** The part of `entrypoints.setup` we use, as documented (UXP 7: panels keyed by the manifest's panel id). */
type PanelSetup = (config: { panels: Record<string, { show?(): void; destroy?(): void }> }) => void;

// @adobe/cc-ext-uxp-types 7.3 declares `panels` as an array and `plugin` as required, unlike the API
// it documents (and every sample): the one call is narrowed to the documented shape here.
(entrypoints.setup.bind(entrypoints) as unknown as PanelSetup)({
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
