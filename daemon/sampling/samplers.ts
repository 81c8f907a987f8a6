/**
 * Palette's samplers (k-diffusion style): small async functions over a `denoise(y_t, γ)` callable and an
 * ascending schedule of noise levels γ. No state outlives a call; each call allocates its buffers once.
 *
 * Notation (Palette / SR3): y_t = √γ_t·y₀ + √(1−γ_t)·ε; the network predicts ε̂ = f(x, y_t, γ_t) and
 *     ŷ₀ = (y_t − √(1−γ_t)·ε̂) / √γ_t.
 * γ_t is the current level, γ_s the next (cleaner, γ_s > γ_t) one.
 *
 * Common to all samplers:
 * - start from y = N(0, I) (the `noise` source) at the first level γ_0 ≈ γ_min, or, given `start`,
 *   from y = √γ_0·start + √(1−γ_0)·ε (a schedule cut to its cleaner end: the strength of img2img);
 * - one model call per level (`gammas.length` calls); the result is ŷ₀ at the last level, clipped to
 *   [-1, 1] (the last level is close to clean, so this is the paper's final t = 1 → 0 step);
 * - known pixels (mask = 1) are set to their clean values after every update, as in training; with a
 *   soft mask (`known.releaseGamma`) a generated pixel is held like a known one until its release level,
 *   where it restarts from its clean value noised to that level (per-pixel strength);
 * - `project`, when given, maps every clipped ŷ₀ onto the set consistent with the input (after the
 *   known pixels), and the update uses the projected ŷ₀;
 * - `onStep` gets the clipped ŷ₀ (known pixels pasted) after every model call;
 * - `signal` is checked before every model call (an aborted signal rejects with its AbortError).
 * Arithmetic is float64 per element; tensors are stored as Float32Array.
 */
import { DaemonError } from '../errors.ts';
import { PAPER_INFERENCE_SCHEDULE, paperInferenceGammas, respacedGammas, type GammaRange } from './schedules.ts';
import type { Sampler, SamplerInput, SamplerName } from './types.ts';

const CHANNELS = 3;

function invalid(message: string): DaemonError {
  return new DaemonError('INVALID_ARGUMENT', message);
}

/** Checks the input and returns the tensor size B·3·H·W and the plane size H·W. */
function checkInput(input: SamplerInput): { size: number; plane: number } {
  const { batch, height, width } = input.shape;
  for (const d of [batch, height, width]) {
    if (!Number.isSafeInteger(d) || d < 1) throw invalid(`shape ${JSON.stringify(input.shape)} must be positive integers`);
  }
  const plane = height * width;
  const size = batch * CHANNELS * plane;
  const { gammas } = input;
  if (gammas.length < 1) throw invalid('a schedule needs at least one level');
  for (let i = 0; i < gammas.length; i++) {
    const g = gammas[i]!;
    if (!(g > 0 && g < 1)) throw invalid(`γ must lie in (0, 1), got gammas[${i}] = ${g}`);
    if (i > 0 && !(g > gammas[i - 1]!)) throw invalid(`gammas must be strictly ascending (noisiest first) at ${i}`);
  }
  if (input.known) {
    if (input.known.values.length !== size) throw invalid(`known.values has ${input.known.values.length} values, expected ${size}`);
    if (input.known.mask.length !== plane) throw invalid(`known.mask has ${input.known.mask.length} values, expected ${plane}`);
    const release = input.known.releaseGamma;
    if (release && release.length !== plane) throw invalid(`known.releaseGamma has ${release.length} values, expected ${plane}`);
  }
  if (input.start && input.start.length !== size) throw invalid(`start has ${input.start.length} values, expected ${size}`);
  if (input.eta !== undefined && !(input.eta >= 0 && input.eta <= 1)) throw invalid(`η must lie in [0, 1], got ${input.eta}`);
  return { size, plane };
}

/** y ← m·v + (1 − m)·y per pixel: exactly the clean value v where the mask is 1, y unchanged where 0. */
function pasteKnown(buf: Float32Array, values: Float32Array, mask: Float32Array, plane: number): void {
  for (let i = 0; i < buf.length; i++) {
    const m = mask[i % plane]!;
    if (m !== 0) buf[i] = m * values[i]! + (1 - m) * buf[i]!;
  }
}

/** The pixels one sampler run holds at their clean values, level by level. */
interface HeldPixels {
  /** Pastes the clean values where pixels are held at level γ (known, or soft-mask pixels not yet released). */
  paste(buf: Float32Array, gamma: number): void;
  /**
   * Before the model call at level k > 0: pixels released there restart from their clean value noised
   * to γ_k. Returns the released pixels (indices into one H×W plane).
   */
  release(y: Float32Array, k: number): number[];
}

const NONE_RELEASED: number[] = [];
const NOTHING_HELD: HeldPixels = { paste: () => {}, release: () => NONE_RELEASED };

function heldPixels(input: SamplerInput, plane: number): HeldPixels {
  const { known, gammas } = input;
  if (!known) return NOTHING_HELD;
  const { values, mask, releaseGamma } = known;
  if (!releaseGamma) return { paste: (buf) => pasteKnown(buf, values, mask, plane), release: () => NONE_RELEASED };
  const maskAt = new Float32Array(plane);
  let maskGamma = Number.NaN;
  let z: Float32Array | undefined;
  return {
    paste(buf, gamma) {
      if (gamma !== maskGamma) {
        for (let p = 0; p < plane; p++) maskAt[p] = releaseGamma[p]! > gamma ? 1 : mask[p]!;
        maskGamma = gamma;
      }
      pasteKnown(buf, values, maskAt, plane);
    },
    release(y, k) {
      const gamma = gammas[k]!;
      const previous = gammas[k - 1]!;
      const released: number[] = [];
      for (let p = 0; p < plane; p++) {
        const r = releaseGamma[p]!;
        if (mask[p] !== 1 && r > previous && r <= gamma) released.push(p);
      }
      if (released.length === 0) return released;
      z ??= new Float32Array(y.length);
      input.noise(z);
      const signal = Math.sqrt(gamma);
      const noise = Math.sqrt(1 - gamma);
      for (let base = 0; base < y.length; base += plane) {
        for (const p of released) y[base + p] = signal * values[base + p]! + noise * z[base + p]!;
      }
      return released;
    },
  };
}

/** y ~ N(0, I), or √γ_0·start + √(1−γ_0)·ε given a start, then the pixels held at γ_0. */
function startFromNoise(input: SamplerInput, y: Float32Array, held: HeldPixels): void {
  input.noise(y);
  const { start } = input;
  const gamma0 = input.gammas[0]!;
  if (start) {
    const signal = Math.sqrt(gamma0);
    const noise = Math.sqrt(1 - gamma0);
    for (let i = 0; i < y.length; i++) y[i] = signal * start[i]! + noise * y[i]!;
  }
  held.paste(y, gamma0);
}

/** ε̂ = f(x, y_t, γ_t), after checking the abort signal. */
async function predictNoise(input: SamplerInput, y: Float32Array, gamma: number): Promise<Float32Array> {
  input.signal?.throwIfAborted();
  const eps = await input.denoise(y, gamma);
  if (eps.length !== y.length) throw invalid(`denoise returned ${eps.length} values for ${y.length}`);
  return eps;
}

/** x0 ← clip((y_t − √(1−γ_t)·ε̂) / √γ_t, −1, 1), held pixels pasted, then projected. */
function predictCleanClipped(
  y: Float32Array,
  eps: Float32Array,
  gamma: number,
  x0: Float32Array,
  input: SamplerInput,
  held: HeldPixels,
): void {
  const sqrtGamma = Math.sqrt(gamma);
  const sqrtOneMinusGamma = Math.sqrt(1 - gamma);
  for (let i = 0; i < y.length; i++) {
    const v = (y[i]! - sqrtOneMinusGamma * eps[i]!) / sqrtGamma;
    x0[i] = v > 1 ? 1 : v < -1 ? -1 : v;
  }
  held.paste(x0, gamma);
  input.project?.(x0);
}

/**
 * The paper's ancestral sampler (DDPM with variance 1 − α). From γ_t to γ_s, with α = γ_t / γ_s:
 *     y_s = (1/√α)·(y_t − (1 − α)/√(1 − γ_t)·ε̂) + √(1 − α)·z,   z ~ N(0, I).
 * The mean uses the raw ε̂ (no clipping), as in the paper; ŷ₀ is clipped for onStep and the result.
 * With a `project`ion the mean takes its ŷ₀ form (equal to the above for the unclipped ŷ₀), so the
 * step follows the projected estimate:
 *     y_s = √γ_s·(1 − α)/(1 − γ_t)·ŷ₀ + √α·(1 − γ_s)/(1 − γ_t)·y_t + √(1 − α)·z.
 * Noise draws: one for the start and one per update (gammas.length in all), plus one per level where
 * soft-mask pixels are released.
 */
export async function sampleAncestral(input: SamplerInput): Promise<Float32Array> {
  const { gammas, onStep } = input;
  const { size, plane } = checkInput(input);
  const held = heldPixels(input, plane);
  const y = new Float32Array(size);
  const x0 = new Float32Array(size);
  const z = new Float32Array(size);
  startFromNoise(input, y, held);
  const total = gammas.length;
  for (let k = 0; k < total; k++) {
    const gammaT = gammas[k]!;
    if (k > 0) held.release(y, k);
    const eps = await predictNoise(input, y, gammaT);
    predictCleanClipped(y, eps, gammaT, x0, input, held);
    onStep?.({ step: k + 1, total, x0 });
    if (k + 1 === total) break; // the final step: ŷ₀ itself (the mean with α = γ_t, no noise)
    const gammaS = gammas[k + 1]!;
    const alpha = gammaT / gammaS; // α = γ_t / γ_s
    const oneMinusAlpha = (gammaS - gammaT) / gammaS; // 1 − α without cancellation
    const meanScale = 1 / Math.sqrt(alpha); // 1/√α
    const epsScale = oneMinusAlpha / Math.sqrt(1 - gammaT); // (1 − α)/√(1 − γ_t)
    const sigma = Math.sqrt(oneMinusAlpha); // σ² = 1 − α
    input.noise(z);
    if (input.project) {
      const x0Scale = (Math.sqrt(gammaS) * oneMinusAlpha) / (1 - gammaT);
      const yScale = (Math.sqrt(alpha) * (1 - gammaS)) / (1 - gammaT);
      for (let i = 0; i < size; i++) y[i] = x0Scale * x0[i]! + yScale * y[i]! + sigma * z[i]!;
    } else {
      for (let i = 0; i < size; i++) y[i] = meanScale * (y[i]! - epsScale * eps[i]!) + sigma * z[i]!;
    }
    held.paste(y, gammaS);
  }
  return x0;
}

/**
 * DDIM (Song et al. 2021) with η, on the clipped ŷ₀ and the ε̂ re-derived from it:
 *     ŷ₀ = clip((y_t − √(1−γ_t)·ε̂)/√γ_t),   ε̂' = (y_t − √γ_t·ŷ₀)/√(1−γ_t),
 *     σ = η·√((1−γ_s)/(1−γ_t))·√(1 − γ_t/γ_s),
 *     y_s = √γ_s·ŷ₀ + √(1 − γ_s − σ²)·ε̂' + σ·z.
 * η = 0 is deterministic (no noise drawn after the start but for soft-mask releases); η = 1 has the DDPM
 * posterior variance.
 */
export async function sampleDdim(input: SamplerInput): Promise<Float32Array> {
  const { gammas, onStep } = input;
  const eta = input.eta ?? 0;
  const { size, plane } = checkInput(input);
  const held = heldPixels(input, plane);
  const y = new Float32Array(size);
  const x0 = new Float32Array(size);
  const z = new Float32Array(size); // stays zero when η = 0
  startFromNoise(input, y, held);
  const total = gammas.length;
  for (let k = 0; k < total; k++) {
    const gammaT = gammas[k]!;
    if (k > 0) held.release(y, k);
    const eps = await predictNoise(input, y, gammaT);
    predictCleanClipped(y, eps, gammaT, x0, input, held);
    onStep?.({ step: k + 1, total, x0 });
    if (k + 1 === total) break;
    const gammaS = gammas[k + 1]!;
    const sqrtGammaT = Math.sqrt(gammaT);
    const sqrtOneMinusGammaT = Math.sqrt(1 - gammaT);
    const sqrtGammaS = Math.sqrt(gammaS);
    const sigma = eta * Math.sqrt((1 - gammaS) / (1 - gammaT)) * Math.sqrt((gammaS - gammaT) / gammaS);
    const dirScale = Math.sqrt(Math.max(0, 1 - gammaS - sigma * sigma)); // √(1 − γ_s − σ²)
    if (eta > 0) input.noise(z);
    for (let i = 0; i < size; i++) {
      const x0i = x0[i]!;
      const epsRederived = (y[i]! - sqrtGammaT * x0i) / sqrtOneMinusGammaT;
      y[i] = sqrtGammaS * x0i + dirScale * epsRederived + sigma * z[i]!;
    }
    held.paste(y, gammaS);
  }
  return x0;
}

/** DPM-Solver's half log-SNR: λ = log(α/σ) = ½·log(γ/(1−γ)), with α = √γ and σ = √(1−γ). */
function halfLogSnr(gamma: number): number {
  return 0.5 * (Math.log(gamma) - Math.log1p(-gamma));
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022), data-prediction form with the clipped ŷ₀ as D. From level i to
 * i + 1, with h = λ_{i+1} − λ_i:
 *     first order:   y_{i+1} = (σ_{i+1}/σ_i)·y_i + α_{i+1}·(1 − e^(−h))·D_i
 *     second order:  the same with D = (1 + 1/(2r))·D_i − (1/(2r))·D_{i−1},   r = h_{i−1}/h_i.
 * The first update is first order (no D_{i−1} yet), and so is the last (into the final level; the
 * "lower order final" of Lu et al., steadier at few steps). Only the start (and soft-mask releases) draw noise.
 */
export async function sampleDpmSolverPP2M(input: SamplerInput): Promise<Float32Array> {
  const { gammas, onStep } = input;
  const { size, plane } = checkInput(input);
  const held = heldPixels(input, plane);
  const y = new Float32Array(size);
  let x0 = new Float32Array(size); // D_i
  let x0Prev = new Float32Array(size); // D_{i−1}
  startFromNoise(input, y, held);
  const total = gammas.length;
  let hPrev = 0;
  for (let k = 0; k < total; k++) {
    const gammaT = gammas[k]!;
    const released = k > 0 ? held.release(y, k) : NONE_RELEASED;
    const eps = await predictNoise(input, y, gammaT);
    predictCleanClipped(y, eps, gammaT, x0, input, held);
    // A pixel released here has no history of its own: its next update is first order (D_{i−1} = D_i).
    for (let base = 0; base < size && released.length > 0; base += plane) for (const p of released) x0Prev[base + p] = x0[base + p]!;
    onStep?.({ step: k + 1, total, x0 });
    if (k + 1 === total) break;
    const gammaS = gammas[k + 1]!;
    const h = halfLogSnr(gammaS) - halfLogSnr(gammaT);
    const sigmaRatio = Math.sqrt((1 - gammaS) / (1 - gammaT)); // σ_{i+1}/σ_i
    const dataScale = Math.sqrt(gammaS) * -Math.expm1(-h); // α_{i+1}·(1 − e^(−h))
    const secondOrder = k > 0 && k + 2 < total;
    if (secondOrder) {
      const r = hPrev / h;
      const wCur = 1 + 1 / (2 * r);
      const wPrev = 1 / (2 * r);
      for (let i = 0; i < size; i++) {
        y[i] = sigmaRatio * y[i]! + dataScale * (wCur * x0[i]! - wPrev * x0Prev[i]!);
      }
    } else {
      for (let i = 0; i < size; i++) y[i] = sigmaRatio * y[i]! + dataScale * x0[i]!;
    }
    held.paste(y, gammaS);
    const spare = x0Prev; // D_i becomes D_{i−1}; the next ŷ₀ overwrites the old D_{i−1}
    x0Prev = x0;
    x0 = spare;
    hPrev = h;
  }
  return x0;
}

export const SAMPLERS: Record<SamplerName, Sampler> = {
  ancestral: sampleAncestral,
  ddim: sampleDdim,
  'dpmpp-2m': sampleDpmSolverPP2M,
};

export const SAMPLER_NAMES: readonly SamplerName[] = ['ancestral', 'ddim', 'dpmpp-2m'];

export function isSamplerName(name: string): name is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(name);
}

/**
 * The levels a sampler visits for a requested step count inside the model's trained range:
 * - ancestral with 1000 steps: the paper's schedule clipped to the range (`paperInferenceGammas`; with
 *   the training range that is 468 levels, so 468 model calls, not 1000);
 * - ancestral with any other count, ddim, dpmpp-2m: `steps` levels evenly spaced in log-SNR
 *   (`respacedGammas`). (The paper's schedule cut to N steps would start far from pure noise.)
 */
export function scheduleFor(name: SamplerName, steps: number, gammaRange: GammaRange): Float64Array {
  const [gammaMin, gammaMax] = gammaRange;
  if (name === 'ancestral' && steps === PAPER_INFERENCE_SCHEDULE.steps) return paperInferenceGammas(gammaRange);
  return respacedGammas(gammaMin, gammaMax, steps);
}
