/**
 * Grain matching for generated pixels.
 *
 * Why: the model samples at its working size and the result is scaled up to the region's size, so the
 * generated pixels hold no detail finer than the working size's pixel. Next to a photo's own grain and
 * fine texture they look soft at 100 % zoom: the first thing that gives a fill or an extension away.
 *
 * How: the finest band of the luminance (the image minus its Gaussian blur of σ = 0.6 px) is measured
 * as a local energy, on the known pixels of the original and on the generated pixels of the result,
 * each averaged over its own pixels in a Gaussian window of σ = `radius` px. Where the generated
 * pixels have less energy than the known ones around them, seeded band-limited noise adds GRAIN_GAIN
 * of the amplitude that would make up the difference, to R, G and B alike (grain is luminance). Where
 * they already have as much, nothing is added, so a fill at full resolution, or a smooth sky next to
 * a smooth sky, is left as it is. Generated pixels farther than the averaging reaches from any known
 * pixel get the known pixels' mean energy.
 * The band and its width were chosen on the evaluation's saved samples (models/README.md, "Grain").
 */
import { createNormalStream } from '../sampling/random.ts';
import { clampByte, lumaExact } from '../pixels.ts';
import { boxMean } from './chroma-refine.ts';
import type { MaskImage, RgbaImage } from './types.ts';

export interface GrainOptions {
  /** Seed of the noise (the same seed gives the same grain). */
  seed: number;
  /** σ (px) of the blur whose residual is the band matched. Default 0.6: the finest octave. */
  bandSigma?: number;
  /** σ (px) of the Gaussian window over which energies are averaged. Default 8. */
  radius?: number;
  /** The grain's amplitude as a share of what would match the band's energy. Default GRAIN_GAIN. */
  gain?: number;
}

/** Base seed of the grain: variant i uses GRAIN_SEED + i, so a result is reproducible. */
export const GRAIN_SEED = 0x67a1;

/**
 * Full energy matching (gain 1) overshoots: a photo's finest band is sparse (edges, texture), noise is
 * dense, and patches of dense noise at the same energy look rougher than the photo. On the evaluation's
 * saved right-half extensions (30 photos, SWD ×10³ 51.9 as sampled) gains 0.4 / 0.55 / 0.68 / 0.85 / 1 /
 * 1.2 gave 43.3 / 41.7 / 41.6 / 43.0 / 44.9 / 47.8.
 */
export const GRAIN_GAIN = 0.65;

const DEFAULT_BAND_SIGMA = 0.6;
const DEFAULT_RADIUS = 8;
/** Below this share of known pixels in the averaging window, the known side's mean energy is used. */
const MIN_KNOWN_SHARE = 0.05;

function luma(img: RgbaImage): Float32Array {
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = lumaExact(img.data[i * 4] ?? 0, img.data[i * 4 + 1] ?? 0, img.data[i * 4 + 2] ?? 0);
  return out;
}

/** Separable Gaussian blur with clamped borders (a small σ: the kernel reaches 3σ). */
export function gaussianBlur(src: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const reach = Math.max(1, Math.ceil(3 * sigma));
  const taps = Array.from({ length: 2 * reach + 1 }, (_, i) => Math.exp(-((i - reach) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  const k = taps.map((t) => t / sum);
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let t = -reach; t <= reach; t++) acc += (k[t + reach] ?? 0) * (src[y * width + Math.min(width - 1, Math.max(0, x + t))] ?? 0);
      tmp[y * width + x] = acc;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let t = -reach; t <= reach; t++) acc += (k[t + reach] ?? 0) * (tmp[Math.min(height - 1, Math.max(0, y + t)) * width + x] ?? 0);
      out[y * width + x] = acc;
    }
  }
  return out;
}

/** The finest band: the plane minus its blur. */
function finestBand(plane: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const blurred = gaussianBlur(plane, width, height, sigma);
  return plane.map((v, i) => v - (blurred[i] ?? 0));
}

/**
 * The finest band of the pixels where `weight` is 1, blurred over those pixels only (normalised
 * convolution): the edge between known and generated pixels is no texture of either side.
 */
function finestBandWithin(plane: Float32Array, weight: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const sum = gaussianBlur(plane.map((v, i) => v * (weight[i] ?? 0)), width, height, sigma);
  const share = gaussianBlur(weight, width, height, sigma);
  return plane.map((v, i) => ((weight[i] ?? 0) > 0 ? v - (sum[i] ?? 0) / Math.max(share[i] ?? 0, 1e-6) : 0));
}

/**
 * Local mean of band² over the pixels where `weight` is 1, with the window's share of such pixels: three
 * box passes of half-width r approximate a Gaussian of σ² = 3·((2r+1)² − 1)/12, so r is chosen for σ = radius.
 */
function localEnergy(band: Float32Array, weight: Float32Array, width: number, height: number, radius: number) {
  const r = Math.max(1, Math.round((Math.sqrt(4 * radius * radius + 1) - 1) / 2));
  let energy = band.map((v, i) => v * v * (weight[i] ?? 0));
  let share = weight.slice();
  const tmp = new Float32Array(weight.length);
  let next = new Float32Array(weight.length);
  for (let pass = 0; pass < 3; pass++) {
    boxMean(energy, width, height, r, tmp, next);
    [energy, next] = [next, energy];
    boxMean(share, width, height, r, tmp, next);
    [share, next] = [next, share];
  }
  return { energy, share };
}

/** What the grain of one region is matched to: computed once, shared by every variant of a request. */
export interface GrainReference {
  width: number;
  height: number;
  /** 1 where generated, 0 where known. */
  isNew: Float32Array;
  /** The known pixels' local finest-band energy at each generated pixel (their mean out of reach). */
  target: Float32Array;
  sigma: number;
  radius: number;
}

/**
 * The known pixels' grain around the generated ones (`generated` > 0) of `original`; null when nothing,
 * or everything, is generated (nothing to add to, or nothing to match).
 */
export function grainReference(
  original: RgbaImage,
  generated: MaskImage,
  options: Pick<GrainOptions, 'bandSigma' | 'radius'> = {},
): GrainReference | null {
  const { width, height } = generated;
  const sigma = options.bandSigma ?? DEFAULT_BAND_SIGMA;
  const radius = options.radius ?? DEFAULT_RADIUS;
  const isNew = new Float32Array(width * height);
  let newCount = 0;
  for (let i = 0; i < isNew.length; i++) {
    isNew[i] = (generated.data[i] ?? 0) > 0 ? 1 : 0;
    newCount += isNew[i] ?? 0;
  }
  if (newCount === 0 || newCount === isNew.length) return null;
  const isKnown = isNew.map((v) => 1 - v);
  const knownBand = finestBandWithin(luma(original), isKnown, width, height, sigma);
  let knownMean = 0;
  for (let i = 0; i < knownBand.length; i++) knownMean += (knownBand[i] ?? 0) ** 2 * (isKnown[i] ?? 0);
  knownMean /= isNew.length - newCount;
  const known = localEnergy(knownBand, isKnown, width, height, radius);
  const target = new Float32Array(width * height);
  for (let i = 0; i < target.length; i++) {
    const share = known.share[i] ?? 0;
    target[i] = share >= MIN_KNOWN_SHARE ? (known.energy[i] ?? 0) / share : knownMean;
  }
  return { width, height, isNew, target, sigma, radius };
}

/** Adds grain to the generated pixels of `result` (the reference's size), in place, up to the reference's energy. */
export function addGrain(result: RgbaImage, ref: GrainReference, seed: number, gain = GRAIN_GAIN): void {
  const { width, height, isNew, target, sigma, radius } = ref;
  const fresh = localEnergy(finestBandWithin(luma(result), isNew, width, height, sigma), isNew, width, height, radius);

  // The noise, band-limited the same way and scaled so that its own finest band has unit variance: the
  // band energy it adds is then gain² × the deficit, measured as the known pixels were.
  const white = new Float32Array(width * height);
  createNormalStream(seed).fill(white);
  const noise = finestBand(white, width, height, sigma);
  let variance = 0;
  for (const v of finestBand(noise, width, height, sigma)) variance += v * v;
  const unit = gain / Math.sqrt(variance / noise.length || 1);

  for (let i = 0; i < isNew.length; i++) {
    if (isNew[i] === 0) continue;
    const have = (fresh.energy[i] ?? 0) / Math.max(fresh.share[i] ?? 0, 1e-6);
    const deficit = (target[i] ?? 0) - have;
    if (deficit <= 0) continue;
    const add = Math.sqrt(deficit) * (noise[i] ?? 0) * unit;
    for (let c = 0; c < 3; c++) result.data[i * 4 + c] = clampByte((result.data[i * 4 + c] ?? 0) + add);
  }
}

/**
 * Adds grain to the generated pixels of `result` (where `generated` > 0), matched to the known pixels of
 * `original` (where `generated` is 0). Both images have the mask's size; `result` is changed in place.
 */
export function matchGrain(result: RgbaImage, original: RgbaImage, generated: MaskImage, options: GrainOptions): void {
  const ref = grainReference(original, generated, options);
  if (ref) addGrain(result, ref, options.seed, options.gain);
}
