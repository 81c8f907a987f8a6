/**
 * Pure-TypeScript pixel helpers: validation, colour conversion, masks and compositing. Nothing here
 * touches sharp, so it is exact, synchronous and testable on its own.
 */
import { DaemonError } from './errors.ts';
import type { Rect } from './rect.ts';
import type { MaskImage, RgbaImage, RgbaLayer } from './tasks/types.ts';

export function createRgba(width: number, height: number): RgbaImage {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

export function createMask(width: number, height: number): MaskImage {
  return { width, height, data: new Uint8Array(width * height) };
}

/** Throws INVALID_ARGUMENT unless the image has positive integer size and a buffer that matches it. */
export function assertRgba(img: RgbaImage, what = 'image'): void {
  const ok =
    Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0;
  if (!ok || img.data.length !== img.width * img.height * 4) {
    throw new DaemonError(
      'INVALID_ARGUMENT',
      `${what} must be RGBA with width*height*4 bytes; got ${img.width}×${img.height} with ${img.data.length} bytes`,
    );
  }
}

export function assertMask(mask: MaskImage, what = 'mask'): void {
  const ok =
    Number.isInteger(mask.width) && Number.isInteger(mask.height) && mask.width > 0 && mask.height > 0;
  if (!ok || mask.data.length !== mask.width * mask.height) {
    throw new DaemonError(
      'INVALID_ARGUMENT',
      `${what} must be single-channel with width*height bytes; got ${mask.width}×${mask.height} with ${mask.data.length} bytes`,
    );
  }
}

/**
 * ITU-R BT.601 luma as Pillow's `convert('L')` computes it (16-bit fixed point, rounded), because that
 * is what the colorize model was trained on.
 */
export function luma601(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** The same luma without rounding, for recombining with chroma at full precision. */
export function lumaExact(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** Full-range (JPEG) BT.601 chroma, centred on 0 (not 128). */
export function chroma601(r: number, g: number, b: number): [cb: number, cr: number] {
  return [-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b];
}

/**
 * Y + chroma → RGB, written to out[o..o+2]. Where the colour would leave the RGB cube the chroma is
 * scaled toward grey instead of clipping each channel, because clipping changes the luminance and
 * colorize promises to keep it.
 */
export function ycbcrToRgb(y: number, cb: number, cr: number, out: Uint8Array, o: number): void {
  const dr = 1.402 * cr;
  const dg = -0.344136 * cb - 0.714136 * cr;
  const db = 1.772 * cb;
  let t = 1;
  for (const d of [dr, dg, db]) {
    if (y + d * t > 255) t = (255 - y) / d;
    if (y + d * t < 0) t = -y / d;
  }
  t = Math.max(0, Math.min(1, t));
  out[o] = clampByte(y + dr * t);
  out[o + 1] = clampByte(y + dg * t);
  out[o + 2] = clampByte(y + db * t);
}

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * A mask from an RGBA picture: luma × alpha. Opaque grey (the usual mask export) gives its grey; a
 * white stroke on a transparent background gives the stroke, since transparent pixels read as "keep".
 */
export function maskFromRgba(img: RgbaImage): MaskImage {
  const mask = createMask(img.width, img.height);
  const d = img.data;
  for (let i = 0, p = 0; i < mask.data.length; i++, p += 4) {
    const y = luma601(d[p] ?? 0, d[p + 1] ?? 0, d[p + 2] ?? 0);
    mask.data[i] = Math.round((y * (d[p + 3] ?? 0)) / 255);
  }
  return mask;
}

/** 255 where mask ≥ threshold, else 0. */
export function thresholdMask(mask: MaskImage, threshold: number): MaskImage {
  const out = createMask(mask.width, mask.height);
  for (let i = 0; i < mask.data.length; i++) out.data[i] = (mask.data[i] ?? 0) >= threshold ? 255 : 0;
  return out;
}

/** Bounding box of the pixels above `min`, or null when there are none. */
export function maskBounds(mask: MaskImage, min = 0): Rect | null {
  const { width, height, data } = mask;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if ((data[row + x] ?? 0) > min) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) {
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * Source-over of a straight-alpha layer onto a copy of `base` (what an editor does with the layer).
 * Pixels under alpha 0 come out bit-exact; the result keeps the base's alpha where the layer is
 * transparent and grows toward opaque where it covers.
 */
export function compositeLayer(base: RgbaImage, layer: RgbaLayer): RgbaImage {
  const out: RgbaImage = { width: base.width, height: base.height, data: base.data.slice() };
  for (let ly = 0; ly < layer.height; ly++) {
    const y = ly + layer.y;
    if (y < 0 || y >= base.height) continue;
    for (let lx = 0; lx < layer.width; lx++) {
      const x = lx + layer.x;
      if (x < 0 || x >= base.width) continue;
      const s = (ly * layer.width + lx) * 4;
      const a = layer.data[s + 3] ?? 0;
      if (a === 0) continue;
      const o = (y * base.width + x) * 4;
      const ab = out.data[o + 3] ?? 0;
      const sa = a / 255;
      const da = (ab / 255) * (1 - sa);
      const ao = sa + da;
      for (let c = 0; c < 3; c++) {
        out.data[o + c] = clampByte(((layer.data[s + c] ?? 0) * sa + (out.data[o + c] ?? 0) * da) / ao);
      }
      out.data[o + 3] = clampByte(ao * 255);
    }
  }
  return out;
}
