/**
 * Classical pre-fills of a job's hole: where sampling starts when a request's strength is below 1.
 *
 * At strength s the sampler does not start from pure noise but from a start image noised to the
 * ⌈s·steps⌉-th level from the end (daemon/job-runner.ts), so the start decides the layout the model
 * then refines. Noise alone has none; the hole's old content (an object being removed) is the wrong
 * one. A classical fill gives a plausible layout to refine:
 * - `smoothFill`: push-pull interpolation (a Gaussian-pyramid membrane): each hole pixel takes the
 *   average of the known pixels around it at the coarsest scale that reaches them, blended
 *   smoothly; the colours and gradients of the surroundings, no texture. For fill.
 * - `mirrorFill`: the known side reflected across the frontier, for uncrop passes (whose hole is a
 *   strip on one side): texture and structure continue at the edge, as reflection padding does.
 *
 * Both work on one item's [3,H,W] tensor at the job's size (a few thousand pixels), with the hole as
 * [H,W], 1 = generate. Known pixels are returned unchanged.
 */
import type { Side } from './uncrop-plan.ts';

/** The hole threshold: maskToHole's values are 0 or 1; soft ones count as hole above one half. */
const isHole = (v: number | undefined): boolean => (v ?? 0) > 0.5;

/**
 * Push-pull fill. Pull: halve the (value × weight, weight) pyramid down to a level where every pixel
 * has weight; push: from the coarsest level up, each pixel's value is its own weighted mean blended
 * with the bilinear upsample of the coarser level, by how much known weight it holds.
 */
export function smoothFill(values: Float32Array, hole: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = values.slice();
  if (!hole.some((v) => isHole(v))) return out;
  if (!hole.some((v) => !isHole(v))) return out.fill(0); // nothing known: mid-grey
  for (let c = 0; c < 3; c++) {
    const weight = new Float32Array(plane);
    const value = new Float32Array(plane);
    for (let i = 0; i < plane; i++) {
      const w = isHole(hole[i]) ? 0 : 1;
      weight[i] = w;
      value[i] = w * (values[c * plane + i] ?? 0);
    }
    const filled = pushPull(value, weight, width, height);
    for (let i = 0; i < plane; i++) if (isHole(hole[i])) out[c * plane + i] = filled[i] ?? 0;
  }
  return out;
}

/** Returns the filled means (value / weight), every pixel defined; `value` is pre-multiplied. */
function pushPull(value: Float32Array, weight: Float32Array, width: number, height: number): Float32Array {
  const mean = new Float32Array(width * height);
  if (width === 1 && height === 1) {
    mean[0] = (weight[0] ?? 0) > 0 ? (value[0] ?? 0) / (weight[0] ?? 1) : 0;
    return mean;
  }
  // Pull: 2×2 box sums (odd sizes round up; the edge cell then sums fewer pixels).
  const w2 = Math.ceil(width / 2);
  const h2 = Math.ceil(height / 2);
  const cValue = new Float32Array(w2 * h2);
  const cWeight = new Float32Array(w2 * h2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const j = (y >> 1) * w2 + (x >> 1);
      cValue[j] = (cValue[j] ?? 0) + (value[y * width + x] ?? 0);
      cWeight[j] = (cWeight[j] ?? 0) + (weight[y * width + x] ?? 0);
    }
  }
  const coarse = pushPull(cValue, cWeight, w2, h2);
  // Push: bilinear upsample of the coarse means (cell centres at 2j + 0.5), blended by own weight.
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y - 0.5) / 2, 0), h2 - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h2 - 1);
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x - 0.5) / 2, 0), w2 - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w2 - 1);
      const tx = fx - x0;
      const up =
        (1 - ty) * ((1 - tx) * (coarse[y0 * w2 + x0] ?? 0) + tx * (coarse[y0 * w2 + x1] ?? 0)) +
        ty * ((1 - tx) * (coarse[y1 * w2 + x0] ?? 0) + tx * (coarse[y1 * w2 + x1] ?? 0));
      const i = y * width + x;
      const w = Math.min(weight[i] ?? 0, 1);
      mean[i] = w > 0 ? w * ((value[i] ?? 0) / (weight[i] ?? 1)) + (1 - w) * up : up;
    }
  }
  return mean;
}

/** Reflects i into [lo, hi] (inclusive), repeating the reflection for indices far outside. */
function mirrorIndex(i: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  const period = 2 * span;
  let t = (((i - lo) % period) + period) % period;
  if (t > span) t = period - t;
  return lo + t;
}

/**
 * Mirror fill for an uncrop pass: along each row (left/right) or column (top/bottom) of the window,
 * the unknown run on `side` takes the known pixels reflected about the frontier. Lines with no known
 * pixel fall back to the smooth fill.
 */
export function mirrorFill(values: Float32Array, hole: Float32Array, width: number, height: number, side: Side): Float32Array {
  const plane = width * height;
  const out = values.slice();
  const horizontal = side === 'left' || side === 'right';
  const lines = horizontal ? height : width;
  const length = horizontal ? width : height;
  const at = (line: number, k: number) => (horizontal ? line * width + k : k * width + line);
  let unfilled = false;
  for (let line = 0; line < lines; line++) {
    // The known run is between the first and last known pixel along the line.
    let first = -1;
    let last = -1;
    for (let k = 0; k < length; k++) {
      if (isHole(hole[at(line, k)])) continue;
      if (first < 0) first = k;
      last = k;
    }
    if (first < 0) {
      unfilled = true;
      continue;
    }
    for (let k = 0; k < length; k++) {
      const i = at(line, k);
      if (!isHole(hole[i])) continue;
      const source = at(line, mirrorIndex(k, first, last));
      for (let c = 0; c < 3; c++) out[c * plane + i] = values[c * plane + source] ?? 0;
    }
  }
  if (!unfilled) return out;
  // Whole lines without a known pixel (a corner pass): those pixels get the smooth fill of what is now known.
  const rest = new Float32Array(plane);
  for (let line = 0; line < lines; line++) {
    let any = false;
    for (let k = 0; k < length && !any; k++) any = !isHole(hole[at(line, k)]);
    if (!any) for (let k = 0; k < length; k++) rest[at(line, k)] = 1;
  }
  return smoothFill(out, rest, width, height);
}
