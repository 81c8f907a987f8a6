/**
 * Turning a generated region into a layer: a feathered alpha that is fully opaque over the whole
 * hole and fades to exactly 0 a few pixels outside it, and a layer cut to where that alpha is not 0.
 */
import { blurMask } from '../imaging.ts';
import { dilateMask } from '../mask-morphology.ts';
import { createRgba, maskBounds } from '../pixels.ts';
import type { MaskImage, RgbaImage, RgbaLayer } from './types.ts';

/**
 * The fade is a Gaussian of σ = feather/4 over the hole grown by feather/2: it starts at ~98 % on the
 * hole's edge (forced to 100 % inside the hole, so no hole pixel lets the removed content through)
 * and reaches 0 about `feather` px outside.
 */
function featherParams(feather: number): { grow: number; sigma: number } {
  return { grow: Math.ceil(feather / 2), sigma: feather / 4 };
}

/** How far (px) beyond the hole the feathered alpha can be non-zero: a safe upper bound. */
export function featherReach(feather: number): number {
  if (feather <= 0) return 0;
  const { grow, sigma } = featherParams(feather);
  return grow + Math.ceil(3 * sigma) + 1;
}

/** 0/255 hole → feathered alpha of the same size; 255 wherever the hole is set. */
export async function featherMask(hole: MaskImage, feather: number): Promise<MaskImage> {
  if (feather <= 0) return dilateMask(hole, 0);
  const { grow, sigma } = featherParams(feather);
  const alpha = await blurMask(dilateMask(hole, grow), sigma);
  for (let i = 0; i < alpha.data.length; i++) if ((hole.data[i] ?? 0) > 0) alpha.data[i] = 255;
  return alpha;
}

/**
 * A layer of `colors` under `alpha` (same size, placed at ox, oy on the canvas), cut to the bounding
 * box of alpha > 0. RGB is zeroed where alpha is 0 so the layer carries nothing it does not show.
 * Null when alpha is 0 everywhere.
 */
export function layerFromAlpha(colors: RgbaImage, alpha: MaskImage, ox: number, oy: number): RgbaLayer | null {
  const b = maskBounds(alpha);
  if (!b) return null;
  const out = createRgba(b.width, b.height);
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      const s = (b.y + y) * alpha.width + b.x + x;
      const a = alpha.data[s] ?? 0;
      if (a === 0) continue;
      const o = (y * b.width + x) * 4;
      out.data[o] = colors.data[s * 4] ?? 0;
      out.data[o + 1] = colors.data[s * 4 + 1] ?? 0;
      out.data[o + 2] = colors.data[s * 4 + 2] ?? 0;
      out.data[o + 3] = a;
    }
  }
  return { ...out, x: ox + b.x, y: oy + b.y };
}
