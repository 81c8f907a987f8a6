/**
 * Chroma refinement for restoration: most JPEGs store colour at half resolution (4:2:0) and quantize
 * it coarsely, so a decoded JPEG's colour bleeds across edges and blocks in 16×16 patches, while its
 * luminance still holds those edges at full resolution. A guided filter (He, Sun & Tang 2010) of Cb
 * and Cr with the luminance as the guide pulls each colour edge onto the luminance edge and smooths
 * the blocking inside flat areas; then the chroma is projected back onto the set the JPEG allows
 * (chroma-420.ts: each 16×16 patch's half-resolution DCT coefficients within half a step of the
 * file's), so the refinement can only choose among colourings that encode to the same JPEG. The
 * luminance is left alone, so the luminance projection of jpeg-consistency.ts still holds after it.
 *
 * Measured on the 10 validation photos (PIL's IJG encoder, 4:2:0; PSNR dB / SWD ×10³ of the JPEG →
 * refined and projected; `models/palette-small-v5/README.md`): 256² q10 26.99 / 30.4 → 27.49 / 28.2
 * (radius 8), q20 29.45 / 23.3 → 29.80 / 22.3 (radius 6), q30 30.80 / 20.3 → 31.12 / 19.8 (radius 4).
 * Above quality ~40 the gain is gone, so the refinement is off there, and wherever the chroma was not
 * subsampled (it then has its own lattice and its own projection), does not sit on the 4:2:0 lattice,
 * or the picture is not a JPEG at all.
 */
import { chroma601, lumaExact } from '../pixels.ts';
import { chroma420Constraint, projectChroma420, type Chroma420Constraint } from './chroma-420.ts';
import type { JpegQuantization } from './jpeg-consistency.ts';
import type { RgbaImage } from './types.ts';

/** Regularisation in squared 8-bit levels: below it, a window's luminance counts as flat. */
const EPSILON = 30;
const HIGHEST_QUALITY = 35;
const MAX_RADIUS = 8;
const MIN_RADIUS = 4;

/**
 * The guided filter's window radius for a JPEG of these tables, or 0 for no refinement: 8 px up to
 * quality 15, 120/quality px above (6 at q20, 4 at q30), none above quality 35.
 */
export function chromaRefineRadius(quantization: JpegQuantization): number {
  const { quality, chromaLattice } = quantization;
  if (quality === undefined || chromaLattice !== false || quality > HIGHEST_QUALITY) return 0;
  return Math.max(MIN_RADIUS, Math.min(MAX_RADIUS, Math.round(120 / quality)));
}

/**
 * Small pictures are mostly downscaled ones, with more detail per pixel, where a wide window smears
 * colour across small objects: on the 160×120 test photo (a 12× downscale) radius 8 made q10 worse
 * (PSNR 23.15 → 23.04 dB) while 2–4 improved it (23.40–23.32). So the radius is capped at 1/32 of
 * the shorter side: 4 px at 128, the formula's 8 px from 256 on.
 */
function smallImageRadius(image: RgbaImage): number {
  return Math.max(2, Math.round(Math.min(image.width, image.height) / 32));
}

/** What refineChroma needs for one input: the filter's radius and the JPEG's 4:2:0 chroma set. */
export interface ChromaRefinement {
  radius: number;
  constraint: Chroma420Constraint;
}

/**
 * The refinement for a decoded JPEG with these (estimated) tables, or undefined when none applies:
 * no quality, chroma at full resolution, quality above 35, or chroma that is not on the 4:2:0 lattice.
 * The radius is chromaRefineRadius's, capped for small pictures.
 */
export function chromaRefinement(image: RgbaImage, quantization: JpegQuantization): ChromaRefinement | undefined {
  const radius = Math.min(chromaRefineRadius(quantization), smallImageRadius(image));
  if (radius === 0 || quantization.quality === undefined) return undefined;
  const constraint = chroma420Constraint(image, quantization.quality);
  return constraint && { radius, constraint };
}

/*
 * Full-resolution planes are float32 (44 bytes a pixel across refineChroma's buffers: a 24-MP restore
 * needs about 1 GB here, half what float64 would); running sums stay in doubles.
 */

/**
 * Mean over the (2r+1)² window around each pixel, clipped at the image edge (the mean of the pixels
 * inside), by running sums along rows and then columns: O(1) per pixel whatever the radius. Exported
 * for its tests and for grain.ts.
 */
export function boxMean(src: Float32Array, width: number, height: number, r: number, tmp: Float32Array, out: Float32Array): void {
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    for (let x = 0; x < Math.min(r, width); x++) sum += src[row + x]!;
    for (let x = 0; x < width; x++) {
      if (x + r < width) sum += src[row + x + r]!;
      if (x - r - 1 >= 0) sum -= src[row + x - r - 1]!;
      tmp[row + x] = sum / (Math.min(width - 1, x + r) - Math.max(0, x - r) + 1);
    }
  }
  for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let y = 0; y < Math.min(r, height); y++) sum += tmp[y * width + x]!;
    for (let y = 0; y < height; y++) {
      if (y + r < height) sum += tmp[(y + r) * width + x]!;
      if (y - r - 1 >= 0) sum -= tmp[(y - r - 1) * width + x]!;
      out[y * width + x] = sum / (Math.min(height - 1, y + r) - Math.max(0, y - r) + 1);
    }
  }
}

/** p filtered with guide I (both width×height), into out: the guided filter's q = ā·I + b̄. */
function guidedFilter(I: Float32Array, p: Float32Array, width: number, height: number, r: number, out: Float32Array): void {
  const n = width * height;
  const tmp = new Float32Array(n);
  const meanI = new Float32Array(n);
  const meanP = new Float32Array(n);
  const corr = new Float32Array(n);
  const sq = new Float32Array(n);
  boxMean(I, width, height, r, tmp, meanI);
  boxMean(p, width, height, r, tmp, meanP);
  for (let i = 0; i < n; i++) sq[i] = I[i]! * p[i]!;
  boxMean(sq, width, height, r, tmp, corr);
  for (let i = 0; i < n; i++) sq[i] = I[i]! * I[i]!;
  const varI = new Float32Array(n);
  boxMean(sq, width, height, r, tmp, varI);
  // a, b per window (reusing corr for a and meanP for b), then their window means.
  for (let i = 0; i < n; i++) {
    const a = (corr[i]! - meanI[i]! * meanP[i]!) / (varI[i]! - meanI[i]! * meanI[i]! + EPSILON);
    corr[i] = a;
    meanP[i] = meanP[i]! - a * meanI[i]!;
  }
  boxMean(corr, width, height, r, tmp, varI);
  boxMean(meanP, width, height, r, tmp, meanI);
  for (let i = 0; i < n; i++) out[i] = varI[i]! * I[i]! + meanI[i]!;
}

/**
 * Refines the chroma of [3,H,W] RGB planes in [-1, 1] in place, guided by their own luminance, which
 * is kept (the result's BT.601 luma equals the input's before the caller's 8-bit clamp), and projects
 * it onto the JPEG's chroma set.
 */
export function refineChroma(planes: Float32Array, width: number, height: number, refinement: ChromaRefinement): void {
  const n = width * height;
  const luma = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const r = (planes[p]! + 1) * 127.5;
    const g = (planes[n + p]! + 1) * 127.5;
    const b = (planes[2 * n + p]! + 1) * 127.5;
    luma[p] = lumaExact(r, g, b);
    [cb[p], cr[p]] = chroma601(r, g, b);
  }
  const cbOut = new Float32Array(n);
  const crOut = new Float32Array(n);
  guidedFilter(luma, cb, width, height, refinement.radius, cbOut);
  guidedFilter(luma, cr, width, height, refinement.radius, crOut);
  projectChroma420([cbOut, crOut], refinement.constraint);
  for (let p = 0; p < n; p++) {
    const y = luma[p]!;
    planes[p] = (y + 1.402 * crOut[p]!) / 127.5 - 1;
    planes[n + p] = (y - 0.344136 * cbOut[p]! - 0.714136 * crOut[p]!) / 127.5 - 1;
    planes[2 * n + p] = (y + 1.772 * cbOut[p]!) / 127.5 - 1;
  }
}
