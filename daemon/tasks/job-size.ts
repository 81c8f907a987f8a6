/**
 * Model job sizes: multiples of the model's size_multiple, near its working (native) size, since the
 * network runs best there and its self-attention cost grows with the square of the pixel count.
 */
import { DaemonError } from '../errors.ts';
import type { ModelGeometry } from './types.ts';

/** A job may hold at most this much more area than workingSize². */
export const MAX_AREA_FACTOR = 1.25;

export function assertGeometry(g: ModelGeometry): void {
  const ok =
    Number.isInteger(g.workingSize) &&
    Number.isInteger(g.sizeMultiple) &&
    g.sizeMultiple >= 1 &&
    g.workingSize >= g.sizeMultiple;
  if (!ok) {
    throw new DaemonError(
      'INVALID_ARGUMENT',
      `model geometry needs integer workingSize ≥ sizeMultiple ≥ 1, got ${g.workingSize} and ${g.sizeMultiple}`,
    );
  }
}

export function assertVariants(variants: number): void {
  if (!Number.isInteger(variants) || variants < 1) {
    throw new DaemonError('INVALID_ARGUMENT', `variants must be a positive integer, got ${variants}`);
  }
}

/** Nearest multiple of m, at least m. */
export function roundToMultiple(v: number, m: number): number {
  return Math.max(m, Math.round(v / m) * m);
}

/** Smallest multiple of m that is ≥ v (at least m). */
export function ceilToMultiple(v: number, m: number): number {
  return Math.max(m, Math.ceil(v / m) * m);
}

/** The working size itself rounded to the multiple (a manifest may name one that is not). */
export function workingEdge(g: ModelGeometry): number {
  return roundToMultiple(g.workingSize, g.sizeMultiple);
}

/**
 * The job size for a region of width × height: the region's aspect, an area of about workingSize²
 * (enlarging small regions too: the model was trained at that scale), each side a multiple of
 * sizeMultiple, and never more than MAX_AREA_FACTOR × workingSize² after rounding.
 */
export function fitJobSize(width: number, height: number, g: ModelGeometry): { width: number; height: number } {
  const m = g.sizeMultiple;
  const scale = g.workingSize / Math.sqrt(width * height);
  let w = roundToMultiple(width * scale, m);
  let h = roundToMultiple(height * scale, m);
  const maxArea = MAX_AREA_FACTOR * g.workingSize * g.workingSize;
  // Only very thin regions get here (the short side rounded up to one multiple); trim the long side.
  while (w * h > maxArea && (w > m || h > m)) {
    if (w >= h) w -= m;
    else h -= m;
  }
  return { width: w, height: h };
}
