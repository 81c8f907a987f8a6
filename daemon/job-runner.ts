/**
 * Binds a task's model jobs to the sampler and the model: the hop between daemon/tasks (geometry) and
 * daemon/sampling (math) + daemon/model-runner (onnxruntime).
 *
 * For every job: the hole in x is filled with N(0,1) noise (the paper: no mask channel), seeded per
 * variant; the variants run as one batch (split into sub-batches of at most `maxBatch`); every step
 * reports progress and, at most every `previewIntervalMs`, the current estimate ŷ₀ for previews.
 *
 * Progress counts over the whole request (PROTOCOL.md §5.5): a runner serves every job of one
 * request, so steps go on from tile to tile, pass to pass and sub-batch to sub-batch, and the total
 * is planned from the job's `part` (job i of n) and the sub-batches it splits into.
 */
import type { ModelCalls } from './model-scheduler.ts';
import type { Rect } from './rect.ts';
import { createNormalStream, noiseSourceForSeeds } from './sampling/random.ts';
import { SAMPLERS, scheduleFor } from './sampling/samplers.ts';
import { releaseGammasForStrengths, scheduleForStrength } from './sampling/schedules.ts';
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
  /**
   * (0, 1]: for jobs that carry their current pixels (`ModelJob.start`), sample only the cleaner
   * ⌈strength·steps⌉ levels, starting from those pixels noised to the first. Default 1 (pure noise).
   */
  strength?: number;
}

export const DEFAULT_MAX_BATCH_PIXELS = 8 * 256 * 256;

/** Variants per model call for a job of this size. */
export function variantsPerCall(settings: SamplingSettings, height: number, width: number): number {
  const byMemory = Math.floor((settings.maxBatchPixels ?? DEFAULT_MAX_BATCH_PIXELS) / (height * width));
  return Math.max(1, Math.min(settings.maxBatch, byMemory));
}

export interface JobProgress {
  /** Sampler steps completed over the whole request so far; never decreases. */
  step: number;
  /** Sampler steps planned for the whole request (≥ step). */
  total: number;
  label: string;
  etaMs: number;
}

export interface JobPreview {
  /** The request-wide step (as in JobProgress) the estimate is from. */
  step: number;
  /** The first step of a sampler run (a new sub-batch, tile or pass): its variants' first look. */
  startsRun: boolean;
  /** ŷ₀ for the variants of the current sub-batch: [n,3,H,W] in [-1,1]. Copy it if you keep it. */
  x0: Float32Array;
  firstVariant: number;
  variants: number;
  height: number;
  width: number;
  /** The canvas region the job covers (ModelJob.region), and the part of the H×W estimate over it. */
  region: Rect;
  inJob: Rect;
}

export interface JobEvents {
  onProgress?: (progress: JobProgress) => void;
  onPreview?: (preview: JobPreview) => void;
  /** Minimum time between previews; 0 = none. */
  previewIntervalMs: number;
  /**
   * After each sub-batch of a job: the job and its samples so far (items 0 … k−1, in order). A
   * cancelled request delivers the variants these cover (generate.ts) instead of dropping them.
   */
  onSubBatchDone?: (job: ModelJob, samples: readonly Float32Array[]) => void;
}

/** A second stream per seed for the hole noise of x, so it never aliases the sampler's noise. */
const COND_NOISE_SALT = 0x5bd1e995;

export function createJobRunner(model: ModelCalls, settings: SamplingSettings, events: JobEvents,
  signal: AbortSignal): RunModelJob & Required<Pick<RunModelJob, 'variantsPerCall'>> {
  const sample = SAMPLERS[settings.sampler];
  const fullSchedule = scheduleFor(settings.sampler, settings.steps, model.manifest.gamma_range);
  const strength = settings.strength ?? 1;
  const partialSchedule = strength < 1 ? scheduleForStrength(fullSchedule, strength) : fullSchedule;
  let stepsDone = 0; // over every job of the request
  let requestStarted: number | undefined;
  const run = async (job: ModelJob) => {
    const plane = job.height * job.width;
    const perVariant = 3 * plane;
    const fromStart = job.start !== undefined && strength < 1;
    const gammas = fromStart ? partialSchedule : fullSchedule;
    const variants = settings.seeds.length;
    const groups = job.groups?.length ?? 1;
    const outputs: Float32Array[] = [];
    const calls = planCalls(groups, variants, variantsPerCall(settings, job.height, job.width));
    const part = job.part ?? { index: 0, count: 1 };
    // Calls of the request's later jobs: counted exactly from their groups when the task says how many.
    const laterCalls = part.groupsAfter !== undefined
      ? planCalls(part.groupsAfter, variants, variantsPerCall(settings, job.height, job.width)).length
      : (part.count - part.index - 1) * calls.length;
    const knownMask = job.hole ? invert(job.hole) : undefined; // the same for every sub-batch
    // Soft masks: each hole pixel released at the level its share of the strength starts at.
    const releaseGamma = job.strengthMap ? releaseGammasForStrengths(fullSchedule, scaled(job.strengthMap, strength)) : undefined;
    requestStarted ??= performance.now();
    for (const [c, { first, n }] of calls.entries()) {
      // Item i of the job is group ⌊i/V⌋'s variant i mod V, and draws from that variant's seed.
      const seeds = Array.from({ length: n }, (_, i) => settings.seeds[(first + i) % variants]!);
      const group = Math.floor(first / variants);
      const where = job.groups?.[group] ?? job.region;
      const region = where.canvas;
      const inJob = where.inJob ?? { x: 0, y: 0, width: job.width, height: job.height };
      const firstVariant = first - group * variants;
      const previewed = Math.min(n, variants - firstVariant); // the preview shows the call's first group
      const clean = job.cond.subarray(first * perVariant, (first + n) * perVariant);
      const cond = job.hole ? fillHoleWithNoise(clean, job.hole, seeds, plane) : clean;
      const known = knownMask ? { values: clean, mask: knownMask, ...(releaseGamma ? { releaseGamma } : {}) } : undefined;
      const gammaBatch = new Float32Array(n);
      const before = stepsDone;
      const laterSubBatches = calls.length - c - 1 + laterCalls;
      const label = groups > 1 ? job.label : subBatchLabel(job.label, first, n, variants);
      let lastPreview = -Infinity;
      let runSteps = 0;
      const onStep = ({ step, total: steps, x0 }: StepInfo) => {
        runSteps = steps;
        const done = before + step;
        const planned = done + (steps - step) + laterSubBatches * steps;
        const elapsed = performance.now() - (requestStarted ?? 0);
        const etaMs = (elapsed / Math.max(1, done)) * (planned - done);
        events.onProgress?.({ step: done, total: planned, label, etaMs });
        const now = performance.now();
        if (events.onPreview && events.previewIntervalMs > 0 && (now - lastPreview >= events.previewIntervalMs || step === steps)) {
          lastPreview = now;
          events.onPreview({
            step: done, startsRun: step === 1, x0: x0.subarray(0, previewed * perVariant), firstVariant, variants: previewed,
            height: job.height, width: job.width, region, inJob,
          });
        }
      };
      const project = job.project;
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
        ...(fromStart && job.start ? { start: job.start.subarray(first * perVariant, (first + n) * perVariant) } : {}),
        ...(project ? { project: (x0: Float32Array) => project(x0, first) } : {}),
        eta: settings.eta,
        signal,
        onStep,
      });
      stepsDone = before + runSteps;
      for (let i = 0; i < n; i++) outputs.push(result.slice(i * perVariant, (i + 1) * perVariant));
      events.onSubBatchDone?.(job, outputs);
    }
    return outputs;
  };
  return Object.assign(run, { variantsPerCall: (height: number, width: number) => variantsPerCall(settings, height, width) });
}

/**
 * The model calls of a job of `groups` × `variants` items, at most `perCall` items each: whole groups
 * together when a group fits in a call, else each group's variants in sub-batches.
 */
export function planCalls(groups: number, variants: number, perCall: number): { first: number; n: number }[] {
  const calls: { first: number; n: number }[] = [];
  if (variants <= perCall) {
    const groupsPerCall = Math.floor(perCall / variants);
    for (let g = 0; g < groups; g += groupsPerCall) calls.push({ first: g * variants, n: Math.min(groupsPerCall, groups - g) * variants });
  } else {
    for (let g = 0; g < groups; g++) {
      for (let f = 0; f < variants; f += perCall) calls.push({ first: g * variants + f, n: Math.min(perCall, variants - f) });
    }
  }
  return calls;
}

function subBatchLabel(label: string, first: number, n: number, total: number): string {
  return n === total ? label : `${label} (variants ${first + 1}–${first + n} of ${total})`;
}

function scaled(shares: Float32Array, strength: number): Float32Array {
  return shares.map((s) => s * strength);
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
