/**
 * Round (Euclidean) dilation and erosion of binary masks through an exact distance transform
 * (Felzenszwalb & Huttenlocher's lower envelope of parabolas, one pass per axis). Linear in the pixel
 * count whatever the radius, and round: a square structuring element makes grown masks look boxy.
 */
import { createMask } from './pixels.ts';
import type { MaskImage } from './tasks/types.ts';

const FAR = 1e20;

/**
 * 1-D squared distance transform of `f` (0 at features, FAR elsewhere) read with `stride` from
 * `offset`, written back in place. `v`, `z`, `g` are scratch buffers of at least n (+1) entries.
 */
function edt1d(
  buf: Float64Array,
  offset: number,
  stride: number,
  n: number,
  v: Int32Array,
  z: Float64Array,
  g: Float64Array,
): void {
  for (let i = 0; i < n; i++) g[i] = buf[offset + i * stride] ?? FAR;
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const fq = (g[q] ?? FAR) + q * q;
    // Drop parabolas that the new one hides; z[0] = -∞ stops the loop at the first.
    let s: number;
    for (;;) {
      const p = v[k] ?? 0;
      s = (fq - ((g[p] ?? FAR) + p * p)) / (2 * q - 2 * p);
      if (k > 0 && s <= (z[k] ?? -Infinity)) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while ((z[k + 1] ?? Infinity) < q) k++;
    const p = v[k] ?? 0;
    buf[offset + q * stride] = (q - p) * (q - p) + (g[p] ?? FAR);
  }
}

/** Squared Euclidean distance from every pixel to the nearest pixel where `isFeature` holds. */
export function squaredDistanceTo(mask: MaskImage, isFeature: (value: number) => boolean): Float64Array {
  const { width, height, data } = mask;
  const dist = new Float64Array(width * height);
  for (let i = 0; i < dist.length; i++) dist[i] = isFeature(data[i] ?? 0) ? 0 : FAR;
  const n = Math.max(width, height);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const g = new Float64Array(n);
  for (let x = 0; x < width; x++) edt1d(dist, x, width, height, v, z, g);
  for (let y = 0; y < height; y++) edt1d(dist, y * width, 1, width, v, z, g);
  return dist;
}

/** 255 within `radius` px (Euclidean) of any set pixel (> 0), else 0. */
export function dilateMask(mask: MaskImage, radius: number): MaskImage {
  const out = createMask(mask.width, mask.height);
  if (radius <= 0) {
    for (let i = 0; i < out.data.length; i++) out.data[i] = (mask.data[i] ?? 0) > 0 ? 255 : 0;
    return out;
  }
  const d = squaredDistanceTo(mask, (value) => value > 0);
  const r2 = radius * radius;
  for (let i = 0; i < out.data.length; i++) out.data[i] = (d[i] ?? FAR) <= r2 ? 255 : 0;
  return out;
}

/**
 * 255 where every pixel within `radius` px is set. The outside of the image counts as set, so a mask
 * that reaches the border (the user selected up to the edge) is not eaten from there.
 */
export function erodeMask(mask: MaskImage, radius: number): MaskImage {
  const out = createMask(mask.width, mask.height);
  if (radius <= 0) {
    for (let i = 0; i < out.data.length; i++) out.data[i] = (mask.data[i] ?? 0) > 0 ? 255 : 0;
    return out;
  }
  const d = squaredDistanceTo(mask, (value) => value === 0);
  const r2 = radius * radius;
  for (let i = 0; i < out.data.length; i++) out.data[i] = (d[i] ?? FAR) > r2 ? 255 : 0;
  return out;
}

/** Dilates for positive `by`, erodes for negative. */
export function growMask(mask: MaskImage, by: number): MaskImage {
  return by >= 0 ? dilateMask(mask, by) : erodeMask(mask, -by);
}
