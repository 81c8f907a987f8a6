/**
 * Zoom and pan of the standalone editor's view as pure math. A viewport maps document pixels to
 * CSS pixels of the canvas element: screen = document × scale + origin. Zooming keeps the document
 * point under the cursor where it is, and the initial (Fit) view never enlarges a small photo: above
 * 100 % only on purpose.
 */
import type { Size } from '../editor/editor-document.ts';
import type { Point } from './selection-tools.ts';
import { clipRect, type PixelRect } from './pixel-rect.ts';

export interface Viewport {
  /** CSS pixels per document pixel. */
  scale: number;
  /** Where document (0, 0) lies, in CSS pixels from the canvas element's top-left corner. */
  originX: number;
  originY: number;
}

export const MIN_SCALE = 1 / 64;
export const MAX_SCALE = 32;
/** One +/- key press or zoom button: a factor of √2, so two presses double. */
export const ZOOM_STEP = Math.SQRT2;
/** Space kept free around the document when fitting it. */
const FIT_MARGIN = 12;
/** How much of the document stays on screen however far it is panned. */
const KEEP_VISIBLE = 48;

export function clampScale(scale: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

/** The whole document centred in `area`, never above 100 %. */
export function fitViewport(doc: Size, area: Size): Viewport {
  const room = { width: Math.max(1, area.width - 2 * FIT_MARGIN), height: Math.max(1, area.height - 2 * FIT_MARGIN) };
  return centred(doc, area, clampScale(Math.min(1, room.width / doc.width, room.height / doc.height)));
}

/** 100 %, keeping the document point now at `about` (default: the area's centre) where it is. */
export function actualSizeViewport(view: Viewport, area: Size, about?: Point): Viewport {
  return zoomAbout(view, 1, about ?? { x: area.width / 2, y: area.height / 2 });
}

/** The viewport at `scale` with the document point under `screen` still under it. */
export function zoomAbout(view: Viewport, scale: number, screen: Point): Viewport {
  const next = clampScale(scale);
  const doc = screenToDocument(view, screen);
  return { scale: next, originX: screen.x - doc.x * next, originY: screen.y - doc.y * next };
}

/** Zoom by a wheel delta (pixels, as WheelEvent.deltaY in DOM_DELTA_PIXEL mode): 100 px ≈ ×1.22. */
export function wheelZoomFactor(deltaY: number): number {
  return Math.exp(-deltaY * 0.002);
}

/** Moves the view, keeping at least a strip of the document on screen. */
export function panBy(view: Viewport, dx: number, dy: number, doc: Size, area: Size): Viewport {
  const w = doc.width * view.scale;
  const h = doc.height * view.scale;
  const keepX = Math.min(KEEP_VISIBLE, w);
  const keepY = Math.min(KEEP_VISIBLE, h);
  return {
    scale: view.scale,
    originX: Math.min(area.width - keepX, Math.max(keepX - w, view.originX + dx)),
    originY: Math.min(area.height - keepY, Math.max(keepY - h, view.originY + dy)),
  };
}

export function screenToDocument(view: Viewport, p: Point): Point {
  return { x: (p.x - view.originX) / view.scale, y: (p.y - view.originY) / view.scale };
}

export function documentToScreen(view: Viewport, p: Point): Point {
  return { x: p.x * view.scale + view.originX, y: p.y * view.scale + view.originY };
}

/** The document pixels on screen (whole pixels, cut to the document), or null when none are. */
export function visibleDocumentRect(view: Viewport, area: Size, doc: Size): PixelRect | null {
  const a = screenToDocument(view, { x: 0, y: 0 });
  const b = screenToDocument(view, { x: area.width, y: area.height });
  const x = Math.floor(a.x);
  const y = Math.floor(a.y);
  return clipRect({ x, y, width: Math.ceil(b.x) - x, height: Math.ceil(b.y) - y }, doc);
}

/** Where a document rectangle lands on screen (CSS pixels, fractional). */
export function rectOnScreen(view: Viewport, rect: PixelRect): PixelRect {
  const p = documentToScreen(view, rect);
  return { x: p.x, y: p.y, width: rect.width * view.scale, height: rect.height * view.scale };
}

/** "14 %", "100 %", "800 %": the zoom as the view shows it. */
export function zoomLabel(scale: number): string {
  const percent = scale * 100;
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)} %`;
}

function centred(doc: Size, area: Size, scale: number): Viewport {
  return {
    scale,
    originX: Math.round((area.width - doc.width * scale) / 2),
    originY: Math.round((area.height - doc.height * scale) / 2),
  };
}
