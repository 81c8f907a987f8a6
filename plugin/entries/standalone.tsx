/**
 * The standalone browser editor the daemon serves at `/`: the editor (toolbar, canvas, layers) on the
 * left, the Palette panel on the right, talking to the daemon that served the page. A token, when the
 * daemon needs one, can be given in the address: http://host:7860/#token=…
 */
import { createRoot } from 'react-dom/client';
import { StandaloneDocument } from '../editor/standalone-document.ts';
import { EditorModel, type LayerInfo } from '../standalone/document-model.ts';
import { EditorApp } from '../standalone/editor-app.tsx';
import { rectMask } from '../standalone/selection-tools.ts';
import { mountPanel } from '../ui/mount.tsx';

/** Read-only hooks for the browser tests (and for poking at the editor from the console). */
export interface PaletteEditorHooks {
  layers(): LayerInfo[];
  /** Layer i's own pixels (its width × height × 4, straight RGBA), i counted from the bottom. */
  layerPixels(index: number): Uint8Array;
  documentSize(): { width: number; height: number };
  setSelectionRect(x: number, y: number, width: number, height: number): void;
  /** The selection's bounding box, or null when nothing is selected. */
  selectionBounds(): { x: number; y: number; width: number; height: number } | null;
}

declare global {
  interface Window {
    __paletteEditor?: PaletteEditorHooks;
  }
}

const model = new EditorModel();
createRoot(document.getElementById('editor')!).render(<EditorApp model={model} />);

const standaloneDocument = new StandaloneDocument(model);
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? undefined;
mountPanel(document.getElementById('panel')!, standaloneDocument, {
  daemonUrl: `ws://${location.host}`,
  colorScheme: 'dark', // matches the editor's dark chrome
  ...(token ? { token } : {}),
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
};
