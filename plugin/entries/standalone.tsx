/**
 * The standalone browser editor the daemon serves at `/`: the editor (toolbar, canvas, layers) on the
 * left, the Palette panel on the right, talking to the daemon that served the page. A token, when the
 * daemon needs one, can be given in the address: http://host:7860/#token=…
 */
import { createRoot } from 'react-dom/client';
import { StandaloneDocument } from '../editor/standalone-document.ts';
import type { PanelState } from '../state/types.ts';
import { EditorModel, type LayerGroup, type LayerInfo } from '../standalone/document-model.ts';
import { EditorApp } from '../standalone/editor-app.tsx';
import { installHistoryKeys } from '../standalone/history-keys.ts';
import { rectMask } from '../standalone/selection-tools.ts';
import { mountPanel } from '../ui/mount.tsx';
import type { PanelServices } from '../ui/panel-context.ts';

/** Read-only hooks for the browser tests (and for poking at the editor from the console). */
export interface PaletteEditorHooks {
  layers(): LayerInfo[];
  /** Layer i's own pixels (its width × height × 4, straight RGBA), i counted from the bottom. */
  layerPixels(index: number): Uint8Array;
  documentSize(): { width: number; height: number };
  setSelectionRect(x: number, y: number, width: number, height: number): void;
  /** The selection's bounding box, or null when nothing is selected. */
  selectionBounds(): { x: number; y: number; width: number; height: number } | null;
  groups(): LayerGroup[];
  /** The labels Undo and Redo would revert / reapply. */
  history(): { undo: string | null; redo: string | null };
  hasUnsavedLayers(): boolean;
  /** What the page would warn about on leaving, or null. */
  unsavedWork(): string | null;
}

declare global {
  interface Window {
    __paletteEditor?: PaletteEditorHooks;
    /** The panel's store, controller and connection (tests and the console). */
    __palettePanel?: PanelServices;
  }
}

/** Work a reload or closing the tab would lose: unexported layers, a job running, variants not kept. */
function unsavedWork(model: EditorModel, panel: PanelState | undefined): string | null {
  if (model.hasUnsavedLayers) return 'layers that have not been exported';
  if (panel?.job) return 'a generation that is still running';
  const strip = panel?.strip;
  if (strip && strip.results.length > 0 && strip.kept.length === 0) return 'variants that have not been kept';
  return null;
}

const model = new EditorModel();
createRoot(document.getElementById('editor')!).render(<EditorApp model={model} />);

const standaloneDocument = new StandaloneDocument(model);
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? undefined;
mountPanel(document.getElementById('panel')!, standaloneDocument, {
  daemonUrl: `ws://${location.host}`,
  colorScheme: 'dark', // matches the editor's dark chrome
  ...(token ? { token } : {}),
  onReady: (services) => {
    window.__palettePanel = services;
  },
});
installHistoryKeys(window, model);
// The browser shows its own "Leave site?" text; setting returnValue is what makes it ask.
window.addEventListener('beforeunload', (event) => {
  if (unsavedWork(model, window.__palettePanel?.store.getState()) === null) return;
  event.preventDefault();
  event.returnValue = '';
});

window.__paletteEditor = {
  layers: () => model.layerInfo(),
  layerPixels: (index) => {
    const layer = model.layers[index];
    if (!layer) throw new RangeError(`No layer ${index}`);
    return layer.pixels.slice();
  },
  documentSize: () => model.size,
  setSelectionRect: (x, y, width, height) => model.setSelection(rectMask(model.size, { x, y }, { x: x + width, y: y + height })),
  selectionBounds: () => {
    const mask = model.selection;
    if (!mask) return null;
    let left = model.width, top = model.height, right = -1, bottom = -1;
    mask.forEach((v, i) => {
      if (!v) return;
      const x = i % model.width;
      const y = (i - x) / model.width;
      left = Math.min(left, x); right = Math.max(right, x); top = Math.min(top, y); bottom = Math.max(bottom, y);
    });
    return right < 0 ? null : { x: left, y: top, width: right - left + 1, height: bottom - top + 1 };
  },
  groups: () => model.groups.map((g) => ({ ...g })),
  history: () => ({ undo: model.history.undoLabel, redo: model.history.redoLabel }),
  hasUnsavedLayers: () => model.hasUnsavedLayers,
  unsavedWork: () => unsavedWork(model, window.__palettePanel?.store.getState()),
};
