/**
 * JPEG restoration: the decoded JPEG is the model's x; the whole image is processed at full
 * resolution in overlapping tiles of the working size, blended with raised-cosine weights so tile
 * edges (where the model sees least context) never show.
 *
 * The result never leaves what the JPEG says about the photo (jpeg-consistency.ts): every sampling
 * estimate of a tile, and the blended image at the end, are projected onto the images whose 8×8 DCT
 * coefficients quantize to the input's. Each tile also carries its pixels as the sampler's start, so a
 * request strength below 1 refines the JPEG instead of drawing from pure noise.
 */
import { assertRgba, clampByte, createRgba } from '../pixels.ts';
import { cropRgba, padReflect, repeatBatch, rgbaToTensor } from '../tensor-image.ts';
import { chromaRefinement, refineChroma, type ChromaRefinement } from './chroma-refine.ts';
import { estimateQuantization, jpegProjector, type JpegQuantization } from './jpeg-consistency.ts';
import { assertGeometry, assertVariants, ceilToMultiple, workingEdge } from './job-size.ts';
import { runChecked } from './run-job.ts';
import { tileStarts, tileWeights } from './tiling.ts';
import type { ModelGeometry, RgbaImage, RgbaLayer, RunModelJob, TaskOutput } from './types.ts';

export interface RestoreOptions {
  /** Overlap between neighbouring tiles as a fraction of the tile. Default 0.25. */
  overlap?: number;
  /**
   * How much of each coefficient's quantization interval the result may use: 1 = all of it (the set
   * of photos this JPEG could have come from), 0 = the input's coefficients themselves. Default 1.
   */
  tightness?: number;
  /** Keep the result consistent with the JPEG (default true); false = the model's samples alone. */
  consistency?: boolean;
  /**
   * Refine subsampled chroma along the restored luminance (chroma-refine.ts; default true, and only
   * with consistency: it acts where the JPEG's quality says it helps).
   */
  chromaRefine?: boolean;
}

export interface RestoreInput {
  image: RgbaImage;
  /** `estimateQuantization(image)`, when the caller already made it (generate.ts does, for the strength). */
  quantization?: JpegQuantization;
  options?: RestoreOptions;
}

export interface TilePlan {
  /** Tile size in image px (the job size, unless the image is smaller than a tile on that axis). */
  tileWidth: number;
  tileHeight: number;
  /** Job size: the tile padded (by reflection) to a multiple of the size multiple. */
  jobWidth: number;
  jobHeight: number;
  xs: number[];
  ys: number[];
  ramp: number;
}

export function planRestoreTiles(width: number, height: number, g: ModelGeometry, overlap = 0.25): TilePlan {
  const edge = workingEdge(g);
  const ramp = Math.max(1, Math.round(edge * overlap));
  const tileWidth = Math.min(edge, width);
  const tileHeight = Math.min(edge, height);
  return {
    tileWidth,
    tileHeight,
    jobWidth: ceilToMultiple(tileWidth, g.sizeMultiple),
    jobHeight: ceilToMultiple(tileHeight, g.sizeMultiple),
    xs: tileStarts(width, tileWidth, ramp),
    ys: tileStarts(height, tileHeight, ramp),
    ramp,
  };
}

/** Where one tile lands in the image, its blending weights per axis, and its job's row width. */
interface PlacedTile {
  x0: number;
  y0: number;
  wx: Float32Array;
  wy: Float32Array;
  jobWidth: number;
  jobHeight: number;
}

/**
 * Adds one tile's weighted values into `into` ([3,H,W] of an image `width` wide), or, with no sample,
 * its weights into the [H,W] weight sum.
 */
function accumulate(into: Float32Array, sample: Float32Array | null, t: PlacedTile, width: number): void {
  const plane = into.length / (sample ? 3 : 1);
  const jobPlane = t.jobWidth * t.jobHeight;
  for (let ty = 0; ty < t.wy.length; ty++) {
    for (let tx = 0; tx < t.wx.length; tx++) {
      const w = (t.wy[ty] ?? 1) * (t.wx[tx] ?? 1);
      const p = (t.y0 + ty) * width + t.x0 + tx;
      if (!sample) {
        into[p] = (into[p] ?? 0) + w;
        continue;
      }
      const s = ty * t.jobWidth + tx;
      for (let c = 0; c < 3; c++) into[c * plane + p] = (into[c * plane + p] ?? 0) + w * (sample[c * jobPlane + s] ?? 0);
    }
  }
}

export async function runRestore(
  input: RestoreInput,
  geometry: ModelGeometry,
  run: RunModelJob,
  variants: number,
): Promise<TaskOutput> {
  const { image } = input;
  assertRgba(image);
  assertGeometry(geometry);
  assertVariants(variants);
  const { width, height } = image;
  const plan = planRestoreTiles(width, height, geometry, input.options?.overlap ?? 0.25);
  const { tileWidth: tw, tileHeight: th, jobWidth: jw, jobHeight: jh } = plan;
  const plane = width * height;
  const acc = Array.from({ length: variants }, () => new Float32Array(3 * plane));
  const weightSum = new Float32Array(plane);
  const quantization = input.quantization ?? estimateQuantization(image); // cheap (≈ 50 ms at 256²): 4,096 blocks at most
  const tightness = input.options?.tightness ?? 1;
  const consistent = input.options?.consistency ?? true;
  const tiles = plan.ys.flatMap((y0) => plan.xs.map((x0) => ({
    x0, y0, wx: tileWeights(x0, tw, width, plan.ramp), wy: tileWeights(y0, th, height, plan.ramp),
  })));
  // Tiles share model calls: as many as fill one call of the runner with all their variants (a
  // batch of 8 costs ~25 ms a sample at 64² on 2 cores, one alone ~39 ms).
  const tilesPerJob = Math.max(1, Math.floor((run.variantsPerCall?.(jh, jw) ?? variants) / variants));
  const jobs = Math.ceil(tiles.length / tilesPerJob);
  const perItem = 3 * jw * jh;
  const one = new Float32Array(perItem);

  for (let j = 0; j < jobs; j++) {
    const chunk = tiles.slice(j * tilesPerJob, (j + 1) * tilesPerJob);
    const cond = new Float32Array(chunk.length * variants * perItem);
    const projectors = chunk.map(({ x0, y0 }, t) => {
      rgbaToTensor(padReflect(cropRgba(image, { x: x0, y: y0, width: tw, height: th }), jw, jh), one);
      cond.set(repeatBatch(one, variants), t * variants * perItem);
      return consistent ? jpegProjector({
        input: image, quantization, tightness, region: { x: x0, y: y0, width: tw, height: th },
        estimateWidth: jw, estimateHeight: jh, partialBlocks: 'skip',
      }) : undefined;
    });
    // Items first … first + n − 1 of the job: each tile's items through that tile's projector.
    const project = (x0: Float32Array, first: number) => {
      const n = x0.length / perItem;
      for (let i = 0; i < n;) {
        const t = Math.floor((first + i) / variants);
        const end = Math.min(n, (t + 1) * variants - first);
        projectors[t]?.(x0.subarray(i * perItem, end * perItem));
        i = end;
      }
    };
    const firstTile = j * tilesPerJob + 1;
    const label = chunk.length === 1 ? `tile ${firstTile}/${tiles.length}` : `tiles ${firstTile}–${firstTile + chunk.length - 1} of ${tiles.length}`;
    // The job is each tile padded on the right and bottom: only its top-left tw×th is the image.
    const groups = chunk.map(({ x0, y0 }) => ({ canvas: { x: x0, y: y0, width: tw, height: th }, inJob: { x: 0, y: 0, width: tw, height: th } }));
    const samples = await runChecked(
      run,
      {
        cond, start: cond, ...(consistent ? { project } : {}), width: jw, height: jh, label,
        part: { index: j, count: jobs, groupsAfter: tiles.length - (j * tilesPerJob + chunk.length) },
        region: groups[0]!, groups,
      },
      variants,
      geometry,
    );
    chunk.forEach(({ x0, y0, wx, wy }, t) => {
      const placed: PlacedTile = { x0, y0, wx, wy, jobWidth: jw, jobHeight: jh };
      accumulate(weightSum, null, placed, width);
      for (let b = 0; b < variants; b++) accumulate(acc[b]!, samples[t * variants + b]!, placed, width);
    });
  }

  const chroma = consistent && (input.options?.chromaRefine ?? true) ? chromaRefinement(image, quantization) : undefined;
  const layers: RgbaLayer[] = acc.map((a) => blendedLayer(image, a, weightSum, consistent ? { quantization, tightness, chroma } : undefined));
  return { layers, canvas: { width, height } };
}

/** The tiles' weighted sum divided by the weights, projected as a whole (blocks across tile seams and
 * the image edge included), its subsampled chroma refined, as an 8-bit layer with the input's alpha. */
function blendedLayer(image: RgbaImage, sum: Float32Array, weightSum: Float32Array,
  consistency: { quantization: JpegQuantization; tightness: number; chroma: ChromaRefinement | undefined } | undefined): RgbaLayer {
  const { width, height } = image;
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    const w = weightSum[p] ?? 1;
    for (let c = 0; c < 3; c++) sum[c * plane + p] = (sum[c * plane + p] ?? 0) / w;
  }
  if (consistency) {
    const { quantization, tightness, chroma } = consistency;
    jpegProjector({
      input: image, quantization, tightness, region: { x: 0, y: 0, width, height },
      estimateWidth: width, estimateHeight: height, partialBlocks: 'pad',
    })(sum);
    // After the projection, which pins 4:2:0 chroma to the input's: the refinement keeps the luma.
    if (chroma) refineChroma(sum, width, height, chroma);
  }
  const out = createRgba(width, height);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out.data[p * 4 + c] = clampByte(((sum[c * plane + p] ?? 0) + 1) * 127.5);
    out.data[p * 4 + 3] = image.data[p * 4 + 3] ?? 255;
  }
  return { ...out, x: 0, y: 0 };
}
