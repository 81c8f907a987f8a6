/**
 * Generative fill (Palette inpainting): regenerate the masked pixels from their surroundings.
 *
 * Only a context crop around the mask goes to the model, at the working size; the samples come back
 * to the crop's size, get their seam colours matched and are returned as small layers whose alpha is
 * the feathered mask, so everything outside the feathered band stays bit-exact.
 */
import { FILL_MASK_MODES, MASK_THRESHOLD, type FillMaskMode } from '../../shared/protocol.ts';
import { DaemonError } from '../errors.ts';
import { resizeRgba } from '../imaging.ts';
import { growMask } from '../mask-morphology.ts';
import { assertMask, assertRgba, createMask, maskBounds, thresholdMask } from '../pixels.ts';
import { expandRect, intersectRect, type Rect } from '../rect.ts';
import { cropMask, cropRgba, maskToHole, repeatBatch, rgbaToTensor, tensorToRgba } from '../tensor-image.ts';
import { matchSeamColors } from './color-match.ts';
import { featherMask, featherReach, layerFromAlpha } from './composite.ts';
import { contextCrop } from './context-crop.ts';
import { addGrain, GRAIN_SEED, grainReference } from './grain.ts';
import { runStrengthFill } from './fill-strength.ts';
import { smoothFill } from './prefill.ts';
import { assertGeometry, assertVariants } from './job-size.ts';
import { runChecked } from './run-job.ts';
import type { MaskImage, ModelGeometry, RgbaImage, RgbaLayer, RunModelJob, TaskOutput } from './types.ts';

export interface FillOptions {
  /** Mask values ≥ this are the hole. Default MASK_THRESHOLD (128, PROTOCOL.md's MaskPayload). */
  threshold?: number;
  /** Grow (> 0) or shrink (< 0) the hole by this many px. Default feather / 2, rounded. */
  grow?: number;
  /** Width of the soft edge outside the hole, px. Default 8 per 1024 px of the image's long side (≥ 2). */
  feather?: number;
  /** Context around the hole on each side, as a fraction of the hole's box size. Default 0.5. */
  contextPadding?: number;
  /** Match the generated pixels' colours to their surroundings (see color-match.ts). Default true ('strength': false). */
  colorMatch?: boolean;
  /**
   * 'threshold' (default): values ≥ `threshold` are the hole, regenerated whole. 'strength': every value
   * is its pixel's share of the request's strength (v/255; fill-strength.ts); `threshold`, `grow` and
   * `feather` do not apply.
   */
  maskMode?: FillMaskMode;
}

export interface FillInput {
  image: RgbaImage;
  mask: MaskImage;
  options?: FillOptions;
}

interface ResolvedFill {
  threshold: number;
  grow: number;
  feather: number;
  contextPadding: number;
  colorMatch: boolean;
  maskMode: FillMaskMode;
}

function resolveOptions(image: RgbaImage, o: FillOptions = {}): ResolvedFill {
  const feather = o.feather ?? Math.max(2, Math.round((8 * Math.max(image.width, image.height)) / 1024));
  const r: ResolvedFill = {
    threshold: o.threshold ?? MASK_THRESHOLD,
    grow: o.grow ?? Math.round(feather / 2),
    feather,
    contextPadding: o.contextPadding ?? 0.5,
    colorMatch: o.colorMatch ?? o.maskMode !== 'strength',
    maskMode: o.maskMode ?? 'threshold',
  };
  const bad =
    !(Number.isInteger(r.threshold) && r.threshold >= 1 && r.threshold <= 255) ||
    !Number.isInteger(r.grow) ||
    !(Number.isFinite(r.feather) && r.feather >= 0) ||
    !(Number.isFinite(r.contextPadding) && r.contextPadding >= 0) ||
    !FILL_MASK_MODES.includes(r.maskMode);
  if (bad) throw new DaemonError('INVALID_ARGUMENT', `invalid fill options ${JSON.stringify(r)}`);
  return r;
}

/** The thresholded, grown hole inside `region` (image coordinates), and the box it occupies. */
function growHole(mask: MaskImage, o: ResolvedFill, image: Rect): { region: Rect; hole: MaskImage; focus: Rect } {
  const binary = thresholdMask(mask, o.threshold);
  const raw = maskBounds(binary);
  if (!raw) throw new DaemonError('MASK_EMPTY', `the mask has no pixel ≥ ${o.threshold}: nothing to fill`);
  // Growing happens near the marked pixels only, so a small mask on a large photo stays cheap.
  const region = intersectRect(expandRect(raw, Math.max(1, o.grow)), image);
  const hole = growMask(cropMask(binary, region), o.grow);
  const b = maskBounds(hole);
  if (!b) throw new DaemonError('MASK_EMPTY', `the mask vanished after shrinking it by ${-o.grow} px`);
  return { region, hole, focus: { ...b, x: b.x + region.x, y: b.y + region.y } };
}

/** The hole re-expressed in crop coordinates (it lies inside the crop). */
function holeInCrop(hole: MaskImage, region: Rect, crop: Rect): MaskImage {
  const out = createMask(crop.width, crop.height);
  const both = intersectRect(region, crop);
  for (let y = both.y; y < both.y + both.height; y++) {
    for (let x = both.x; x < both.x + both.width; x++) {
      out.data[(y - crop.y) * crop.width + (x - crop.x)] = hole.data[(y - region.y) * region.width + (x - region.x)] ?? 0;
    }
  }
  return out;
}

export async function runFill(
  input: FillInput,
  geometry: ModelGeometry,
  run: RunModelJob,
  variants: number,
): Promise<TaskOutput> {
  const { image, mask } = input;
  assertRgba(image);
  assertMask(mask);
  assertGeometry(geometry);
  assertVariants(variants);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new DaemonError(
      'MASK_SIZE_MISMATCH',
      `the mask is ${mask.width}×${mask.height} but the image is ${image.width}×${image.height}`,
    );
  }
  const o = resolveOptions(image, input.options);
  if (o.maskMode === 'strength') return runStrengthFill(image, mask, o, geometry, run, variants);
  const imageRect: Rect = { x: 0, y: 0, width: image.width, height: image.height };
  const grown = growHole(mask, o, imageRect);
  const include = intersectRect(expandRect(grown.focus, featherReach(o.feather)), imageRect);
  const { crop, job } = contextCrop({ focus: grown.focus, include, image, geometry, padding: o.contextPadding });
  const hole = holeInCrop(grown.hole, grown.region, crop);
  const original = cropRgba(image, crop);

  // Hole pixels get alpha 0 before the resize: sharp resizes premultiplied, so the removed content
  // does not bleed into the known pixels the model is given (and told to keep).
  const known: RgbaImage = { ...original, data: original.data.slice() };
  for (let i = 0; i < hole.data.length; i++) known.data[i * 4 + 3] = (hole.data[i] ?? 0) > 0 ? 0 : 255;
  const small = await resizeRgba(known, job.width, job.height);
  const one = new Float32Array(3 * job.width * job.height);
  rgbaToTensor(small, one);
  const jobHole = maskToHole(hole, job.width, job.height);
  // Where sampling starts below strength 1: the surroundings filled in smoothly (prefill.ts).
  const start = repeatBatch(smoothFill(one, jobHole, job.width, job.height), variants);
  const samples = await runChecked(
    run,
    { cond: repeatBatch(one, variants), width: job.width, height: job.height, hole: jobHole, start, label: 'fill', region: { canvas: crop } },
    variants,
    geometry,
  );

  const alpha = await featherMask(hole, o.feather);
  // The ring must span a couple of model pixels, or it only measures the upscaling's blur.
  const ring = Math.max(o.feather, Math.ceil((2 * crop.width) / job.width), 2);
  // Upscaled samples have no detail finer than a model pixel: give them the surroundings' grain.
  const grain = crop.width > job.width ? grainReference(original, hole) : null;
  const layers: RgbaLayer[] = [];
  for (const [index, sample] of samples.entries()) {
    const colors = await resizeRgba(tensorToRgba(sample, job.width, job.height), crop.width, crop.height);
    if (o.colorMatch) matchSeamColors(colors, original, hole, { ring });
    if (grain) addGrain(colors, grain, GRAIN_SEED + index);
    const layer = layerFromAlpha(colors, alpha, crop.x, crop.y);
    if (!layer) throw new DaemonError('MASK_EMPTY', 'the feathered mask is empty');
    layers.push(layer);
  }
  return { layers, canvas: { width: image.width, height: image.height } };
}
