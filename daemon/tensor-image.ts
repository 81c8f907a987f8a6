/**
 * RgbaImage ↔ model tensors ([3,H,W] float32 in [-1, 1], v/127.5 − 1 as models/README.md says), and
 * the crops, pastes and padding the tasks build their jobs from.
 */
import { clampByte, createMask, createRgba } from './pixels.ts';
import type { Rect } from './rect.ts';
import type { MaskImage, RgbaImage } from './tasks/types.ts';

/** Writes the RGB of `img` as [3,H,W] into `out` from `offset` (alpha is not part of the model). */
export function rgbaToTensor(img: RgbaImage, out: Float32Array, offset = 0): void {
  const plane = img.width * img.height;
  const d = img.data;
  for (let i = 0, p = 0; i < plane; i++, p += 4) {
    out[offset + i] = (d[p] ?? 0) / 127.5 - 1;
    out[offset + plane + i] = (d[p + 1] ?? 0) / 127.5 - 1;
    out[offset + 2 * plane + i] = (d[p + 2] ?? 0) / 127.5 - 1;
  }
}

/** [3,H,W] from `offset` → opaque RGBA, rounded and clipped to 8 bits. */
export function tensorToRgba(t: Float32Array, width: number, height: number, offset = 0): RgbaImage {
  const img = createRgba(width, height);
  const plane = width * height;
  for (let i = 0, p = 0; i < plane; i++, p += 4) {
    img.data[p] = clampByte(((t[offset + i] ?? 0) + 1) * 127.5);
    img.data[p + 1] = clampByte(((t[offset + plane + i] ?? 0) + 1) * 127.5);
    img.data[p + 2] = clampByte(((t[offset + 2 * plane + i] ?? 0) + 1) * 127.5);
    img.data[p + 3] = 255;
  }
  return img;
}

/** B copies of one [3,H,W] tensor, as ModelJob.cond wants when every variant sees the same x. */
export function repeatBatch(one: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(one.length * batch);
  for (let b = 0; b < batch; b++) out.set(one, b * one.length);
  return out;
}

/** Copy of a rectangle that lies inside the image. */
export function cropRgba(img: RgbaImage, r: Rect): RgbaImage {
  const out = createRgba(r.width, r.height);
  for (let y = 0; y < r.height; y++) {
    const src = ((r.y + y) * img.width + r.x) * 4;
    out.data.set(img.data.subarray(src, src + r.width * 4), y * r.width * 4);
  }
  return out;
}

export function cropMask(mask: MaskImage, r: Rect): MaskImage {
  const out = createMask(r.width, r.height);
  for (let y = 0; y < r.height; y++) {
    const src = (r.y + y) * mask.width + r.x;
    out.data.set(mask.data.subarray(src, src + r.width), y * r.width);
  }
  return out;
}

/** Copies `src` into `dst` at (x, y); the caller keeps it inside. */
export function pasteRgba(dst: RgbaImage, src: RgbaImage, x: number, y: number): void {
  for (let row = 0; row < src.height; row++) {
    const from = row * src.width * 4;
    dst.data.set(src.data.subarray(from, from + src.width * 4), ((y + row) * dst.width + x) * 4);
  }
}

/** Index into [0, n) mirrored at the edges without repeating the edge pixel (…2 1 0 1 2…). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/** The image grown to width × height (≥ its size) by mirroring at its right and bottom edges. */
export function padReflect(img: RgbaImage, width: number, height: number): RgbaImage {
  if (width === img.width && height === img.height) return { ...img, data: img.data.slice() };
  const out = createRgba(width, height);
  for (let y = 0; y < height; y++) {
    const sy = reflectIndex(y, img.height);
    for (let x = 0; x < width; x++) {
      const s = (sy * img.width + reflectIndex(x, img.width)) * 4;
      out.data.set(img.data.subarray(s, s + 4), (y * width + x) * 4);
    }
  }
  return out;
}

/** For n output cells over `size` source pixels: per cell, the source pixels it overlaps and by how much. */
function boxWeights(size: number, n: number): { start: number; weights: number[] }[] {
  const step = size / n;
  const cells: { start: number; weights: number[] }[] = [];
  for (let j = 0; j < n; j++) {
    const a = j * step;
    const b = (j + 1) * step;
    const start = Math.floor(a);
    const weights: number[] = [];
    for (let s = start; s < b && s < size; s++) weights.push(Math.min(b, s + 1) - Math.max(a, s));
    cells.push({ start, weights });
  }
  return cells;
}

/**
 * The share of each model pixel's footprint that a full-resolution mask covers, [height, width] in
 * [0, 1] (mask values / 255, averaged over exact box areas: no resampling kernel, so nothing rings
 * outside the mask and a thin stroke keeps its weight).
 */
export function maskCoverage(mask: MaskImage, width: number, height: number): Float32Array {
  const xs = boxWeights(mask.width, width);
  const ys = boxWeights(mask.height, height);
  const rows = new Float64Array(mask.height * width);
  for (let y = 0; y < mask.height; y++) {
    for (let j = 0; j < width; j++) {
      const cell = xs[j];
      if (!cell) continue;
      let sum = 0;
      for (let k = 0; k < cell.weights.length; k++) {
        sum += (cell.weights[k] ?? 0) * (mask.data[y * mask.width + cell.start + k] ?? 0);
      }
      rows[y * width + j] = sum;
    }
  }
  const area = (mask.width / width) * (mask.height / height) * 255;
  const coverage = new Float32Array(width * height);
  for (let i = 0; i < height; i++) {
    const cell = ys[i];
    if (!cell) continue;
    for (let j = 0; j < width; j++) {
      let sum = 0;
      for (let k = 0; k < cell.weights.length; k++) sum += (cell.weights[k] ?? 0) * (rows[(cell.start + k) * width + j] ?? 0);
      coverage[i * width + j] = Math.min(1, sum / area);
    }
  }
  return coverage;
}

/**
 * The model's hole [height, width] for a full-resolution mask (255 = generate): 1 where a model pixel's
 * footprint has more than `minCoverage` of its area masked, so a thin brush stroke is not averaged away.
 */
export function maskToHole(mask: MaskImage, width: number, height: number, minCoverage = 1e-3): Float32Array {
  const coverage = maskCoverage(mask, width, height);
  const hole = new Float32Array(width * height);
  for (let i = 0; i < hole.length; i++) hole[i] = (coverage[i] ?? 0) > minCoverage ? 1 : 0;
  return hole;
}
