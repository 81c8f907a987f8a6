/**
 * The task contract: a task (fill, colorize, uncrop, restore) turns an editor request into one or more
 * model jobs at the model's working size, and the samples back into an RGBA layer per variant.
 *
 * Tasks know geometry (context crops, working size, tiling, compositing); they know nothing about
 * samplers, seeds, onnxruntime or the socket. They call `run` for every model-sized job.
 */
import type { Rect } from '../rect.ts';

/** 8-bit RGBA, row-major, straight (non-premultiplied) alpha. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array; // width * height * 4
}

/** 8-bit single channel, 255 = selected / generate, 0 = keep. */
export interface MaskImage {
  width: number;
  height: number;
  data: Uint8Array; // width * height
}

/** A layer to put on the canvas at (x, y); its alpha says where it covers the original. */
export interface RgbaLayer extends RgbaImage {
  x: number;
  y: number;
}

/**
 * One model-sized job for all variants at once.
 * `cond` is x for every variant, [B,3,H,W] in [-1, 1]; for inpaint/uncrop its hole pixels are
 * ignored (the runner fills them with N(0,1) noise, seeded per variant, as the paper does), and its
 * known pixels are also the clean target values pasted back after every step.
 */
export interface ModelJob {
  cond: Float32Array;
  height: number; // multiple of the model's size_multiple
  width: number;
  /** [H,W], 1 = generate, 0 = known. Absent for colorize and restore (every pixel is generated). */
  hole?: Float32Array;
  /**
   * [H,W] in [0, 1], soft masks: each hole pixel's share of the request's strength. A pixel at share s
   * is held at its current value (its `cond`) until the sampler reaches the level a start of strength
   * s·strength would begin at, and generated from there. Absent: every hole pixel at the full strength.
   */
  strengthMap?: Float32Array;
  /** A short label for progress events, e.g. "tile 3/12" or "pass 2/3". */
  label: string;
  /**
   * Job `index` (from 0) of the `count` jobs of this task, so progress can count over all of them;
   * `groupsAfter`: how many groups the later jobs hold in all, when they differ from this one's.
   */
  part?: { index: number; count: number; groupsAfter?: number };
  /**
   * Where the job's pixels lie on the output canvas (result.layer's coordinates): previews show this
   * region and say where it is (PROTOCOL.md §5.6), so a client can place them. `inJob` is the part of
   * the job's W×H that covers it when that is not all of it (restore pads a small tile by reflection).
   */
  region: JobRegion;
  /**
   * Independent inputs in one job (restore's tiles): `cond` then holds groups.length × B items, group g's
   * variant v at g·B + v (drawing from variant v's seed), and each group has its own region.
   * Results come back in the same order. Absent: one group (the job's region).
   */
  groups?: JobRegion[];
  /**
   * The current pixels, [B,3,H,W] in [-1, 1]: with a request strength below 1 sampling starts from
   * them noised to a partial level instead of from pure noise. Absent: strength does not apply.
   */
  start?: Float32Array;
  /**
   * A consistency projection of every estimate ŷ₀ in place: `x0` holds n items of the job starting at
   * item `first` ([n,3,H,W]), e.g. onto the images whose JPEG coefficients quantize to the input's.
   */
  project?: (x0: Float32Array, first: number) => void;
}

/** Where a job's pixels lie on the output canvas, and the part of the job's W×H that covers it. */
export interface JobRegion {
  canvas: Rect;
  inJob?: Rect;
}

/**
 * Runs a job through the sampler and model: returns ŷ₀ per item (groups × variants), each [3,H,W] in
 * [-1, 1]. `variantsPerCall` (when the runner knows) says how many items one model call takes at H×W,
 * so a task can fill its calls (restore batches tiles).
 */
export type RunModelJob = ((job: ModelJob) => Promise<Float32Array[]>) & { variantsPerCall?: (height: number, width: number) => number };

export interface ModelGeometry {
  /** The size the model works best at (its native resolution). */
  workingSize: number;
  sizeMultiple: number;
}

export interface TaskOutput {
  /** One layer per variant, in variant order. */
  layers: RgbaLayer[];
  /** The document size after the task (grows for uncrop). */
  canvas: { width: number; height: number };
}
