/**
 * The standalone editor's view: the ONLY module that touches the DOM canvas API. The <canvas> fills
 * its container; the document is drawn into it through a Viewport (zoom and pan), smoothed below
 * 100 % and pixel-exact above. Two offscreen canvases at document resolution hold the composited
 * layers and the selection overlay (tint + marching ants); a brush move repaints only the pixels it
 * touched in the overlay and only their rectangle on screen, so strokes stay interactive on
 * 24-megapixel photos. The composite is rebuilt only when layer pixels change, not on selection
 * changes. It also decodes opened image files and encodes exports, both of which need a canvas.
 */
import type { RgbaPixels, Size } from '../editor/editor-document.ts';
import type { EditorLayer, EditorModel } from './document-model.ts';
import type { ExportFormat } from './export-image.ts';
import { clipRect, unionRect, type PixelRect } from './pixel-rect.ts';
import { antWidthFor, paintSelectionOverlay } from './selection-overlay.ts';
import type { Point } from './selection-tools.ts';
import {
  actualSizeViewport, fitViewport, panBy, rectOnScreen, screenToDocument, zoomAbout, type Viewport,
} from './viewport.ts';

export type Draft = { kind: 'rect'; from: Point; to: Point } | { kind: 'lasso'; points: Point[] } | null;

const ANT_INTERVAL_MS = 300;

export class CanvasView {
  /** Called after every zoom or pan (and refit), e.g. to show the zoom level. */
  onViewportChange: ((view: Viewport) => void) | null = null;
  private readonly composite = document.createElement('canvas');
  /** Selection overlay in each of the two ant phases, at document resolution; null without a selection. */
  private overlays: [HTMLCanvasElement, HTMLCanvasElement] | null = null;
  /** The mask the overlays show: the model's selection, or the brush stroke in progress. */
  private overlayMask: Uint8Array | null = null;
  private strokeMask: Uint8Array | null = null;
  /** The ants' width in document pixels the overlays were painted with (antWidthFor the zoom). */
  private antWidth = 1;
  private compositeKey = '';
  private documentKey = '';
  private view: Viewport | null = null;
  /** True until the user zooms or pans: resizing the window then refits. */
  private fitted = true;
  private area: Size = { width: 0, height: 0 };
  private phase: 0 | 1 = 0;
  private draft: Draft = null;
  private fullRedraw = true;
  /** Document pixels to repaint on screen at the next frame when no full redraw is due. */
  private dirty: PixelRect | null = null;
  private frame = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver | null;

  /** `container`: the element whose content box the canvas fills. */
  constructor(readonly canvas: HTMLCanvasElement, private readonly model: EditorModel, private readonly container: HTMLElement) {
    this.unsubscribe = model.subscribe(() => this.invalidate());
    this.resizeObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.resize()) : null;
    this.resizeObserver?.observe(container);
    this.timer = setInterval(() => {
      // Ants hold still while a brush stroke is drawn, so every frame of the stroke stays small.
      if (!this.overlays || this.strokeMask) return;
      this.phase = this.phase === 0 ? 1 : 0;
      this.invalidate();
    }, ANT_INTERVAL_MS);
    this.resize();
  }

  dispose(): void {
    this.resizeObserver?.disconnect();
    clearInterval(this.timer);
    cancelAnimationFrame(this.frame);
    this.unsubscribe();
  }

  get viewport(): Viewport | null {
    return this.view;
  }

  setDraft(draft: Draft): void {
    this.draft = draft;
    this.invalidate();
  }

  /**
   * Shows `mask`, the stroke's own copy of `copiedFrom` (the selection, or null for an empty mask),
   * instead of the model's selection. When the overlay already shows that content it is kept as it
   * is, so starting a stroke on a 24-megapixel photo repaints nothing.
   */
  beginStroke(mask: Uint8Array, copiedFrom: Uint8Array | null): void {
    this.strokeMask = mask;
    if (copiedFrom && copiedFrom === this.overlayMask) this.overlayMask = mask;
    else if (!copiedFrom && !this.overlayMask && this.model.hasDocument) {
      this.overlays = [blankCanvas(this.model.size, this.overlays?.[0]), blankCanvas(this.model.size, this.overlays?.[1])];
      this.overlayMask = mask;
    }
    this.invalidate();
  }

  /** The stroke mask changed inside `rect`: repaint just that. */
  strokeChanged(rect: PixelRect | null): void {
    if (!rect || !this.strokeMask || this.overlayMask !== this.strokeMask || !this.overlays) {
      this.invalidate();
      return;
    }
    this.paintOverlay(rect);
    this.dirty = unionRect(this.dirty, rect);
    this.schedule();
  }

  endStroke(): void {
    this.strokeMask = null;
    this.invalidate();
  }

  /** Document coordinates (fractional) of a pointer position. */
  toDocument(clientX: number, clientY: number): Point {
    return screenToDocument(this.view ?? { scale: 1, originX: 0, originY: 0 }, this.toLocal(clientX, clientY));
  }

  /** Zoom to `scale` about a pointer position (default: the middle of the view). */
  zoomTo(scale: number, client?: Point): void {
    if (!this.view) return;
    const about = client ? this.toLocal(client.x, client.y) : { x: this.area.width / 2, y: this.area.height / 2 };
    this.setViewport(zoomAbout(this.view, scale, about), false);
  }

  zoomBy(factor: number, client?: Point): void {
    if (this.view) this.zoomTo(this.view.scale * factor, client);
  }

  fit(): void {
    if (this.model.hasDocument) this.setViewport(fitViewport(this.model.size, this.area), true);
  }

  actualSize(client?: Point): void {
    if (!this.view) return;
    this.setViewport(actualSizeViewport(this.view, this.area, client && this.toLocal(client.x, client.y)), false);
  }

  /** Pans by a pointer movement in CSS pixels. */
  panBy(dx: number, dy: number): void {
    if (this.view) this.setViewport(panBy(this.view, dx, dy, this.model.size, this.area), false);
  }

  private toLocal(clientX: number, clientY: number): Point {
    const rect = this.canvas.getBoundingClientRect();
    return { x: clientX - rect.left, y: clientY - rect.top };
  }

  private setViewport(view: Viewport, fitted: boolean): void {
    this.view = view;
    this.fitted = fitted;
    this.onViewportChange?.(view);
    this.invalidate();
  }

  private resize(): void {
    const style = getComputedStyle(this.container);
    const width = Math.max(0, this.container.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
    const height = Math.max(0, this.container.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom));
    this.area = { width, height };
    const ratio = window.devicePixelRatio || 1;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    if (this.fitted) this.fit();
    this.invalidate();
  }

  private invalidate(): void {
    this.fullRedraw = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Brings the viewport and the offscreen canvases up to date with the model. */
  private sync(): void {
    const { model } = this;
    const documentKey = `${model.width}×${model.height}`;
    if (documentKey !== this.documentKey) {
      this.documentKey = documentKey;
      this.view = null;
      this.fitted = true;
      this.fit();
    }
    const compositeKey = compositeSignature(model);
    if (compositeKey !== this.compositeKey) {
      this.compositeKey = compositeKey;
      this.composite.width = model.width;
      this.composite.height = model.height;
      putRgba(this.composite, model.composite(true), 0, 0);
    }
    // The tint would hide a previewed fill, so the selection is not shown while a variant is previewed.
    const mask = this.strokeMask ?? (model.preview ? null : model.selection);
    const antWidth = antWidthFor(this.view?.scale ?? 1);
    if (mask !== this.overlayMask || (mask && antWidth !== this.antWidth)) {
      this.overlayMask = mask;
      this.antWidth = antWidth;
      this.overlays = mask ? [sizedCanvas(model.size, this.overlays?.[0]), sizedCanvas(model.size, this.overlays?.[1])] : null;
      if (mask) this.paintOverlay({ x: 0, y: 0, width: model.width, height: model.height });
    }
  }

  private paintOverlay(rect: PixelRect): void {
    // Pixels up to the ants' width from the change may gain or lose ants.
    const area = clipRect(rect, this.model.size, this.antWidth);
    if (!area || !this.overlayMask || !this.overlays) return;
    const [even, odd] = paintSelectionOverlay(this.overlayMask, this.model.size, area, this.antWidth);
    putRaw(this.overlays[0], even, area);
    putRaw(this.overlays[1], odd, area);
  }

  private draw(): void {
    const ctx = context(this.canvas);
    const ratio = this.canvas.width / Math.max(1, this.area.width);
    if (!this.model.hasDocument) {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      this.documentKey = '';
      return;
    }
    if (this.fullRedraw) this.sync();
    const view = this.view;
    if (!view) return;
    const region = this.fullRedraw ? null : this.dirty;
    this.fullRedraw = false;
    this.dirty = null;
    ctx.save();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (region) {
      const r = rectOnScreen(view, region);
      const x = Math.floor(r.x) - 1, y = Math.floor(r.y) - 1;
      ctx.beginPath();
      ctx.rect(x, y, Math.ceil(r.x + r.width) + 1 - x, Math.ceil(r.y + r.height) + 1 - y);
      ctx.clip();
    }
    ctx.clearRect(0, 0, this.area.width, this.area.height);
    ctx.setTransform(ratio * view.scale, 0, 0, ratio * view.scale, ratio * view.originX, ratio * view.originY);
    // Below 100 % average the pixels (no aliasing); above, show them as crisp squares.
    ctx.imageSmoothingEnabled = view.scale < 1;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.composite, 0, 0);
    if (this.overlays) {
      ctx.imageSmoothingQuality = 'low'; // the overlay changes every brush move: no mipmaps to rebuild
      ctx.drawImage(this.overlays[this.phase], 0, 0);
    }
    ctx.restore();
    if (!region) this.drawDraft(ctx, ratio, view);
  }

  private drawDraft(ctx: CanvasRenderingContext2D, ratio: number, view: Viewport): void {
    const draft = this.draft;
    if (!draft) return;
    ctx.save();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const screen = (p: Point) => ({ x: p.x * view.scale + view.originX, y: p.y * view.scale + view.originY });
    ctx.lineWidth = 1;
    ctx.beginPath();
    if (draft.kind === 'rect') {
      const a = screen(draft.from), b = screen(draft.to);
      ctx.rect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
    } else {
      draft.points.map(screen).forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    }
    ctx.strokeStyle = '#000';
    ctx.setLineDash([4, 4]);
    ctx.stroke();
    ctx.strokeStyle = '#fff';
    ctx.lineDashOffset = 4;
    ctx.stroke();
    ctx.restore();
  }
}

/**
 * Everything the composite depends on: the size, and each layer's pixel buffer (by identity — the
 * editor replaces a layer's pixels rather than writing into them), placement and visibility, and
 * the preview's, and the groups' visibility. Selection changes leave it unchanged, so they never
 * recomposite.
 */
function compositeSignature(model: EditorModel): string {
  const layer = (l: EditorLayer) =>
    `${bufferId(l.pixels)}@${l.x},${l.y},${l.width}x${l.height}${l.visible ? '' : '-hidden'} in ${l.groupId ?? '-'}`;
  const groups = model.groups.map((g) => `group ${g.id}${g.visible ? '' : '-hidden'}`);
  return [`${model.width}×${model.height}`, ...model.layers.map(layer), ...groups, model.preview ? `preview ${layer(model.preview)}` : ''].join(';');
}

const bufferIds = new WeakMap<Uint8Array, number>();
let nextBufferId = 1;
function bufferId(buffer: Uint8Array): number {
  let id = bufferIds.get(buffer);
  if (id === undefined) bufferIds.set(buffer, (id = nextBufferId++));
  return id;
}

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser has no 2D canvas');
  return ctx;
}

/** `reuse` resized to `size` (a fresh canvas when there is none); its pixels are then undefined. */
function sizedCanvas(size: Size, reuse?: HTMLCanvasElement): HTMLCanvasElement {
  const canvas = reuse ?? document.createElement('canvas');
  if (canvas.width !== size.width || canvas.height !== size.height) {
    canvas.width = size.width;
    canvas.height = size.height;
  }
  return canvas;
}

function blankCanvas(size: Size, reuse?: HTMLCanvasElement): HTMLCanvasElement {
  const canvas = sizedCanvas(size, reuse);
  context(canvas).clearRect(0, 0, size.width, size.height);
  return canvas;
}

function putRaw(canvas: HTMLCanvasElement, data: Uint8ClampedArray<ArrayBuffer>, at: PixelRect): void {
  context(canvas).putImageData(new ImageData(data, at.width, at.height), at.x, at.y);
}

function putRgba(canvas: HTMLCanvasElement, image: RgbaPixels, x: number, y: number): void {
  const { buffer, byteOffset, length } = image.data;
  // A view, not a copy: a 24-megapixel composite is 96 MB.
  const clamped = buffer instanceof ArrayBuffer ? new Uint8ClampedArray(buffer, byteOffset, length) : Uint8ClampedArray.from(image.data);
  putRaw(canvas, clamped, { x, y, width: image.width, height: image.height });
}

/** Decodes an image file (PNG, JPEG, WebP…) to straight RGBA at its own size. */
export async function decodeImageFile(file: Blob): Promise<RgbaPixels> {
  const bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  try {
    const canvas = sizedCanvas(bitmap);
    const ctx = context(canvas);
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: pixels.width, height: pixels.height, data: new Uint8Array(pixels.data.buffer) };
  } finally {
    bitmap.close();
  }
}

/** Encodes RGBA as PNG, JPEG or WebP; `quality` (0–1) applies to the lossy two. */
export async function encodeImage(image: RgbaPixels, format: ExportFormat, quality: number): Promise<Blob> {
  const canvas = sizedCanvas(image);
  putRgba(canvas, image, 0, 0);
  if (format.mime === 'image/jpeg') {
    // JPEG has no alpha: flatten onto white, as other editors do, instead of onto black.
    const ctx = context(canvas);
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, image.width, image.height);
  }
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob && blob.type === format.mime ? resolve(blob) : reject(new Error(`${format.label} encoding failed`))),
      format.mime, quality);
  });
}

/** Encodes RGBA as a PNG blob. */
export function encodePng(image: RgbaPixels): Promise<Blob> {
  return encodeImage(image, { id: 'png', label: 'PNG', mime: 'image/png', extension: 'png', lossy: false }, 1);
}
