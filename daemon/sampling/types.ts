/**
 * The sampler contract (k-diffusion style): a sampler is a small pure async function over a
 * `denoise(y_t, γ)` callable and a schedule array. No hidden state between calls.
 *
 * Notation (Palette / SR3): y_t = √γ·y₀ + √(1−γ)·ε, γ = ᾱ ∈ (0, 1); ŷ₀ = (y_t − √(1−γ)·ε̂)/√γ.
 * Tensors are Float32Array in NCHW layout: batch B (the variants) × 3 channels × H × W.
 */

export interface BatchShape {
  batch: number;
  height: number;
  width: number;
}

/** ε̂ for the whole batch at one noise level. The source image x is bound inside the callable. */
export type Denoise = (yT: Float32Array, gamma: number) => Promise<Float32Array>;

/** Fills `out` ([B,3,H,W]) with standard normal draws; batch item b draws from variant b's own stream. */
export type NoiseSource = (out: Float32Array) => void;

/**
 * Inpainting / uncropping: pixels where `mask` is 1 are known. After every step they are set to their
 * clean values (as in training, where the known pixels of y_t are the clean ones).
 */
export interface KnownPixels {
  /** Clean values, [B,3,H,W] (read where mask = 1, and where a pixel is held until its release level). */
  values: Float32Array;
  /** [H,W], 1 = known, 0 = generate. */
  mask: Float32Array;
  /**
   * Per-pixel strength (soft masks), [H,W]: a generated pixel (mask 0) is held at its clean value at
   * every level γ below releaseGamma[p], like a known pixel; at the first level with γ ≥ releaseGamma[p]
   * it is noised from its clean value to that level (SDEdit per pixel) and generated from then on.
   * 0 = generated from the start. Absent: every generated pixel from the start.
   */
  releaseGamma?: Float64Array;
}

export interface StepInfo {
  /** 1-based index of the model call just finished. */
  step: number;
  total: number;
  /** The current estimate ŷ₀ of the clean target, [B,3,H,W], clipped to [-1, 1]. Do not keep it. */
  x0: Float32Array;
}

export interface SamplerInput {
  denoise: Denoise;
  shape: BatchShape;
  /** Noise levels to visit, from the noisiest (smallest γ) to the cleanest (largest γ), ascending. */
  gammas: Float64Array;
  noise: NoiseSource;
  known?: KnownPixels;
  /**
   * Clean values to start from, [B,3,H,W] (the strength of SDEdit / img2img): the first level's y is
   * √γ₀·start + √(1−γ₀)·ε instead of pure noise. Used with a schedule cut to its cleaner end, so the
   * result keeps the start's large structure; absent = pure noise (strength 1, pure Palette).
   */
  start?: Float32Array;
  /**
   * A consistency projection applied in place to every clipped estimate ŷ₀, after the known pixels
   * are pasted: e.g. onto the images whose JPEG coefficients quantize to the input's. The updates,
   * `onStep` and the result all use the projected ŷ₀ (the ancestral mean then takes its ŷ₀ form).
   */
  project?: (x0: Float32Array) => void;
  /** DDIM only: 0 = deterministic, 1 = DDPM-like. */
  eta?: number;
  /** Checked before every model call; an aborted signal rejects with an AbortError. */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
}

/** Returns the final ŷ₀, [B,3,H,W] in [-1, 1], known pixels equal to their clean values. */
export type Sampler = (input: SamplerInput) => Promise<Float32Array>;

export type SamplerName = 'ancestral' | 'ddim' | 'dpmpp-2m';
