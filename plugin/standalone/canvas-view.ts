/**
 * The standalone editor's view: the ONLY module that touches the DOM canvas API. It draws the
 * composited visible layers (plus the preview) at document resolution — CSS scales the <canvas> to
 * fit — with the selection tinted and outlined by marching ants, and the tool's draft shape (rubber
 * band, lasso path) while the pointer is down. It also decodes opened image files and encodes PNG
 * exports, both of which need a canvas.
 */
import type { RgbaPixels } from '../editor/editor-document.ts';
import type { EditorModel } from './document-model.ts';
import { maskEdges, type Point } from './selection-tools.ts';

export type Draft = { kind: 'rect'; from: Point; to: Point } | { kind: 'lasso'; points: Point[] } | null;

const TINT = [64, 140, 255, 70]; // RGBA over selected pixels
const ANT_PERIOD = 8;
const MAX_ZOOM = 8;

export class CanvasView {
  private readonly backing = document.createElement('canvas');
  /** Tint + ants for each of the two ant phases. */
  private overlays: [HTMLCanvasElement, HTMLCanvasElement] | null = null;
  private phase = 0;
  private draft: Draft = null;
  private renderedVersion = -1;
  private frame = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver | null;

  /** `container`: the element the canvas is scaled to fit (up to MAX_ZOOM×, keeping the aspect ratio). */
  constructor(readonly canvas: HTMLCanvasElement, private readonly model: EditorModel, private readonly container?: HTMLElement) {
    this.unsubscribe = model.subscribe(() => this.schedule());
    this.resizeObserver = container && typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.fit()) : null;
    if (container) this.resizeObserver?.observe(container);
    this.timer = setInterval(() => {
      if (!this.overlays) return;
      this.phase ^= 1;
      this.schedule();
    }, 300);
    this.schedule();
  }

  dispose(): void {
    this.resizeObserver?.disconnect();
    clearInterval(this.timer);
    cancelAnimationFrame(this.frame);
    this.unsubscribe();
  }

  setDraft(draft: Draft): void {
    this.draft = draft;
    this.schedule();
  }

  /** Document coordinates (fractional) of a pointer event position. */
  toDocument(clientX: number, clientY: number): Point {
    const rect = this.canvas.getBoundingClientRect();
    const sx = rect.width > 0 ? this.canvas.width / rect.width : 1;
    const sy = rect.height > 0 ? this.canvas.height / rect.height : 1;
    return { x: (clientX - rect.left) * sx, y: (clientY - rect.top) * sy };
  }

  /** Sets the canvas's CSS size: the document scaled to fit the container. */
  private fit(): void {
    if (!this.container || !this.model.hasDocument) return;
    const style = getComputedStyle(this.container);
    const width = this.container.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = this.container.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (width <= 0 || height <= 0) return;
    const scale = Math.min(MAX_ZOOM, width / this.model.width, height / this.model.height);
    this.canvas.style.width = `${Math.floor(this.model.width * scale)}px`;
    this.canvas.style.height = `${Math.floor(this.model.height * scale)}px`;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const { model, canvas } = this;
    if (!model.hasDocument) {
      canvas.width = 1;
      canvas.height = 1;
      return;
    }
    if (this.renderedVersion !== model.version) {
      this.renderedVersion = model.version;
      this.backing.width = model.width;
      this.backing.height = model.height;
      putRgba(this.backing, model.composite(true));
      this.overlays = model.selection ? buildOverlays(model.selection, model.width, model.height) : null;
    }
    if (canvas.width !== model.width || canvas.height !== model.height) {
      canvas.width = model.width;
      canvas.height = model.height;
      this.fit();
    }
    const ctx = context(canvas);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(this.backing, 0, 0);
    if (this.overlays) ctx.drawImage(this.overlays[this.phase as 0 | 1], 0, 0);
    this.drawDraft(ctx);
  }

  private drawDraft(ctx: CanvasRenderingContext2D): void {
    const draft = this.draft;
    if (!draft) return;
    const lineWidth = Math.max(1, this.canvas.width / Math.max(1, this.canvas.getBoundingClientRect().width));
    ctx.save();
    ctx.lineWidth = lineWidth;
    ctx.beginPath();
    if (draft.kind === 'rect') {
      ctx.rect(Math.min(draft.from.x, draft.to.x), Math.min(draft.from.y, draft.to.y),
        Math.abs(draft.to.x - draft.from.x), Math.abs(draft.to.y - draft.from.y));
    } else {
      draft.points.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    }
    ctx.strokeStyle = '#000';
    ctx.setLineDash([4 * lineWidth, 4 * lineWidth]);
    ctx.stroke();
    ctx.strokeStyle = '#fff';
    ctx.lineDashOffset = 4 * lineWidth;
    ctx.stroke();
    ctx.restore();
  }
}

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser has no 2D canvas');
  return ctx;
}

function putRgba(canvas: HTMLCanvasElement, image: RgbaPixels): void {
  const clamped = new Uint8ClampedArray(image.data.length);
  clamped.set(image.data);
  const data = new ImageData(clamped, image.width, image.height);
  context(canvas).putImageData(data, 0, 0);
}

/** Two overlay images (ants in opposite phases): a tint over the selection and its edge pixels dashed. */
function buildOverlays(mask: Uint8Array, width: number, height: number): [HTMLCanvasElement, HTMLCanvasElement] {
  const tint = new Uint8Array(width * height * 4);
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i]!;
    if (m === 0) continue;
    tint[i * 4] = TINT[0]!; tint[i * 4 + 1] = TINT[1]!; tint[i * 4 + 2] = TINT[2]!;
    tint[i * 4 + 3] = Math.round((TINT[3]! * m) / 255);
  }
  const edges = maskEdges(mask, { width, height });
  return [0, 1].map((phase) => {
    const data = tint.slice();
    for (const i of edges) {
      const x = i % width;
      const y = (i - x) / width;
      const on = (Math.floor((x + y) / (ANT_PERIOD / 2)) + phase) % 2 === 0 ? 0 : 255;
      data[i * 4] = on; data[i * 4 + 1] = on; data[i * 4 + 2] = on; data[i * 4 + 3] = 255;
    }
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    putRgba(canvas, { width, height, data });
    return canvas;
  }) as [HTMLCanvasElement, HTMLCanvasElement];
}

/** Decodes an image file (PNG, JPEG, WebP…) to straight RGBA at its own size. */
export async function decodeImageFile(file: Blob): Promise<RgbaPixels> {
  const bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  try {
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = context(canvas);
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: pixels.width, height: pixels.height, data: new Uint8Array(pixels.data.buffer) };
  } finally {
    bitmap.close();
  }
}

/** Encodes RGBA as a PNG blob. */
export async function encodePng(image: RgbaPixels): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  putRgba(canvas, image);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
}
