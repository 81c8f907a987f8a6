/**
 * Binds a task's model jobs to the sampler and the model: the hop between daemon/tasks (geometry) and
 * daemon/sampling (math) + daemon/model-runner (onnxruntime).
 *
 * For every job: the hole in x is filled with N(0,1) noise (the paper: no mask channel), seeded per
 * variant; the variants run as one batch (split into sub-batches of at most `maxBatch`); every step
 * reports progress and, at most every `previewIntervalMs`, the current estimate ŷ₀ for previews.
 */
import type { ModelRunner } from './model-runner.ts';
import { createNormalStream, noiseSourceForSeeds } from './sampling/random.ts';
import { SAMPLERS, scheduleFor } from './sampling/samplers.ts';
import type { SamplerName, StepInfo } from './sampling/types.ts';
import type { ModelJob, RunModelJob } from './tasks/types.ts';

export interface SamplingSettings {
  sampler: SamplerName;
  steps: number;
  eta: number;
  /** One seed per variant; variant i's pixels depend only on seeds[i]. */
  seeds: number[];
  /** Variants per model call at most; the rest run in further sub-batches. */
  maxBatch: number;
  /**
   * Pixels per model call at most (batch × H × W), the memory bound: activations grow with it, and a
   * batch of 8 at 256² needs about as much as 2 at 512². Default 8 × 256².
   */
  maxBatchPixels?: number;
}

export const DEFAULT_MAX_BATCH_PIXELS = 8 * 256 * 256;

/** Variants per model call for a job of this size. */
export function variantsPerCall(settings: SamplingSettings, height: number, width: number): number {
  const byMemory = Math.floor((settings.maxBatchPixels ?? DEFAULT_MAX_BATCH_PIXELS) / (height * width));
  return Math.max(1, Math.min(settings.maxBatch, byMemory));
}

export interface JobProgress {
  step: number;
  total: number;
  label: string;
  etaMs: number;
}

export interface JobPreview {
  step: number;
  /** ŷ₀ for the variants of the current sub-batch: [n,3,H,W] in [-1,1]. Copy it if you keep it. */
  x0: Float32Array;
  firstVariant: number;
  variants: number;
  height: number;
  width: number;
}

export interface JobEvents {
  onProgress?: (progress: JobProgress) => void;
  onPreview?: (preview: JobPreview) => void;
  /** Minimum time between previews; 0 = none. */
  previewIntervalMs: number;
}

/** A second stream per seed for the hole noise of x, so it never aliases the sampler's noise. */
const COND_NOISE_SALT = 0x5bd1e995;

export function createJobRunner(model: ModelRunner, settings: SamplingSettings, events: JobEvents,
  signal: AbortSignal): RunModelJob {
  const sample = SAMPLERS[settings.sampler];
  const gammas = scheduleFor(settings.sampler, settings.steps, model.manifest.gamma_range);
  return async (job: ModelJob) => {
    const plane = job.height * job.width;
    const perVariant = 3 * plane;
    const total = settings.seeds.length;
    const outputs: Float32Array[] = [];
    const perCall = variantsPerCall(settings, job.height, job.width);
    const knownMask = job.hole ? invert(job.hole) : undefined; // the same for every sub-batch
    for (let first = 0; first < total; first += perCall) {
      const seeds = settings.seeds.slice(first, first + perCall);
      const n = seeds.length;
      const clean = job.cond.subarray(first * perVariant, (first + n) * perVariant);
      const cond = job.hole ? fillHoleWithNoise(clean, job.hole, seeds, plane) : clean;
      const known = knownMask ? { values: clean, mask: knownMask } : undefined;
      const gammaBatch = new Float32Array(n);
      const started = performance.now();
      let lastPreview = -Infinity;
      const onStep = ({ step, total: steps, x0 }: StepInfo) => {
        const elapsed = performance.now() - started;
        const remainingBatches = Math.ceil((total - first - n) / perCall);
        const etaMs = (elapsed / step) * (steps - step + remainingBatches * steps);
        events.onProgress?.({ step, total: steps, label: subBatchLabel(job.label, first, n, total), etaMs });
        const now = performance.now();
        if (events.onPreview && events.previewIntervalMs > 0 && (now - lastPreview >= events.previewIntervalMs || step === steps)) {
          lastPreview = now;
          events.onPreview({ step, x0, firstVariant: first, variants: n, height: job.height, width: job.width });
        }
      };
      const result = await sample({
        denoise: async (yT, gamma) => {
          gammaBatch.fill(gamma);
          const eps = await model.denoise({
            cond: { data: cond, dims: [n, 3, job.height, job.width] },
            yT: { data: yT, dims: [n, 3, job.height, job.width] },
            gamma: gammaBatch,
          });
          return eps.data;
        },
        shape: { batch: n, height: job.height, width: job.width },
        gammas,
        noise: noiseSourceForSeeds(seeds, { batch: n, height: job.height, width: job.width }),
        ...(known ? { known } : {}),
        eta: settings.eta,
        signal,
        onStep,
      });
      for (let i = 0; i < n; i++) outputs.push(result.slice(i * perVariant, (i + 1) * perVariant));
    }
    return outputs;
  };
}

function subBatchLabel(label: string, first: number, n: number, total: number): string {
  return n === total ? label : `${label} (variants ${first + 1}–${first + n} of ${total})`;
}

function invert(hole: Float32Array): Float32Array {
  const mask = new Float32Array(hole.length);
  for (let i = 0; i < hole.length; i++) mask[i] = 1 - (hole[i] ?? 0);
  return mask;
}

/** x with its hole pixels replaced by N(0,1) draws from each variant's own cond-noise stream. */
function fillHoleWithNoise(clean: Float32Array, hole: Float32Array, seeds: number[], plane: number): Float32Array {
  const out = new Float32Array(clean);
  seeds.forEach((seed, b) => {
    const normal = createNormalStream((seed ^ COND_NOISE_SALT) >>> 0);
    for (let c = 0; c < 3; c++) {
      const base = (b * 3 + c) * plane;
      for (let p = 0; p < plane; p++) {
        const draw = normal();
        if ((hole[p] ?? 0) > 0.5) out[base + p] = draw;
      }
    }
  });
  return out;
}
