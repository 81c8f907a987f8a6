/**
 * Integer pixel rectangles (half-open: x ≤ px < x + width). Tasks describe crops, windows, tiles and
 * layer bounds with them, so off-by-one rules live in one place.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function isEmptyRect(r: Rect): boolean {
  return r.width <= 0 || r.height <= 0;
}

/** The rectangle grown by `by` pixels on every side (negative shrinks). */
export function expandRect(r: Rect, by: number): Rect {
  return { x: r.x - by, y: r.y - by, width: r.width + 2 * by, height: r.height + 2 * by };
}

/** The overlap of two rectangles; width/height 0 when they do not overlap. */
export function intersectRect(a: Rect, b: Rect): Rect {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** The smallest rectangle holding both. */
export function unionRect(a: Rect, b: Rect): Rect {
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const x1 = Math.max(a.x + a.width, b.x + b.width);
  const y1 = Math.max(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function sameRect(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

export function containsRect(outer: Rect, inner: Rect): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

/**
 * Places a span of `length` centred on `center` inside [0, limit): shifted rather than cut where it
 * would cross an edge, cut only when it is longer than the limit.
 */
export function placeSpan(center: number, length: number, limit: number): { start: number; length: number } {
  const len = Math.min(Math.round(length), limit);
  let start = Math.round(center - len / 2);
  start = Math.max(0, Math.min(start, limit - len));
  return { start, length: len };
}
