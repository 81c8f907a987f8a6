/**
 * Axis-aligned rectangles in document pixels: what the view redraws after a brush move (the
 * "dirty" rectangle) and what part of the document is on screen. Pure, so the view's bookkeeping
 * can be tested in Node.
 */
import type { Size } from '../editor/editor-document.ts';

export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The smallest whole-pixel rectangle holding a disc of `radius` around (cx, cy). */
export function rectAroundDisc(cx: number, cy: number, radius: number): PixelRect {
  const x = Math.floor(cx - radius);
  const y = Math.floor(cy - radius);
  return { x, y, width: Math.ceil(cx + radius) - x, height: Math.ceil(cy + radius) - y };
}

export function unionRect(a: PixelRect | null, b: PixelRect | null): PixelRect | null {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** `rect` grown by `margin` on every side and cut to the document; null when nothing is left. */
export function clipRect(rect: PixelRect, doc: Size, margin = 0): PixelRect | null {
  const left = Math.max(0, rect.x - margin);
  const top = Math.max(0, rect.y - margin);
  const right = Math.min(doc.width, rect.x + rect.width + margin);
  const bottom = Math.min(doc.height, rect.y + rect.height + margin);
  return right > left && bottom > top ? { x: left, y: top, width: right - left, height: bottom - top } : null;
}
