/**
 * Uncrop (outpainting): extend the canvas and generate the new area, pass by pass (see
 * uncrop-plan.ts). Every variant keeps its own growing canvas, so each later pass is conditioned on
 * that variant's earlier passes: the variants are different, self-consistent extensions.
 */
import { DaemonError } from '../errors.ts';
import { resizeRgba } from '../imaging.ts';
import { assertRgba, createMask, createRgba } from '../pixels.ts';
import type { Rect } from '../rect.ts';
import { cropMask, cropRgba, maskToHole, pasteRgba, rgbaToTensor, tensorToRgba } from '../tensor-image.ts';
import { layerFromAlpha } from './composite.ts';
import { addGrain, GRAIN_SEED, grainReference } from './grain.ts';
import { assertGeometry, assertVariants } from './job-size.ts';
import { mirrorFill } from './prefill.ts';
import { runChecked } from './run-job.ts';
import { planUncrop, SIDES, type Extension } from './uncrop-plan.ts';
import type { MaskImage, ModelGeometry, RgbaImage, RgbaLayer, RunModelJob, TaskOutput } from './types.ts';

export type { Extension } from './uncrop-plan.ts';

/** No options yet; the object is here so callers need not change when some appear. */
export type UncropOptions = Record<string, never>;

export interface UncropInput {
  image: RgbaImage;
  /** Pixels to add on each side (the caller converts fractions). */
  extend: Extension;
  options?: UncropOptions;
}

/** Canvas size limit: beyond this one variant's canvas alone would take gigabytes. */
const MAX_CANVAS_PIXELS = 100_000_000;
/** The least upscale (window px per working-size px) at which the new area gets grain. */
export const UNCROP_GRAIN_MIN_UPSCALE = 3;

function checkExtension(image: RgbaImage, e: Extension): void {
  const bad = SIDES.filter((s) => !Number.isInteger(e[s]) || e[s] < 0);
  if (bad.length > 0) {
    throw new DaemonError('INVALID_ARGUMENT', `uncrop extensions must be integers ≥ 0; bad: ${bad.join(', ')}`);
  }
  if (SIDES.every((s) => e[s] === 0)) throw new DaemonError('INVALID_ARGUMENT', 'uncrop needs at least one side to extend');
  const w = image.width + e.left + e.right;
  const h = image.height + e.top + e.bottom;
  if (w * h > MAX_CANVAS_PIXELS) {
    throw new DaemonError('INVALID_ARGUMENT', `the extended canvas ${w}×${h} is larger than ${MAX_CANVAS_PIXELS} pixels`);
  }
}

/** The window's known pixels with alpha 255 and unknown ones with alpha 0, for a weighted resize. */
function knownOnly(canvas: RgbaImage, known: MaskImage, rect: Rect): RgbaImage {
  const img = cropRgba(canvas, rect);
  const k = cropMask(known, rect);
  for (let i = 0; i < k.data.length; i++) img.data[i * 4 + 3] = k.data[i] ?? 0;
  return img;
}

/**
 * Copies the generated colours of `patch` into the canvas where the window was still unknown. Colour
 * only: what is known lives in `known` (knownOnly and the final layer read their alpha from masks).
 */
function pasteUnknown(canvas: RgbaImage, known: MaskImage, patch: RgbaImage, rect: Rect): void {
  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      const k = (rect.y + y) * known.width + rect.x + x;
      if ((known.data[k] ?? 0) > 0) continue;
      canvas.data.set(patch.data.subarray((y * rect.width + x) * 4, (y * rect.width + x) * 4 + 3), k * 4);
    }
  }
}

function markKnown(known: MaskImage, rect: Rect): void {
  for (let y = rect.y; y < rect.y + rect.height; y++) known.data.fill(255, y * known.width + rect.x, y * known.width + rect.x + rect.width);
}

export async function runUncrop(
  input: UncropInput,
  geometry: ModelGeometry,
  run: RunModelJob,
  variants: number,
): Promise<TaskOutput> {
  const { image, extend } = input;
  assertRgba(image);
  assertGeometry(geometry);
  assertVariants(variants);
  checkExtension(image, extend);
  const plan = planUncrop(image, extend, geometry);
  const { canvas, original } = plan;

  const canvases = Array.from({ length: variants }, () => {
    const c = createRgba(canvas.width, canvas.height);
    pasteRgba(c, image, original.x, original.y);
    return c;
  });
  const known = createMask(canvas.width, canvas.height);
  markKnown(known, original);

  const total = plan.windows.length;
  for (const [i, win] of plan.windows.entries()) {
    const { rect, jobWidth: jw, jobHeight: jh } = win;
    const unknown = cropMask(known, rect);
    for (let p = 0; p < unknown.data.length; p++) unknown.data[p] = 255 - (unknown.data[p] ?? 0);
    const cond = new Float32Array(variants * 3 * jw * jh);
    for (const [b, c] of canvases.entries()) {
      rgbaToTensor(await resizeRgba(knownOnly(c, known, rect), jw, jh), cond, b * 3 * jw * jh);
    }
    const hole = maskToHole(unknown, jw, jh);
    // Where sampling starts below strength 1: each variant's known side mirrored outward (prefill.ts).
    const start = new Float32Array(cond.length);
    const item = 3 * jw * jh;
    for (let b = 0; b < variants; b++) start.set(mirrorFill(cond.subarray(b * item, (b + 1) * item), hole, jw, jh, win.side), b * item);
    const samples = await runChecked(
      run,
      { cond, width: jw, height: jh, hole, start, label: `pass ${i + 1}/${total} (${win.side})`, part: { index: i, count: total }, region: { canvas: rect } },
      variants,
      geometry,
    );
    for (const [b, sample] of samples.entries()) {
      const c = canvases[b];
      if (!c) continue;
      const patch = await resizeRgba(tensorToRgba(sample, jw, jh), rect.width, rect.height);
      pasteUnknown(c, known, patch, rect);
    }
    markKnown(known, rect);
  }
  if (known.data.includes(0)) throw new DaemonError('INVALID_ARGUMENT', 'uncrop plan left part of the canvas ungenerated');

  // The layer covers the new area only: alpha 255 there, 0 over the original.
  const fresh = createMask(canvas.width, canvas.height);
  fresh.data.fill(255);
  for (let y = original.y; y < original.y + original.height; y++) {
    fresh.data.fill(0, y * canvas.width + original.x, y * canvas.width + original.x + original.width);
  }
  // Passes upscaled ≥ 3× from their working size are soft at 100 % zoom: the new area gets the photo's
  // grain (grain.ts). At 2× it made the evaluation worse (models/README.md, "Grain"), so not there.
  // The known pixels (the photo) are the same in every variant's canvas: one reference serves all.
  const upscaled = plan.windows.some((w) => w.rect.width >= UNCROP_GRAIN_MIN_UPSCALE * w.jobWidth);
  const grain = upscaled && canvases[0] ? grainReference(canvases[0], fresh) : null;
  const layers: RgbaLayer[] = canvases.map((c, index) => {
    if (grain) addGrain(c, grain, GRAIN_SEED + index);
    const layer = layerFromAlpha(c, fresh, 0, 0);
    if (!layer) throw new DaemonError('INVALID_ARGUMENT', 'uncrop produced no new area');
    return layer;
  });
  return { layers, canvas };
}
