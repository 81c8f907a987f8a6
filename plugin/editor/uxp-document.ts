/**
 * EditorDocument for Photoshop (UXP). The host modules (`require('photoshop')`'s app, core, imaging,
 * action and constants) are injected by plugin/entries/uxp.tsx, so this file never imports them and
 * the tests pass fakes that follow the documented signatures (Photoshop UXP reference: Imaging API,
 * executeAsModal, Document, Layer).
 *
 * Every call runs inside `core.executeAsModal`; every change to the document also suspends history,
 * so each action is one history step and a failure rolls it back. Our only temporary layer, the
 * preview, is remembered by (document id, layer id): nothing else is ever deleted, and the user's
 * layers are never written to — results go to layers we create.
 */
import {
  EditorError,
  type CanvasResize, type EditorDocument, type MaskPixels, type NewLayer, type PlacedImage, type RgbaPixels, type Size,
} from './editor-document.ts';
import { decodePng } from './png-decode.ts';
import { canvasSteps, cropToCanvas, type AnchorName } from './pixel-geometry.ts';

// ---- The parts of the `photoshop` module we use, as documented -------------------------------

export interface UxpBounds { left: number; top: number; right: number; bottom: number }

export interface UxpImageData {
  width: number;
  height: number;
  components: number;
  getData(options?: { chunky?: boolean }): Promise<ArrayLike<number>>;
  dispose(): void | Promise<void>;
}

export interface UxpLayer {
  readonly id: number;
  readonly name: string;
  /** Child layers when this is a group. */
  readonly layers?: ArrayLike<UxpLayer> | null;
  /** Extent of the layer's pixels; zero-sized for an empty layer. */
  readonly bounds?: UxpBounds;
  delete(): Promise<void> | void;
}

/**
 * The document, generic in its layer type `L`: layers the host hands out (createPixelLayer) are
 * handed back to it (createLayerGroup's fromLayers), so the real host is checked with its own Layer
 * (plugin/entries/uxp.tsx, against @types/photoshop) and the fakes with theirs.
 */
export interface UxpDocument<L extends UxpLayer = UxpLayer> {
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly layers: ArrayLike<L>;
  readonly activeLayers: ArrayLike<L>;
  /** Photoshop 25.0+: `bounds` is null when nothing is selected. */
  readonly selection?: { readonly bounds: UxpBounds | null } | null;
  createPixelLayer(options: { name: string }): Promise<L | null>;
  createLayerGroup(options: { name?: string; fromLayers?: L | L[] }): Promise<L | null>;
  resizeCanvas(width: number, height: number, anchor?: string): Promise<void>;
}

/** What suspendHistory hands back and resumeHistory takes (an object, not a bare id). */
export interface UxpHistorySuspension { historySuspensionID: number }

export interface UxpExecutionContext {
  readonly isCancelled?: boolean;
  readonly hostControl: {
    suspendHistory(options: { documentID: number; name: string }): Promise<UxpHistorySuspension>;
    resumeHistory(suspension: UxpHistorySuspension, commit?: boolean): Promise<void>;
  };
}

/** The host modules, generic in the layer and image-data types they hand out and take back (`L`, `I`). */
export interface UxpHost<L extends UxpLayer = UxpLayer, I extends UxpImageData = UxpImageData> {
  app: { readonly activeDocument: UxpDocument<L> | null };
  core: {
    executeAsModal<T>(target: (context: UxpExecutionContext) => Promise<T>, options: { commandName: string }): Promise<T>;
  };
  imaging: {
    getPixels(options: {
      documentID: number; layerID?: number; sourceBounds?: UxpBounds; targetSize?: { width?: number; height?: number };
      componentSize?: 8 | 16 | 32; applyAlpha?: boolean; colorSpace?: string; colorProfile?: string;
    }): Promise<{ imageData: I; sourceBounds: UxpBounds; level?: number }>;
    getSelection(options: { documentID: number; sourceBounds?: UxpBounds }): Promise<{ imageData: I; sourceBounds: UxpBounds }>;
    putPixels(options: {
      documentID: number; layerID: number; imageData: I; replace?: boolean;
      /** The full rectangle: @types/photoshop's PutPixelsOptions takes Bounds, not a bare corner. */
      targetBounds?: UxpBounds; commandName?: string;
    }): Promise<void>;
    createImageDataFromBuffer(data: Uint8Array, options: {
      width: number; height: number; components: number; chunky?: boolean; colorSpace: string; colorProfile?: string;
    }): Promise<I>;
  };
  action: { batchPlay(descriptors: object[], options: object): Promise<unknown[]> };
  /** `require('photoshop').constants`; only AnchorPosition is used. Defaults to the documented values. */
  constants?: { AnchorPosition: Record<AnchorName, string> };
}

const DEFAULT_ANCHORS: Record<AnchorName, string> = {
  TOPLEFT: 'topLeft', TOPCENTER: 'topCenter', TOPRIGHT: 'topRight',
  MIDDLELEFT: 'middleLeft', MIDDLECENTER: 'middleCenter', MIDDLERIGHT: 'middleRight',
  BOTTOMLEFT: 'bottomLeft', BOTTOMCENTER: 'bottomCenter', BOTTOMRIGHT: 'bottomRight',
};

export const SRGB_PROFILE = 'sRGB IEC61966-2.1';
export const PREVIEW_LAYER_NAME = 'Palette preview';

export class UxpDocumentAdapter<L extends UxpLayer = UxpLayer, I extends UxpImageData = UxpImageData> implements EditorDocument {
  readonly host = 'photoshop' as const;
  private preview: { documentID: number; layerID: number } | null = null;
  private readonly anchors: Record<AnchorName, string>;

  constructor(private readonly ps: UxpHost<L, I>) {
    this.anchors = ps.constants?.AnchorPosition ?? DEFAULT_ANCHORS;
  }

  async hasDocument(): Promise<boolean> {
    return this.activeDocument() !== null;
  }

  /** Photoshop's document id: another open or switched-to document has another one. */
  async documentId(): Promise<string | null> {
    const doc = this.activeDocument();
    return doc ? `photoshop-${doc.id}` : null;
  }

  async documentSize(): Promise<Size> {
    const doc = this.requireDocument();
    return { width: Math.round(doc.width), height: Math.round(doc.height) };
  }

  async readActiveLayer(): Promise<RgbaPixels> {
    const doc = this.requireDocument();
    const layer = doc.activeLayers[0];
    if (!layer) throw new EditorError('NO_ACTIVE_LAYER', 'Select a layer in Photoshop first.');
    const size = await this.documentSize();
    const b = layer.bounds;
    if (b && (b.right <= b.left || b.bottom <= b.top)) {
      // getPixels has nothing to return for an empty layer; it is simply transparent.
      return { width: size.width, height: size.height, data: new Uint8Array(size.width * size.height * 4) };
    }
    return this.modal('Palette: read layer', async () => {
      const { imageData, sourceBounds } = await this.ps.imaging.getPixels({
        documentID: doc.id, layerID: layer.id, componentSize: 8, applyAlpha: false,
        colorSpace: 'RGB', colorProfile: SRGB_PROFILE,
      });
      try {
        const data = await imageData.getData({ chunky: true });
        return placeRgba(data, imageData.width, imageData.height, imageData.components, sourceBounds, size);
      } finally {
        await imageData.dispose();
      }
    });
  }

  async readSelection(): Promise<MaskPixels | null> {
    const doc = this.requireDocument();
    const size = await this.documentSize();
    const selection = doc.selection;
    if (selection !== undefined && (selection === null || selection.bounds === null)) return null;
    return this.modal('Palette: read selection', async () => {
      const { imageData, sourceBounds } = await this.ps.imaging.getSelection({
        documentID: doc.id, ...(selection?.bounds ? { sourceBounds: selection.bounds } : {}),
      });
      try {
        const data = await imageData.getData({ chunky: true });
        const mask = placeGray(data, imageData.width, imageData.height, sourceBounds, size);
        // Before Photoshop 25 there is no selection.bounds: an all-black mask means "no selection".
        return mask.data.some((v) => v !== 0) ? mask : null;
      } finally {
        await imageData.dispose();
      }
    });
  }

  async showPreview(image: PlacedImage): Promise<void> {
    const doc = this.requireDocument();
    const pixels = await decodePng(image.png);
    const previousActive = Array.from({ length: doc.activeLayers.length }, (_, i) => doc.activeLayers[i]!.id);
    await this.modify(doc, 'Palette preview', async () => {
      await this.deletePreview(doc);
      const layer = await this.createLayer(doc, PREVIEW_LAYER_NAME, image, pixels);
      this.preview = { documentID: doc.id, layerID: layer.id };
      // createPixelLayer makes the new layer active; give the user their selection back so the next
      // read (and the next Keep) uses their layer, not the preview.
      if (previousActive.length > 0) {
        await this.ps.action.batchPlay(
          [{ _obj: 'select', _target: previousActive.map((id) => ({ _ref: 'layer', _id: id })), makeVisible: false }],
          {},
        );
      }
    });
  }

  async clearPreview(): Promise<void> {
    const doc = this.activeDocument();
    if (!doc || !this.preview || this.preview.documentID !== doc.id) {
      if (!doc) this.preview = null;
      return;
    }
    if (!findLayer(doc.layers, this.preview.layerID)) {
      this.preview = null; // the user deleted it (or undid its creation)
      return;
    }
    await this.modify(doc, 'Palette: remove preview', () => this.deletePreview(doc));
  }

  async addLayer(layer: NewLayer): Promise<void> {
    const doc = this.requireDocument();
    const pixels = await decodePng(layer.png);
    await this.modify(doc, layer.name, async () => {
      await this.createLayer(doc, layer.name, layer, pixels);
    });
  }

  async addLayerGroup(groupName: string, layers: NewLayer[]): Promise<void> {
    const doc = this.requireDocument();
    const decoded = await Promise.all(layers.map((l) => decodePng(l.png)));
    await this.modify(doc, groupName, async () => {
      const created: L[] = [];
      for (const [i, layer] of layers.entries()) created.push(await this.createLayer(doc, layer.name, layer, decoded[i]!));
      const group = await doc.createLayerGroup({ name: groupName, fromLayers: created });
      if (!group) throw new EditorError('HOST_ERROR', `Photoshop did not create the group "${groupName}".`);
    });
  }

  async resizeCanvas(resize: CanvasResize): Promise<void> {
    const doc = this.requireDocument();
    const old = await this.documentSize();
    const steps = canvasSteps(old, resize);
    await this.modify(doc, 'Palette: extend canvas', async () => {
      for (const step of steps) await doc.resizeCanvas(step.width, step.height, this.anchors[step.anchor]);
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private activeDocument(): UxpDocument<L> | null {
    try {
      return this.ps.app.activeDocument ?? null;
    } catch {
      return null; // some Photoshop versions throw instead of returning null when no document is open
    }
  }

  private requireDocument(): UxpDocument<L> {
    const doc = this.activeDocument();
    if (!doc) throw new EditorError('NO_DOCUMENT', 'Open a document in Photoshop first.');
    return doc;
  }

  /** A read-only modal scope (the Imaging API may only run inside one). */
  private modal<T>(commandName: string, target: () => Promise<T>): Promise<T> {
    return hostCall(() => this.ps.core.executeAsModal(() => target(), { commandName }));
  }

  /** A modal scope whose changes become one history step named `name`, rolled back on failure. */
  private modify<T>(doc: UxpDocument<L>, name: string, target: () => Promise<T>): Promise<T> {
    return hostCall(() => this.ps.core.executeAsModal(async (context) => {
      const suspension = await context.hostControl.suspendHistory({ documentID: doc.id, name });
      let result: T;
      try {
        result = await target();
      } catch (error) {
        await context.hostControl.resumeHistory(suspension, false).catch(() => undefined);
        throw error;
      }
      await context.hostControl.resumeHistory(suspension, true);
      return result;
    }, { commandName: name }));
  }

  private async deletePreview(doc: UxpDocument<L>): Promise<void> {
    if (!this.preview || this.preview.documentID !== doc.id) return;
    const layer = findLayer(doc.layers, this.preview.layerID);
    this.preview = null;
    if (layer) await layer.delete();
  }

  /** A new pixel layer holding `pixels` at (x, y), cropped to the canvas. */
  private async createLayer(doc: UxpDocument<L>, name: string, at: { x: number; y: number }, pixels: RgbaPixels): Promise<L> {
    const layer = await doc.createPixelLayer({ name });
    if (!layer) throw new EditorError('HOST_ERROR', `Photoshop did not create the layer "${name}".`);
    const crop = cropToCanvas(pixels, at.x, at.y, { width: Math.round(doc.width), height: Math.round(doc.height) });
    if (!crop) return layer; // entirely outside the canvas: an empty layer
    const imageData = await this.ps.imaging.createImageDataFromBuffer(crop.data, {
      width: crop.width, height: crop.height, components: 4, chunky: true, colorSpace: 'RGB', colorProfile: SRGB_PROFILE,
    });
    try {
      await this.ps.imaging.putPixels({
        documentID: doc.id, layerID: layer.id, imageData, replace: true,
        targetBounds: { left: crop.left, top: crop.top, right: crop.left + crop.width, bottom: crop.top + crop.height },
      });
    } finally {
      await imageData.dispose();
    }
    return layer;
  }
}

/** Runs a host call, turning anything that is not already an EditorError into HOST_ERROR. */
async function hostCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof EditorError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const busy = (error as { number?: unknown } | null)?.number === 9;
    throw new EditorError('HOST_ERROR', busy
      ? 'Photoshop is busy with another plugin or dialog; try again.'
      : `Photoshop refused the operation: ${message}`, { cause: error });
  }
}

export function findLayer(layers: ArrayLike<UxpLayer>, id: number): UxpLayer | undefined {
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    if (layer.id === id) return layer;
    const inside = layer.layers ? findLayer(layer.layers, id) : undefined;
    if (inside) return inside;
  }
  return undefined;
}

/** Chunky pixels covering `bounds` (a layer's trimmed extent, possibly past the canvas) → document-size RGBA. */
export function placeRgba(data: ArrayLike<number>, width: number, height: number, components: number,
  bounds: UxpBounds, doc: Size): RgbaPixels {
  const out = new Uint8Array(doc.width * doc.height * 4);
  for (let y = 0; y < height; y++) {
    const dy = bounds.top + y;
    if (dy < 0 || dy >= doc.height) continue;
    for (let x = 0; x < width; x++) {
      const dx = bounds.left + x;
      if (dx < 0 || dx >= doc.width) continue;
      const s = (y * width + x) * components;
      const o = (dy * doc.width + dx) * 4;
      if (components >= 3) {
        out[o] = data[s]!; out[o + 1] = data[s + 1]!; out[o + 2] = data[s + 2]!;
        out[o + 3] = components >= 4 ? data[s + 3]! : 255;
      } else { // grayscale document (componentSize 8, 1 or 2 components)
        out[o] = data[s]!; out[o + 1] = data[s]!; out[o + 2] = data[s]!;
        out[o + 3] = components === 2 ? data[s + 1]! : 255;
      }
    }
  }
  return { width: doc.width, height: doc.height, data: out };
}

/** A one-channel selection covering `bounds` → document-size mask (0 outside the bounds). */
export function placeGray(data: ArrayLike<number>, width: number, height: number, bounds: UxpBounds, doc: Size): MaskPixels {
  const out = new Uint8Array(doc.width * doc.height);
  for (let y = 0; y < height; y++) {
    const dy = bounds.top + y;
    if (dy < 0 || dy >= doc.height) continue;
    for (let x = 0; x < width; x++) {
      const dx = bounds.left + x;
      if (dx >= 0 && dx < doc.width) out[dy * doc.width + dx] = data[y * width + x]!;
    }
  }
  return { width: doc.width, height: doc.height, data: out };
}
