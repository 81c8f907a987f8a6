/**
 * Noise schedules as plain data: Float64Arrays of γ (= ᾱ, the cumulative signal fraction).
 *
 * A sampling schedule lists the levels to visit in ascending γ: the noisiest level first, the cleanest
 * last. Every level must lie inside the model's trained range [γ_min, γ_max] (the manifest's
 * `gamma_range`): outside it the network extrapolates.
 *
 * Log-SNR: λ = log(γ / (1 − γ)). (DPM-Solver's λ is half of this: log(α/σ) with α = √γ, σ = √(1 − γ).)
 */
import { DaemonError } from '../errors.ts';

/** [γ_min, γ_max]: the γ interval the network saw in training (manifest `gamma_range`). */
export type GammaRange = readonly [min: number, max: number];

/** The highest γ a respaced schedule visits: λ(1) is infinite, so levels stop just below 1. */
export const GAMMA_CAP = 1 - 1e-6;

/** Palette's training schedule (as `TrainingSchedule` in models/training/palette_training/diffusion.py). */
export const TRAINING_SCHEDULE = { betaStart: 1e-6, betaEnd: 0.01, steps: 2000 } as const;

/** The paper's inference schedule: linear β from 1e-4 to 0.09 over 1000 refinement steps. */
export const PAPER_INFERENCE_SCHEDULE = { betaStart: 1e-4, betaEnd: 0.09, steps: 1000 } as const;

/** numpy.linspace(start, stop, num): x_i = i·step + start, with the last value exactly `stop`. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** γ_t = ∏_{τ≤t} (1 − β_τ) for linear β: index t = 0 … T, γ_0 = 1 (descending in t). */
function linearBetaGammas(betaStart: number, betaEnd: number, steps: number): Float64Array {
  const betas = linspace(betaStart, betaEnd, steps);
  const gammas = new Float64Array(steps + 1);
  gammas[0] = 1;
  let prod = 1;
  for (let t = 1; t <= steps; t++) {
    prod *= 1 - (betas[t - 1] as number);
    gammas[t] = prod;
  }
  return gammas;
}

function checkRange(range: GammaRange): void {
  const [lo, hi] = range;
  // NaN fails every comparison and ±∞ fails a bound, so no Number.isFinite is needed.
  if (!(lo > 0 && lo < hi && hi <= 1)) {
    throw new DaemonError('INVALID_ARGUMENT', `gamma range [${lo}, ${hi}] must satisfy 0 < γ_min < γ_max ≤ 1`);
  }
}

function checkSteps(steps: number): void {
  if (!Number.isSafeInteger(steps) || steps < 1) {
    throw new DaemonError('INVALID_ARGUMENT', `steps must be a positive integer, got ${steps}`);
  }
}

/**
 * The training schedule's γ_t for t = 0 … 2000 (index t, so DESCENDING: γ_0 = 1, γ_2000 ≈ 4.39e-5),
 * exactly as `TrainingSchedule().gammas()` in Python. Not a sampling schedule; for tests and docs.
 */
export function trainingGammas(): Float64Array {
  const { betaStart, betaEnd, steps } = TRAINING_SCHEDULE;
  return linearBetaGammas(betaStart, betaEnd, steps);
}

/** [γ_T, γ_0] = [≈ 4.39e-5, 1] of the training schedule, as `TrainingSchedule().gamma_range()`. */
export function gammaRangeOfTraining(): [number, number] {
  const g = trainingGammas();
  return [g[g.length - 1] as number, g[0] as number];
}

/**
 * `steps` levels evenly spaced in λ = log(γ/(1−γ)) from γ_min to min(γ_max, 1 − 1e-6), ascending γ:
 * Python's `respaced_gammas` (to ~1e-15 relative), except that no level leaves [γ_min, γ_max] by rounding.
 * With steps = 1 the only level is γ_min (as numpy.linspace with num = 1).
 */
export function respacedGammas(gammaMin: number, gammaMax: number, steps: number): Float64Array {
  checkRange([gammaMin, gammaMax]);
  checkSteps(steps);
  const hi = Math.min(gammaMax, GAMMA_CAP);
  const lambda = (g: number): number => Math.log(g) - Math.log1p(-g);
  const lambdas = linspace(lambda(gammaMin), lambda(hi), steps);
  const gammas = new Float64Array(steps);
  // γ = sigmoid(λ) = 1 / (1 + e^(−λ)), clamped to [γ_min, hi]: the round trip γ → λ → γ can land a few
  // ulps outside (Python's γ_0 for the training range is 4.3859782361332065e-05 < γ_min = …086e-05).
  for (let i = 0; i < steps; i++) {
    const g = 1 / (1 + Math.exp(-(lambdas[i] as number)));
    gammas[i] = Math.min(Math.max(g, gammaMin), hi);
  }
  return gammas;
}

/**
 * The paper's inference schedule (linear β from 1e-4 to 0.09, 1000 steps, γ_t = ∏(1 − β)), visited
 * from t = 1000 down to t = 1 (ascending γ), CLIPPED to the trained range:
 *
 * - levels below γ_min are dropped, and sampling starts from pure noise at the first kept level. The
 *   paper's γ_1000 ≈ 6.6e-21 is far below anything a model trained on linear β 1e-6…0.01 (T = 2000) has
 *   seen (γ_min ≈ 4.4e-5): about half of the 1000 levels lie below it (with the training range, 532
 *   are dropped and 468 kept). Running the network there is extrapolation, and re-implementations that
 *   do so leave noise in their outputs. Starting at γ_min from N(0, I) loses nothing: at γ ≈ 4e-5 the
 *   signal √γ·y₀ ≈ 0.007·y₀ is already below the quantisation step of an 8-bit image.
 * - levels above γ_max are clamped to γ_max, and the clamped repeats are merged into one level (a
 *   repeated level is a wasted model call: α = γ_t/γ_s = 1 makes the ancestral step the identity).
 *   With a model's usual γ_max = 1 nothing is clamped: the cleanest level is γ_1 = 1 − 1e-4.
 *
 * The final ŷ₀ at γ_1 is the paper's last step (t = 1 → 0): its mean with α_1 = γ_1 equals ŷ₀.
 */
export function paperInferenceGammas(gammaRange: GammaRange): Float64Array {
  checkRange(gammaRange);
  const [lo, hi] = gammaRange;
  const { betaStart, betaEnd, steps } = PAPER_INFERENCE_SCHEDULE;
  const byT = linearBetaGammas(betaStart, betaEnd, steps); // index t: γ_t, descending in t
  const kept: number[] = [];
  for (let t = steps; t >= 1; t--) {
    const g = byT[t] as number;
    if (g < lo) continue;
    const clamped = Math.min(g, hi);
    if (kept[kept.length - 1] === clamped) continue; // undefined while kept is empty
    kept.push(clamped);
  }
  if (kept.length === 0) {
    throw new DaemonError('INVALID_ARGUMENT', `no level of the paper's schedule lies above γ_min = ${lo}`);
  }
  return Float64Array.from(kept);
}

/**
 * The cleaner end of a schedule for a strength s ∈ (0, 1] (img2img / SDEdit): its last ⌈s·n⌉ levels,
 * at least one. Sampling then starts from the current pixels noised to the first kept level, and the
 * model calls (and time) shrink with s. Strength 1 is the whole schedule: pure Palette.
 */
export function scheduleForStrength(gammas: Float64Array, strength: number): Float64Array {
  if (!(strength > 0 && strength <= 1)) throw new DaemonError('INVALID_ARGUMENT', `strength must lie in (0, 1], got ${strength}`);
  return gammas.slice(gammas.length - levelsForStrength(gammas.length, strength));
}

/** How many of a schedule's n levels a strength s ∈ (0, 1] samples: ⌈s·n⌉, at least one. */
function levelsForStrength(n: number, strength: number): number {
  return Math.max(1, Math.ceil(strength * n - 1e-9));
}

/**
 * Per-pixel strength (soft masks) as the sampler's release levels: a pixel of strength s > 0 is
 * generated from the level where `scheduleForStrength(gammas, s)` would start, so it is sampled over the
 * same cleaner ⌈s·n⌉ levels; strength 0 is never released (+∞: the pixel keeps its value).
 */
export function releaseGammasForStrengths(gammas: Float64Array, strengths: Float32Array): Float64Array {
  const n = gammas.length;
  const out = new Float64Array(strengths.length);
  for (let p = 0; p < strengths.length; p++) {
    const s = Math.min(1, strengths[p]!);
    out[p] = s > 0 ? gammas[n - levelsForStrength(n, s)]! : Number.POSITIVE_INFINITY;
  }
  return out;
}
