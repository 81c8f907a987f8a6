/**
 * Seam colour matching for fills.
 *
 * Why: a diffusion sample run with few steps, at a reduced scale, often comes out slightly brighter,
 * darker or tinted as a whole; next to untouched pixels such a cast shows as a patch even when the
 * content is right. Comparing the sample with the original where both exist tells nothing, because
 * the sampler pastes the known pixels back. What can be compared is the two sides of the seam: the
 * generated pixels just inside the hole should look like the original pixels just outside it.
 *
 * How: per RGB channel, mean and standard deviation of the sample on an inner ring (generated, within
 * `ring` px of the edge) and of the original on an outer ring (known, within `ring` px); the generated
 * pixels are then shifted and scaled so the inner statistics become the outer ones. Both corrections
 * are clamped: a large difference means the hole's content really differs from its surroundings (a
 * new object, a shadow edge), which a global shift must not erase.
 */
import { dilateMask, erodeMask } from '../mask-morphology.ts';
import { clampByte } from '../pixels.ts';
import type { MaskImage, RgbaImage } from './types.ts';

export interface ColorMatchOptions {
  /** Ring width in px on each side of the hole's edge. */
  ring: number;
  /** Largest mean shift per channel, in 8-bit levels. */
  maxShift?: number;
  /** The contrast factor σ_outer/σ_inner is clamped to [1/maxScale, maxScale]. */
  maxScale?: number;
}

interface Stats {
  mean: [number, number, number];
  std: [number, number, number];
  count: number;
}

function ringStats(img: RgbaImage, ring: MaskImage): Stats {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < ring.data.length; i++) {
    if ((ring.data[i] ?? 0) === 0) continue;
    count++;
    for (let c = 0; c < 3; c++) {
      const v = img.data[i * 4 + c] ?? 0;
      sum[c] = (sum[c] ?? 0) + v;
      sq[c] = (sq[c] ?? 0) + v * v;
    }
  }
  const n = Math.max(1, count);
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / n - (mean[c] ?? 0) ** 2))) as [number, number, number];
  return { mean, std, count };
}

/** Fewer ring pixels than this give statistics too noisy to correct anything with. */
const MIN_RING_PIXELS = 16;

/**
 * Corrects `sample` in place where `generated` is set. `sample`, `original` and `generated` share one
 * size (the fill's crop). Returns the per-channel shift applied (for logs and tests), or null when a
 * ring was too small to say anything.
 */
export function matchSeamColors(
  sample: RgbaImage,
  original: RgbaImage,
  generated: MaskImage,
  options: ColorMatchOptions,
): [number, number, number] | null {
  const ring = Math.max(1, Math.round(options.ring));
  const maxShift = options.maxShift ?? 24;
  const maxScale = options.maxScale ?? 1.25;
  const inner = erodeMask(generated, ring);
  const outer = dilateMask(generated, ring);
  for (let i = 0; i < inner.data.length; i++) {
    const g = (generated.data[i] ?? 0) > 0;
    inner.data[i] = g && (inner.data[i] ?? 0) === 0 ? 255 : 0;
    outer.data[i] = !g && (outer.data[i] ?? 0) > 0 ? 255 : 0;
  }
  const a = ringStats(sample, inner);
  const b = ringStats(original, outer);
  if (a.count < MIN_RING_PIXELS || b.count < MIN_RING_PIXELS) return null;

  const shift: [number, number, number] = [0, 0, 0];
  const scale: [number, number, number] = [1, 1, 1];
  for (let c = 0; c < 3; c++) {
    const sa = a.std[c] ?? 0;
    const sb = b.std[c] ?? 0;
    // A flat inner ring (σ ≈ 0) says nothing about contrast: keep it.
    scale[c] = sa < 1 ? 1 : Math.min(maxScale, Math.max(1 / maxScale, sb / sa));
    shift[c] = Math.min(maxShift, Math.max(-maxShift, (b.mean[c] ?? 0) - (a.mean[c] ?? 0)));
  }
  for (let i = 0; i < generated.data.length; i++) {
    if ((generated.data[i] ?? 0) === 0) continue;
    for (let c = 0; c < 3; c++) {
      const v = sample.data[i * 4 + c] ?? 0;
      const ma = a.mean[c] ?? 0;
      sample.data[i * 4 + c] = clampByte(ma + (v - ma) * (scale[c] ?? 1) + (shift[c] ?? 0));
    }
  }
  return shift;
}
