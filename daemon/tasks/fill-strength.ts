/**
 * Generative fill with a soft mask as per-pixel strength (`fill.maskMode: 'strength'`): a mask value v
 * changes its pixel as much as a request strength of v/255 × `strength` would (255: fully, 0: not at
 * all), as in Krita AI Diffusion's soft inpainting or "differential diffusion". A soft brush then fades
 * the generated content into the photo instead of cutting it out at a threshold.
 *
 * How: every masked pixel of the model job is held at its current value until the sampler reaches the
 * noise level its strength starts at (job-runner.ts → the sampler's `releaseGamma`), then noised from
 * its current value and generated (SDEdit per pixel). The model sees the masked region as its hole,
 * as in training; the start is the current pixels, not a pre-fill: a partial strength edits what is
 * there. Back at full resolution, each pixel keeps (1 − v/255) of its own fine detail (what the
 * working size cannot hold), so lightly masked pixels stay sharp and unmasked ones stay bit-exact.
 */
import { DaemonError } from '../errors.ts';
import { resizeRgba } from '../imaging.ts';
import { clampByte, maskBounds, thresholdMask } from '../pixels.ts';
import { cropMask, cropRgba, maskCoverage, repeatBatch, rgbaToTensor, tensorToRgba } from '../tensor-image.ts';
import { matchSeamColors } from './color-match.ts';
import { layerFromAlpha } from './composite.ts';
import { contextCrop } from './context-crop.ts';
import { runChecked } from './run-job.ts';
import type { MaskImage, ModelGeometry, RgbaImage, RgbaLayer, RunModelJob, TaskOutput } from './types.ts';

export interface StrengthFillOptions {
  contextPadding: number;
  /** Off unless asked for: the held pixels already anchor the colours. */
  colorMatch: boolean;
  feather: number;
}

/**
 * The fine detail each pixel keeps, RGB per pixel: (1 − v/255) × (original − base), where `base` is the
 * job's own view of the original back at full size (what a sample is where nothing changed). The same
 * for every variant.
 */
function keptDetail(original: RgbaImage, base: RgbaImage, soft: MaskImage): Float32Array {
  const detail = new Float32Array(soft.data.length * 3);
  for (let p = 0; p < soft.data.length; p++) {
    const keep = 1 - (soft.data[p] ?? 0) / 255;
    for (let c = 0; c < 3; c++) detail[p * 3 + c] = keep * ((original.data[p * 4 + c] ?? 0) - (base.data[p * 4 + c] ?? 0));
  }
  return detail;
}

export async function runStrengthFill(
  image: RgbaImage,
  mask: MaskImage,
  o: StrengthFillOptions,
  geometry: ModelGeometry,
  run: RunModelJob,
  variants: number,
): Promise<TaskOutput> {
  const focus = maskBounds(mask);
  if (!focus) throw new DaemonError('MASK_EMPTY', 'the mask has no pixel above 0: nothing to change');
  const { crop, job } = contextCrop({ focus, include: focus, image, geometry, padding: o.contextPadding });
  const original = cropRgba(image, crop);
  const soft = cropMask(mask, crop);

  const small = await resizeRgba(original, job.width, job.height);
  const one = new Float32Array(3 * job.width * job.height);
  rgbaToTensor(small, one);
  const strengthMap = maskCoverage(soft, job.width, job.height);
  const hole = strengthMap.map((s) => (s > 0 ? 1 : 0));
  const current = repeatBatch(one, variants);
  const samples = await runChecked(
    run,
    { cond: current, width: job.width, height: job.height, hole, strengthMap, start: current, label: 'fill', region: { canvas: crop } },
    variants,
    geometry,
  );

  const detail = keptDetail(original, await resizeRgba(small, crop.width, crop.height), soft);
  const alpha = thresholdMask(soft, 1);
  const layers: RgbaLayer[] = [];
  for (const sample of samples) {
    const colors = await resizeRgba(tensorToRgba(sample, job.width, job.height), crop.width, crop.height);
    for (let p = 0; p < soft.data.length; p++) {
      for (let c = 0; c < 3; c++) colors.data[p * 4 + c] = clampByte((colors.data[p * 4 + c] ?? 0) + (detail[p * 3 + c] ?? 0));
    }
    if (o.colorMatch) matchSeamColors(colors, original, alpha, { ring: Math.max(2, o.feather) });
    const layer = layerFromAlpha(colors, alpha, crop.x, crop.y);
    if (!layer) throw new DaemonError('MASK_EMPTY', 'the mask is empty inside the image');
    layers.push(layer);
  }
  return { layers, canvas: { width: image.width, height: image.height } };
}
