/**
 * The standalone editor's document: a canvas size, a stack of RGBA layers (index 0 = bottom), the
 * active layer, a selection mask and one temporary preview layer drawn above everything. Pure data
 * and pixel math — no DOM — so the EditorDocument implementation and the view share it and tests
 * can run it in Node. Observers are told after every change (`subscribe`), and `version` increases.
 */
import type { MaskPixels, RgbaPixels, Size } from '../editor/editor-document.ts';

/** What the layer list shows of a layer: everything but its pixels. */
export interface LayerInfo {
  name: string;
  /** Position of the layer's top-left corner in document pixels (may be negative or past the canvas). */
  x: number;
  y: number;
  width: number;
  height: number;
  visible: boolean;
}

export interface EditorLayer extends LayerInfo {
  /** width * height * 4, straight alpha. */
  pixels: Uint8Array;
}

export class EditorModel {
  width = 0;
  height = 0;
  layers: EditorLayer[] = [];
  activeIndex = -1;
  /** Document-size coverage (255 = selected), or null when nothing is selected. */
  selection: Uint8Array | null = null;
  preview: EditorLayer | null = null;
  version = 0;
  private readonly listeners = new Set<() => void>();

  get hasDocument(): boolean {
    return this.width > 0 && this.height > 0;
  }

  get size(): Size {
    return { width: this.width, height: this.height };
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces the document with one layer holding `image`. */
  openImage(name: string, image: RgbaPixels): void {
    this.width = image.width;
    this.height = image.height;
    this.layers = [{ name, x: 0, y: 0, width: image.width, height: image.height, visible: true, pixels: image.data }];
    this.activeIndex = 0;
    this.selection = null;
    this.preview = null;
    this.changed();
  }

  /** Inserts a layer above the active one (or on top) and makes it active; returns its index. */
  addLayer(layer: EditorLayer): number {
    checkLayer(layer);
    const index = this.activeIndex >= 0 ? this.activeIndex + 1 : this.layers.length;
    this.layers.splice(index, 0, layer);
    this.activeIndex = index;
    this.changed();
    return index;
  }

  setActive(index: number): void {
    if (!this.layers[index]) throw new RangeError(`No layer ${index}`);
    this.activeIndex = index;
    this.changed();
  }

  setVisible(index: number, visible: boolean): void {
    const layer = this.layers[index];
    if (!layer) throw new RangeError(`No layer ${index}`);
    layer.visible = visible;
    this.changed();
  }

  /** Sets the selection; an all-zero mask counts as no selection. */
  setSelection(mask: Uint8Array | null): void {
    if (mask && mask.length !== this.width * this.height) throw new RangeError('Selection mask does not match the document');
    this.selection = mask && mask.some((v) => v !== 0) ? mask : null;
    this.changed();
  }

  setPreview(layer: EditorLayer | null): void {
    if (layer) checkLayer(layer);
    this.preview = layer;
    this.changed();
  }

  /** New canvas size; every layer (and the preview and selection) moves by the offset. */
  resizeCanvas(width: number, height: number, offsetX: number, offsetY: number): void {
    if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
      throw new RangeError(`Bad canvas size ${width}×${height}`);
    }
    for (const layer of this.layers) {
      layer.x += offsetX;
      layer.y += offsetY;
    }
    if (this.preview) {
      this.preview.x += offsetX;
      this.preview.y += offsetY;
    }
    if (this.selection) {
      const moved = new Uint8Array(width * height);
      for (let y = 0; y < this.height; y++) {
        const ny = y + offsetY;
        if (ny < 0 || ny >= height) continue;
        for (let x = 0; x < this.width; x++) {
          const nx = x + offsetX;
          if (nx >= 0 && nx < width) moved[ny * width + nx] = this.selection[y * this.width + x]!;
        }
      }
      this.selection = moved.some((v) => v !== 0) ? moved : null;
    }
    this.width = width;
    this.height = height;
    this.changed();
  }

  layerInfo(): LayerInfo[] {
    return this.layers.map(({ name, x, y, width, height, visible }) => ({ name, x, y, width, height, visible }));
  }

  /** A layer's pixels over the document bounds (transparent where the layer has none). */
  layerOnDocument(index: number): RgbaPixels {
    const layer = this.layers[index];
    if (!layer) throw new RangeError(`No layer ${index}`);
    const out = new Uint8Array(this.width * this.height * 4);
    forEachOverlap(layer, this.size, (src, dst, count) => out.set(layer.pixels.subarray(src, src + count * 4), dst));
    return { width: this.width, height: this.height, data: out };
  }

  selectionMask(): MaskPixels | null {
    return this.selection ? { width: this.width, height: this.height, data: this.selection.slice() } : null;
  }

  /** Visible layers (and the preview, when asked) composited "over", straight alpha. */
  composite(includePreview: boolean): RgbaPixels {
    const out = new Uint8Array(this.width * this.height * 4);
    const stack = this.layers.filter((l) => l.visible);
    if (includePreview && this.preview) stack.push(this.preview);
    for (const layer of stack) {
      forEachOverlap(layer, this.size, (src, dst, count) => blendRow(layer.pixels, src, out, dst, count));
    }
    return { width: this.width, height: this.height, data: out };
  }

  private changed(): void {
    this.version++;
    for (const listener of [...this.listeners]) listener();
  }
}

function checkLayer(layer: EditorLayer): void {
  if (layer.pixels.length !== layer.width * layer.height * 4) {
    throw new RangeError(`Layer "${layer.name}" has ${layer.pixels.length} bytes for ${layer.width}×${layer.height}`);
  }
}

/** Calls `row(srcByte, dstByte, pixelCount)` for each row of `layer` that lies on the canvas. */
function forEachOverlap(layer: EditorLayer, doc: Size, row: (src: number, dst: number, count: number) => void): void {
  const left = Math.max(0, layer.x);
  const right = Math.min(doc.width, layer.x + layer.width);
  const top = Math.max(0, layer.y);
  const bottom = Math.min(doc.height, layer.y + layer.height);
  if (right <= left || bottom <= top) return;
  for (let y = top; y < bottom; y++) {
    row(((y - layer.y) * layer.width + (left - layer.x)) * 4, (y * doc.width + left) * 4, right - left);
  }
}

/** Porter-Duff "over" for straight-alpha RGBA8 rows. */
function blendRow(src: Uint8Array, s: number, dst: Uint8Array, d: number, count: number): void {
  for (let i = 0; i < count; i++, s += 4, d += 4) {
    const sa = src[s + 3]!;
    if (sa === 0) continue;
    const da = dst[d + 3]!;
    if (sa === 255 || da === 0) {
      dst[d] = src[s]!; dst[d + 1] = src[s + 1]!; dst[d + 2] = src[s + 2]!; dst[d + 3] = sa;
      continue;
    }
    const a = sa / 255;
    const b = (da / 255) * (1 - a);
    const outA = a + b;
    for (let c = 0; c < 3; c++) dst[d + c] = Math.round((src[s + c]! * a + dst[d + c]! * b) / outA);
    dst[d + 3] = Math.round(outA * 255);
  }
}
