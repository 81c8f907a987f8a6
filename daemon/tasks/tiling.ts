/**
 * Overlapping tiles and their blending weights, for tasks that run the model over a whole image at
 * its native scale (JPEG restoration: the artefacts are 8×8-pixel blocks, so resizing would destroy
 * exactly what the model has to see).
 */

/**
 * Starts of tiles of `tile` px covering [0, length) with at least `minOverlap` px between neighbours,
 * spread evenly so no tile hangs over the end. A single tile at 0 when the length fits in one.
 */
export function tileStarts(length: number, tile: number, minOverlap: number): number[] {
  if (length <= tile) return [0];
  const stride = Math.max(1, tile - minOverlap);
  const n = Math.ceil((length - tile) / stride) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - tile)) / (n - 1)));
}

/**
 * Per-pixel weight along one axis of a tile: a raised cosine rising over `ramp` px on every side that
 * has a neighbour, 1 elsewhere (image borders are not faded: nothing there to blend with). Never 0,
 * so dividing by the sum of weights is always defined; the smooth ramp leaves no visible seam.
 */
export function tileWeights(start: number, size: number, length: number, ramp: number): Float32Array {
  const w = new Float32Array(size).fill(1);
  if (ramp <= 0) return w;
  for (let i = 0; i < Math.min(ramp, size); i++) {
    const v = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / ramp);
    if (start > 0) w[i] = Math.min(w[i] ?? 1, v);
    if (start + size < length) w[size - 1 - i] = Math.min(w[size - 1 - i] ?? 1, v);
  }
  return w;
}
