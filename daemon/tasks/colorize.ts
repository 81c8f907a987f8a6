/**
 * Colorization: the model sees the whole image's luminance at the working size and proposes colours.
 * Only the proposal's chroma is kept: it is upsampled to full resolution and recombined with the
 * original full-resolution luminance, so no detail is lost to the model's small size and the result's
 * brightness is the original's exactly (colour varies slowly; detail lives in luminance).
 */
import { resizeRgba } from '../imaging.ts';
import { assertRgba, chroma601, clampByte, createRgba, luma601, lumaExact, ycbcrToRgb } from '../pixels.ts';
import { repeatBatch, rgbaToTensor } from '../tensor-image.ts';
import { assertGeometry, assertVariants, fitJobSize } from './job-size.ts';
import { runChecked } from './run-job.ts';
import type { ModelGeometry, RgbaImage, RgbaLayer, RunModelJob, TaskOutput } from './types.ts';

/** No options yet; the object is here so callers need not change when some appear. */
export type ColorizeOptions = Record<string, never>;

export interface ColorizeInput {
  image: RgbaImage;
  options?: ColorizeOptions;
}

/** Opaque grey image of Pillow's L (alpha 255 so the resize does not weight by transparency). */
function luminanceImage(img: RgbaImage): RgbaImage {
  const out = createRgba(img.width, img.height);
  for (let p = 0; p < out.data.length; p += 4) {
    const y = luma601(img.data[p] ?? 0, img.data[p + 1] ?? 0, img.data[p + 2] ?? 0);
    out.data[p] = y;
    out.data[p + 1] = y;
    out.data[p + 2] = y;
    out.data[p + 3] = 255;
  }
  return out;
}

/** The sample's chroma, stored offset by 128 in R (Cb) and G (Cr) so sharp can upsample it. */
function chromaImage(sample: Float32Array, width: number, height: number): RgbaImage {
  const out = createRgba(width, height);
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    const r = ((sample[i] ?? 0) + 1) * 127.5;
    const g = ((sample[plane + i] ?? 0) + 1) * 127.5;
    const b = ((sample[2 * plane + i] ?? 0) + 1) * 127.5;
    const [cb, cr] = chroma601(r, g, b);
    out.data[i * 4] = clampByte(cb + 128);
    out.data[i * 4 + 1] = clampByte(cr + 128);
    out.data[i * 4 + 3] = 255;
  }
  return out;
}

export async function runColorize(
  input: ColorizeInput,
  geometry: ModelGeometry,
  run: RunModelJob,
  variants: number,
): Promise<TaskOutput> {
  const { image } = input;
  assertRgba(image);
  assertGeometry(geometry);
  assertVariants(variants);
  const job = fitJobSize(image.width, image.height, geometry);
  const small = await resizeRgba(luminanceImage(image), job.width, job.height);
  const one = new Float32Array(3 * job.width * job.height);
  rgbaToTensor(small, one);
  // Below strength 1 sampling starts from the layer's current pixels (its own colours, if any).
  const current = new Float32Array(one.length);
  rgbaToTensor(await resizeRgba(image, job.width, job.height), current);
  const samples = await runChecked(
    run,
    {
      cond: repeatBatch(one, variants), start: repeatBatch(current, variants), width: job.width, height: job.height, label: 'colorize',
      region: { canvas: { x: 0, y: 0, width: image.width, height: image.height } },
    },
    variants,
    geometry,
  );

  const layers: RgbaLayer[] = [];
  for (const sample of samples) {
    const chroma = await resizeRgba(chromaImage(sample, job.width, job.height), image.width, image.height);
    const out = createRgba(image.width, image.height);
    for (let p = 0; p < out.data.length; p += 4) {
      const d = image.data;
      const y = lumaExact(d[p] ?? 0, d[p + 1] ?? 0, d[p + 2] ?? 0);
      ycbcrToRgb(y, (chroma.data[p] ?? 128) - 128, (chroma.data[p + 1] ?? 128) - 128, out.data, p);
      out.data[p + 3] = d[p + 3] ?? 255;
    }
    layers.push({ ...out, x: 0, y: 0 });
  }
  return { layers, canvas: { width: image.width, height: image.height } };
}
