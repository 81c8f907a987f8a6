/**
 * The standalone editor's selection tools as pure mask rasterisers (document-size Uint8Array,
 * 255 = selected): rectangle, lasso (polygon, even-odd, sampled at pixel centres) and brush
 * (round stamps along the stroke); how a new shape combines with the current selection (replace,
 * add with Shift, subtract with Alt); select all and invert. Also the mask's edge pixels, which the
 * view animates as marching ants.
 */
import type { Size } from '../editor/editor-document.ts';
import { clipRect, rectAroundDisc, unionRect, type PixelRect } from './pixel-rect.ts';

export interface Point {
  x: number;
  y: number;
}

export type SelectionTool = 'rect' | 'lasso' | 'brush';

/** How a new shape meets the current selection. */
export type SelectionMode = 'replace' | 'add' | 'subtract';

/** The mode a pointer-down picks: Alt subtracts, Shift adds, else the toolbar's mode. */
export function modeForModifiers(base: SelectionMode, keys: { shiftKey: boolean; altKey: boolean }): SelectionMode {
  if (keys.altKey) return 'subtract';
  if (keys.shiftKey) return 'add';
  return base;
}

/** `shape` combined with `current` (null = nothing selected) by `mode`; a new mask, inputs untouched. */
export function combineMasks(current: Uint8Array | null, shape: Uint8Array, mode: SelectionMode): Uint8Array {
  if (mode === 'replace' || !current) return mode === 'subtract' ? new Uint8Array(shape.length) : shape;
  const out = new Uint8Array(shape.length);
  if (mode === 'add') for (let i = 0; i < out.length; i++) out[i] = Math.max(current[i]!, shape[i]!);
  else for (let i = 0; i < out.length; i++) out[i] = Math.min(current[i]!, 255 - shape[i]!);
  return out;
}

export function selectAllMask(doc: Size): Uint8Array {
  return new Uint8Array(doc.width * doc.height).fill(255);
}

/** The complement of `current` (nothing selected inverts to everything). */
export function invertMask(current: Uint8Array | null, doc: Size): Uint8Array {
  if (!current) return selectAllMask(doc);
  const out = new Uint8Array(current.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 - current[i]!;
  return out;
}

/** The rectangle spanned by two corner points (in any order), clipped to the document. */
export function rectMask(doc: Size, a: Point, b: Point): Uint8Array {
  const mask = new Uint8Array(doc.width * doc.height);
  const left = clamp(Math.round(Math.min(a.x, b.x)), 0, doc.width);
  const right = clamp(Math.round(Math.max(a.x, b.x)), 0, doc.width);
  const top = clamp(Math.round(Math.min(a.y, b.y)), 0, doc.height);
  const bottom = clamp(Math.round(Math.max(a.y, b.y)), 0, doc.height);
  for (let y = top; y < bottom; y++) mask.fill(255, y * doc.width + left, y * doc.width + right);
  return mask;
}

/** The closed polygon through `points` (even-odd rule); a pixel is in when its centre is. */
export function polygonMask(doc: Size, points: Point[]): Uint8Array {
  const mask = new Uint8Array(doc.width * doc.height);
  if (points.length < 3) return mask;
  const crossings: number[] = [];
  for (let y = 0; y < doc.height; y++) {
    const cy = y + 0.5;
    crossings.length = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const q = points[(i + 1) % points.length]!;
      if ((p.y <= cy && q.y > cy) || (q.y <= cy && p.y > cy)) {
        crossings.push(p.x + ((cy - p.y) / (q.y - p.y)) * (q.x - p.x));
      }
    }
    crossings.sort((u, v) => u - v);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // pixels whose centre x + 0.5 lies in [from, to)
      const from = clamp(Math.ceil(crossings[k]! - 0.5), 0, doc.width);
      const to = clamp(Math.ceil(crossings[k + 1]! - 0.5), 0, doc.width);
      if (to > from) mask.fill(255, y * doc.width + from, y * doc.width + to);
    }
  }
  return mask;
}

/**
 * Paints a round brush stroke from `from` to `to` (diameter `size`) into `mask`, in place: 255
 * adds, 0 erases. Returns the pixels it may have changed (null when the stroke is off the document),
 * so the view redraws only those.
 */
export function brushStroke(mask: Uint8Array, doc: Size, from: Point, to: Point, size: number, value: 0 | 255 = 255): PixelRect | null {
  const radius = Math.max(0.5, size / 2);
  const length = Math.hypot(to.x - from.x, to.y - from.y);
  const steps = Math.max(1, Math.ceil(length / Math.max(1, radius / 2)));
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    stamp(mask, doc, from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, radius, value);
  }
  const dirty = unionRect(rectAroundDisc(from.x, from.y, radius), rectAroundDisc(to.x, to.y, radius));
  return dirty && clipRect(dirty, doc);
}

function stamp(mask: Uint8Array, doc: Size, cx: number, cy: number, radius: number, value: number): void {
  const top = clamp(Math.floor(cy - radius), 0, doc.height);
  const bottom = clamp(Math.ceil(cy + radius), 0, doc.height);
  const left = clamp(Math.floor(cx - radius), 0, doc.width);
  const right = clamp(Math.ceil(cx + radius), 0, doc.width);
  const r2 = radius * radius;
  for (let y = top; y < bottom; y++) {
    const dy = y + 0.5 - cy;
    for (let x = left; x < right; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) mask[y * doc.width + x] = value;
    }
  }
}

/** Indices of selected pixels that touch an unselected pixel or the canvas edge. */
export function maskEdges(mask: Uint8Array, doc: Size): Uint32Array {
  const edges: number[] = [];
  const { width, height } = doc;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (mask[i]! < 128) continue;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1
        || mask[i - 1]! < 128 || mask[i + 1]! < 128 || mask[i - width]! < 128 || mask[i + width]! < 128) {
        edges.push(i);
      }
    }
  }
  return Uint32Array.from(edges);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
