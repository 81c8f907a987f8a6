/** Deterministic test pictures and masks. */
import { createMask, createRgba } from '../../../daemon/pixels.ts';
import type { Rect } from '../../../daemon/rect.ts';
import type { MaskImage, RgbaImage } from '../../../daemon/tasks/types.ts';
import type { Extension } from '../../../daemon/tasks/uncrop-plan.ts';

/** Smooth colour gradients plus a little hashed texture: every pixel differs from its neighbours. */
export function patternImage(width: number, height: number, seed = 1): RgbaImage {
  const img = createRgba(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const h = ((x * 73856093) ^ (y * 19349663) ^ (seed * 83492791)) >>> 0;
      const t = (h % 17) - 8;
      img.data[p] = Math.max(0, Math.min(255, Math.round(40 + (170 * x) / width) + t));
      img.data[p + 1] = Math.max(0, Math.min(255, Math.round(60 + (150 * y) / height) - t));
      img.data[p + 2] = Math.max(0, Math.min(255, Math.round(200 - (120 * (x + y)) / (width + height)) + t));
      img.data[p + 3] = 255;
    }
  }
  return img;
}

/** Flat grey with ±4 levels of hashed texture. */
export function greyImage(width: number, height: number, level: number): RgbaImage {
  const img = createRgba(width, height);
  for (let i = 0; i < width * height; i++) {
    const t = (((i * 2654435761) >>> 0) % 9) - 4;
    img.data.fill(level + t, i * 4, i * 4 + 3);
    img.data[i * 4 + 3] = 255;
  }
  return img;
}

export function circleMask(width: number, height: number, cx: number, cy: number, r: number): MaskImage {
  const m = createMask(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m.data[y * width + x] = 255;
  }
  return m;
}

export function rectMask(width: number, height: number, r: Rect): MaskImage {
  const m = createMask(width, height);
  for (let y = r.y; y < r.y + r.height; y++) m.data.fill(255, y * width + r.x, y * width + r.x + r.width);
  return m;
}

export function pixel(img: RgbaImage, x: number, y: number): number[] {
  const p = (y * img.width + x) * 4;
  return [...img.data.subarray(p, p + 4)];
}

/** An uncrop extension: the given sides, 0 px on the others. */
export function ext(e: Partial<Extension>): Extension {
  return { left: 0, right: 0, top: 0, bottom: 0, ...e };
}
