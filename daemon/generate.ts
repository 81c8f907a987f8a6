/**
 * One generation, start to finish, in-process: the request (already validated at the boundary) →
 * decoded pixels → the task's geometry → sampler + model → encoded result layers.
 *
 * Used by the WebSocket session (daemon/session.ts) and by `palette run` without a daemon, so both
 * paths produce the same pixels for the same seeds.
 */
import { randomInt } from 'node:crypto';
import { MAX_IMAGE_PIXELS, type CanvasRegion, type EncodedImage, type GenerateRequest, type StartedMessage } from '../shared/protocol.ts';
import { resolveExtend } from '../shared/validate.ts';
import { atPath, DaemonError } from './errors.ts';
import { decodePng, decodePngMask, encodePng, encodePreview } from './imaging.ts';
import { createJobRunner, type JobPreview, type JobProgress } from './job-runner.ts';
import type { ModelManifest, PaletteTask } from './model-manifest.ts';
import type { InstalledModel, ModelRegistry } from './model-registry.ts';
import type { Denoiser } from './model-runner.ts';
import type { ModelCalls } from './model-scheduler.ts';
import { sameRect, type Rect } from './rect.ts';
import { runColorize } from './tasks/colorize.ts';
import { estimateQuantization, type JpegQuantization } from './tasks/jpeg-consistency.ts';
import { runFill } from './tasks/fill.ts';
import { runRestore } from './tasks/restore.ts';
import type { MaskImage, ModelGeometry, ModelJob, RgbaImage, RunModelJob, TaskOutput } from './tasks/types.ts';
import { runUncrop } from './tasks/uncrop.ts';
import { cropRgba, tensorToRgba } from './tensor-image.ts';

/** The product's task names → the task names models are trained on (models/README.md). */
export const MODEL_TASK: Record<GenerateRequest['task'], PaletteTask> = {
  fill: 'inpaint',
  uncrop: 'uncrop',
  colorize: 'colorize',
  restore: 'jpeg',
};

export interface GenerateHooks {
  onStarted?: (started: Omit<StartedMessage, 'type' | 'id'>) => void;
  onProgress?: (progress: JobProgress) => void;
  /** Images of variants 0 … k−1 over `region` of the canvas (PROTOCOL.md §5.6). */
  onPreview?: (preview: { step: number; region: CanvasRegion; images: EncodedImage[] }) => void;
  onResult?: (result: {
    variant: number;
    seed: number;
    layer: { x: number; y: number; image: EncodedImage };
    canvas: { width: number; height: number };
  }) => void;
}

export interface GenerateOptions {
  /** Variants per model call; more are run in sub-batches. */
  maxBatch: number;
  /** The daemon's `limits.maxPixels`: PNG payloads are held to it while decoding. Default 64 Mi. */
  maxPixels?: number;
  /**
   * Routes the job's model calls (the daemon: through its ModelScheduler, so jobs take turns call by
   * call). Without it the job calls the model directly (`palette run` in-process).
   */
  viaScheduler?: (model: Denoiser) => ModelCalls;
}

export interface GenerateOutcome {
  sampleMs: number;
  seeds: number[];
}

/**
 * The side of the request's model jobs: the request's workingSize, else the manifest's for the task,
 * else the model's native resolution.
 */
export function workingSizeFor(request: GenerateRequest, manifest: ModelManifest): number {
  return request.workingSize ?? manifest.working_sizes?.[MODEL_TASK[request.task]] ?? manifest.native_resolution;
}

/**
 * Restore's default strength for heavy compression (and for pictures with no JPEG grid): starting
 * from the JPEG noised to the last 30 % of the schedule. On the validation photos (JPEG q10 at 256²,
 * palette-small-v3, models/palette-small-v3/README.md) strength 1 made restorations worse than the
 * JPEG (SWD 35.0 vs 30.4), 0.5 and below kept PSNR at or above it; at q5 0.3 was the best.
 */
export const DEFAULT_RESTORE_STRENGTH = 0.3;

/**
 * From quality 20 up the model has nothing left to add: at 0.3 its q20 restorations were 0.3 (256²)
 * and 0.6 (512²) SWD less realistic than the JPEG, at 0.15 level with it (23.3 / 29.45 dB at 256²)
 * or better (21.2 against 21.3 at 512², −0.01 dB; palette-small-v4's card).
 */
export const LIGHT_RESTORE_STRENGTH = 0.15;

/** Restore's default for a JPEG of estimated IJG `quality`: 0.3 up to q10, 0.15 from q20, linear between. */
export function restoreStrengthFor(quality: number | undefined): number {
  if (quality === undefined || quality <= 10) return DEFAULT_RESTORE_STRENGTH;
  if (quality >= 20) return LIGHT_RESTORE_STRENGTH;
  return DEFAULT_RESTORE_STRENGTH + ((quality - 10) / 10) * (LIGHT_RESTORE_STRENGTH - DEFAULT_RESTORE_STRENGTH);
}

/**
 * Extend's default strength: each pass starts from the photo mirrored outward (tasks/prefill.ts),
 * noised to half the schedule. On the validation photos (right-half uncrop at 256², working size 128,
 * palette-small-v3, models/palette-small-v3/README.md) strength 1 gave SWD 48.6 (reflection padding
 * alone: 35.4), 0.5 gave 38.3 and +0.6 dB at 2.6× the speed; 0.3 scored 36.1 but its variants were
 * near copies of each other (MS-SSIM 0.996 against 0.95 at 0.5).
 */
export const DEFAULT_UNCROP_STRENGTH = 0.5;

/**
 * The request's strength, else the task's default: restore (by the JPEG's quality) and extend start
 * from their pre-fills;
 * fill and colorize from pure noise (1), since a smooth pre-fill made fills less realistic at every
 * strength below 1 (free-form SWD 27.0 at 1, 27.9 at 0.7, 41.8 at 0.5).
 */
export function strengthFor(request: GenerateRequest, quantization?: JpegQuantization): number {
  if (request.strength !== undefined) return request.strength;
  if (request.task === 'restore') return restoreStrengthFor(quantization?.quality);
  return request.task === 'uncrop' ? DEFAULT_UNCROP_STRENGTH : 1;
}

/** The model for a request, or a coded error when it is missing or was not trained on the task. */
export function resolveModel(registry: ModelRegistry, request: GenerateRequest): InstalledModel {
  const model = registry.find(request.model);
  const task = MODEL_TASK[request.task];
  if (!model.manifest.tasks.includes(task)) {
    throw new DaemonError('TASK_NOT_SUPPORTED', `Model ${model.name} was not trained for ${request.task} (${task}); it knows ${model.manifest.tasks.join(', ')}.`);
  }
  return model;
}

export async function generate(request: GenerateRequest, registry: ModelRegistry, hooks: GenerateHooks,
  signal: AbortSignal, options: GenerateOptions): Promise<GenerateOutcome> {
  const model = resolveModel(registry, request);
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  const image = await decodeRequestImage(request, maxPixels);
  const mask = request.mask ? await decodeRequestMask(request, maxPixels) : undefined;
  signal.throwIfAborted();

  const runner = await registry.runner(model.name);
  const defaults = registry.defaultSampler(model);
  const sampler = request.sampler ?? defaults.name;
  const steps = request.steps ?? defaults.steps;
  const seeds = request.seeds ?? Array.from({ length: request.variants }, () => randomInt(0, 2 ** 32));
  hooks.onStarted?.({ model: model.name, sampler, steps, seeds, variants: seeds.length });

  const previewOptions = {
    intervalMs: request.preview?.intervalMs ?? 250,
    maxSize: request.preview?.maxSize ?? 256,
    format: request.preview?.format ?? 'jpeg',
  } as const;
  const previews = new PreviewEncoder(previewOptions.maxSize, previewOptions.format, seeds.length, hooks.onPreview);
  const finished = new FinishedSamples();
  // Restore's JPEG tables, estimated once: they set its default strength and its consistency projection.
  const quantization = request.task === 'restore' ? estimateQuantization(image) : undefined;
  const run: RunModelJob = createJobRunner(
    options.viaScheduler ? options.viaScheduler(runner) : runner,
    { sampler, steps, eta: request.eta ?? defaults.eta, seeds, maxBatch: options.maxBatch, strength: strengthFor(request, quantization) },
    {
      previewIntervalMs: hooks.onPreview ? previewOptions.intervalMs : 0,
      ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      onPreview: (p) => previews.offer(p),
      onSubBatchDone: (job, samples) => finished.record(job, samples),
    },
    signal,
  );
  const geometry: ModelGeometry = { workingSize: workingSizeFor(request, model.manifest), sizeMultiple: model.manifest.size_multiple };
  const started = performance.now();
  let output: TaskOutput;
  try {
    output = await runTask(request, image, mask, geometry, finished.counting(run), seeds.length, quantization);
  } catch (error) {
    if (!signal.aborted) throw error;
    // Cancelled: the variants whose sampling had finished are still sent, before `cancelled`.
    // Best effort: if that fails, the request still ends as the cancel it is.
    const replay = finished.replay(seeds.length);
    if (replay) {
      await previews.flush();
      await runTask(request, image, mask, geometry, replay.run, replay.variants, quantization)
        .then((partial) => sendResults(partial, seeds, hooks))
        .catch(() => undefined);
    }
    throw error;
  }
  const sampleMs = performance.now() - started;
  await previews.flush();
  await sendResults(output, seeds, hooks, signal);
  return { sampleMs, seeds };
}

async function sendResults(output: TaskOutput, seeds: number[], hooks: GenerateHooks, signal?: AbortSignal): Promise<void> {
  for (const [variant, layer] of output.layers.entries()) {
    signal?.throwIfAborted();
    const png = await encodePng(layer);
    hooks.onResult?.({
      variant,
      seed: seeds[variant] ?? 0,
      layer: { x: layer.x, y: layer.y, image: { format: 'png', width: layer.width, height: layer.height, data: png } },
      canvas: output.canvas,
    });
  }
}

/**
 * The samples of a request's finished sub-batches, so a cancel keeps whole variants. Only a request
 * of one model job with one group qualifies (fill, colorize, a one-tile restore or one-pass
 * extend): there the first k samples are variants 0 … k−1 complete, and running the task again for
 * k variants over those samples (no model call) composites exactly the layers a full run would
 * have made for them. In tiled or multi-pass requests no variant is complete before the last job.
 */
export class FinishedSamples {
  private jobs = 0;
  private latest: { job: ModelJob; samples: Float32Array[] } | null = null;

  /** `run`, counting the request's jobs. */
  counting(run: RunModelJob): RunModelJob {
    const counted: RunModelJob = (job) => {
      this.jobs++;
      return run(job);
    };
    return run.variantsPerCall ? Object.assign(counted, { variantsPerCall: run.variantsPerCall }) : counted;
  }

  record(job: ModelJob, samples: readonly Float32Array[]): void {
    this.latest = { job, samples: [...samples] };
  }

  /** A runner answering the task's one job from the finished samples, and how many variants they are. */
  replay(variants: number): { run: RunModelJob; variants: number } | null {
    const latest = this.latest;
    if (!latest || this.jobs !== 1 || (latest.job.groups?.length ?? 1) !== 1 || (latest.job.part?.count ?? 1) !== 1) return null;
    const done = latest.samples.length;
    if (done === 0 || done >= variants) return null;
    const run: RunModelJob = async (job) => {
      if (job.width !== latest.job.width || job.height !== latest.job.height || job.label !== latest.job.label) {
        throw new DaemonError('MODEL_RUN_FAILED', `replay of "${latest.job.label}" asked for another job ("${job.label}")`);
      }
      return latest.samples;
    };
    return { run, variants: done };
  }
}

function runTask(request: GenerateRequest, image: RgbaImage, mask: MaskImage | undefined, geometry: ModelGeometry,
  run: RunModelJob, variants: number, quantization?: JpegQuantization): Promise<TaskOutput> {
  switch (request.task) {
    case 'fill': {
      if (!mask) throw new DaemonError('INVALID_ARGUMENT', 'fill needs a mask');
      const f = request.fill ?? {};
      const options = {
        ...(f.contextPadding !== undefined ? { contextPadding: f.contextPadding } : {}),
        ...(f.feather !== undefined ? { feather: f.feather } : {}),
        ...(f.grow !== undefined ? { grow: f.grow } : {}),
        ...(f.colorMatch !== undefined ? { colorMatch: f.colorMatch } : {}),
        ...(f.maskMode !== undefined ? { maskMode: f.maskMode } : {}),
      };
      return runFill({ image, mask, options }, geometry, run, variants);
    }
    case 'colorize':
      return runColorize({ image }, geometry, run, variants);
    case 'uncrop':
      return runUncrop({ image, extend: resolveExtend(request.extend ?? {}, image.width, image.height) }, geometry, run, variants);
    case 'restore':
      return runRestore({ image, ...(quantization ? { quantization } : {}) }, geometry, run, variants);
  }
}

/** Decodes only what the request declares: rgba8 as is, `png` with the PNG decoder alone. */
async function decodeRequestImage(request: GenerateRequest, maxPixels: number): Promise<RgbaImage> {
  const payload = request.image;
  if (payload.format === 'rgba8') return { width: payload.width, height: payload.height, data: payload.data };
  return atPath('request.image.data', decodePng(payload.data, maxPixels));
}

async function decodeRequestMask(request: GenerateRequest, maxPixels: number): Promise<MaskImage | undefined> {
  const payload = request.mask;
  if (!payload) return undefined;
  if (payload.format === 'gray8') return { width: payload.width, height: payload.height, data: payload.data };
  return atPath('request.mask.data', decodePngMask(payload.data, maxPixels));
}

/** Previews may take at most this share of the sampling time (the rest is skipped, not queued). */
export const PREVIEW_BUDGET = 0.05;

interface PreparedPreview {
  step: number;
  firstVariant: number;
  images: RgbaImage[];
  size: { width: number; height: number };
  region: Rect;
}

/**
 * A preview's pixel size (PROTOCOL.md §5.6): the canvas region's aspect ratio, its longest side the
 * smaller of maxSize and the model's own pixels across the region, so a preview is never enlarged
 * beyond what the model computed, and a client that scales it into the region sees it undistorted.
 */
export function previewSize(region: Rect, inJob: Rect, maxSize: number): { width: number; height: number } {
  const longest = Math.min(maxSize, Math.max(inJob.width, inJob.height));
  const scale = longest / Math.max(region.width, region.height);
  return { width: Math.max(1, Math.round(region.width * scale)), height: Math.max(1, Math.round(region.height * scale)) };
}

/**
 * Encodes ŷ₀ previews off the sampling loop's critical path. At most one encode is in flight, and a
 * preview is skipped while the time spent on previews exceeds PREVIEW_BUDGET of the time since the
 * first offer: on a slow machine previews come less often instead of slowing sampling down.
 *
 * A step offered while an encode is in flight is skipped, except a run's first step (a new tile,
 * pass or sub-batch): it waits for the encode in flight and goes next, so every region being
 * generated shows up, however fast the model is next to the encoder. Only the latest such waits.
 *
 * Every delivery shows one region: the latest image of variants 0 … k−1 there. When the job moves
 * to another region (the next tile or pass), the previous region's images are dropped rather than
 * sent under the new region's rectangle.
 */
export class PreviewEncoder {
  private pending: Promise<void> = Promise.resolve();
  private busy = false;
  private waiting: PreparedPreview | undefined;
  private readonly latest: Array<EncodedImage | undefined>;
  private region: Rect | undefined;
  private startedAt: number | undefined;
  private spentMs = 0;

  constructor(
    private readonly maxSize: number,
    private readonly format: 'webp' | 'jpeg',
    variants: number,
    private readonly deliver: GenerateHooks['onPreview'],
  ) {
    this.latest = new Array(variants).fill(undefined);
  }

  offer(p: JobPreview): void {
    const now = performance.now();
    this.startedAt ??= now;
    const overBudget = this.spentMs > PREVIEW_BUDGET * (now - this.startedAt);
    if (!this.deliver || (!p.startsRun && (overBudget || this.busy))) return;
    const prepared = this.prepare(p);
    this.spentMs += performance.now() - now;
    if (this.busy) this.waiting = prepared;
    else this.encode(prepared);
  }

  /** Copies ŷ₀ to 8-bit now: the sampler reuses its buffer on the next step. */
  private prepare(p: JobPreview): PreparedPreview {
    const plane = 3 * p.height * p.width;
    const whole = p.inJob.x === 0 && p.inJob.y === 0 && p.inJob.width === p.width && p.inJob.height === p.height;
    const images = Array.from({ length: p.variants }, (_, i) => {
      const full = tensorToRgba(p.x0, p.width, p.height, i * plane);
      return whole ? full : cropRgba(full, p.inJob);
    });
    return { step: p.step, firstVariant: p.firstVariant, images, size: previewSize(p.region, p.inJob, this.maxSize), region: { ...p.region } };
  }

  /** Encodes `first`, then each run's first step that waited meanwhile, one at a time. */
  private encode(first: PreparedPreview): void {
    this.busy = true;
    this.pending = (async () => {
      try {
        for (let next: PreparedPreview | undefined = first; next; next = this.takeWaiting()) await this.encodeOne(next);
      } finally {
        this.busy = false;
      }
    })();
  }

  private takeWaiting(): PreparedPreview | undefined {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting;
  }

  private async encodeOne({ step, firstVariant, images, size, region }: PreparedPreview): Promise<void> {
    const encodeStart = performance.now();
    try {
      const encoded = await Promise.all(images.map((img) => encodePreview(img, this.maxSize, this.format, size)));
      if (!this.region || !sameRect(this.region, region)) {
        this.latest.fill(undefined);
        this.region = region;
      }
      encoded.forEach((e, i) => (this.latest[firstVariant + i] = e));
      // Variants 0 … k−1 only: images[i] is variant i (a later sub-batch can show before an
      // earlier one has at this region when its previews were skipped; it waits for them).
      const ready: EncodedImage[] = [];
      for (const e of this.latest) {
        if (!e) break;
        ready.push(e);
      }
      if (ready.length > 0) this.deliver?.({ step, region, images: ready });
    } finally {
      this.spentMs += performance.now() - encodeStart;
    }
  }

  flush(): Promise<void> {
    return this.pending;
  }
}
