/**
 * Which part of the image a fill job sees. The model only knows what is in its window, so the window
 * is the hole plus context around it; but the window is resized to the working size, so every extra
 * pixel of context costs resolution inside the hole. A square-ish crop of the hole's box grown by a
 * fraction of its size balances the two (Palette's own inpainting examples are centred squares).
 */
import { DaemonError } from '../errors.ts';
import { containsRect, placeSpan, unionRect, type Rect } from '../rect.ts';
import { fitJobSize } from './job-size.ts';
import type { ModelGeometry } from './types.ts';

export interface ContextCropRequest {
  /** The pixels to generate (the grown mask's bounding box). */
  focus: Rect;
  /** Pixels the result must cover besides the focus (the feathered band): inside the crop. */
  include: Rect;
  image: { width: number; height: number };
  geometry: ModelGeometry;
  /** Context on each side as a fraction of the focus box's size. */
  padding: number;
}

export interface ContextCrop {
  crop: Rect;
  job: { width: number; height: number };
}

function span(start: number, end: number, length: number, limit: number): { start: number; length: number } {
  return placeSpan((start + end) / 2, Math.max(length, end - start), limit);
}

export function contextCrop(req: ContextCropRequest): ContextCrop {
  const { focus, image, geometry } = req;
  const padX = Math.ceil(req.padding * focus.width);
  const padY = Math.ceil(req.padding * focus.height);
  const padded: Rect = { x: focus.x - padX, y: focus.y - padY, width: focus.width + 2 * padX, height: focus.height + 2 * padY };
  const want = unionRect(padded, req.include);
  const wx0 = Math.max(0, want.x);
  const wy0 = Math.max(0, want.y);
  const wx1 = Math.min(image.width, want.x + want.width);
  const wy1 = Math.min(image.height, want.y + want.height);

  // Square, and at least the working size where the image allows: a crop smaller than that would be
  // enlarged for the model and show it less context than it was trained with.
  const side = Math.max(wx1 - wx0, wy1 - wy0, geometry.workingSize);
  let xs = span(wx0, wx1, side, image.width);
  let ys = span(wy0, wy1, side, image.height);
  const job = fitJobSize(xs.length, ys.length, geometry);

  // Rounding the job to the size multiple changes its aspect a little; grow the crop to match so the
  // hole is not stretched. Where the image edge prevents it, the small stretch is accepted.
  const ratio = job.width / job.height;
  if (xs.length / ys.length < ratio) {
    xs = span(xs.start, xs.start + xs.length, Math.round(ys.length * ratio), image.width);
  } else {
    ys = span(ys.start, ys.start + ys.length, Math.round(xs.length / ratio), image.height);
  }
  const crop: Rect = { x: xs.start, y: ys.start, width: xs.length, height: ys.length };
  const mustCover: Rect = { x: wx0, y: wy0, width: wx1 - wx0, height: wy1 - wy0 };
  if (!containsRect(crop, mustCover)) {
    throw new DaemonError('INVALID_ARGUMENT', `context crop ${JSON.stringify(crop)} misses ${JSON.stringify(mustCover)}`);
  }
  return { crop, job };
}
