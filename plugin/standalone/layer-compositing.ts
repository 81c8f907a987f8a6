/**
 * Pixel math for the standalone document's layers: where a layer overlaps the canvas, row by row,
 * and Porter-Duff "over" for straight-alpha RGBA8. No DOM, so it runs in Node tests.
 */
import type { Size } from '../editor/editor-document.ts';

/** A layer's placement and pixels (width * height * 4, straight alpha). */
export interface PlacedPixels {
  x: number;
  y: number;
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Calls `row(srcByte, dstByte, pixelCount)` for each row of `layer` that lies on the canvas. */
export function forEachOverlap(layer: PlacedPixels, doc: Size, row: (src: number, dst: number, count: number) => void): void {
  const left = Math.max(0, layer.x);
  const right = Math.min(doc.width, layer.x + layer.width);
  const top = Math.max(0, layer.y);
  const bottom = Math.min(doc.height, layer.y + layer.height);
  if (right <= left || bottom <= top) return;
  for (let y = top; y < bottom; y++) {
    row(((y - layer.y) * layer.width + (left - layer.x)) * 4, (y * doc.width + left) * 4, right - left);
  }
}

/** Porter-Duff "over" for straight-alpha RGBA8 rows. */
export function blendRow(src: Uint8Array, s: number, dst: Uint8Array, d: number, count: number): void {
  for (let i = 0; i < count; i++, s += 4, d += 4) {
    const sa = src[s + 3]!;
    if (sa === 0) continue;
    const da = dst[d + 3]!;
    if (sa === 255 || da === 0) {
      dst[d] = src[s]!; dst[d + 1] = src[s + 1]!; dst[d + 2] = src[s + 2]!; dst[d + 3] = sa;
      continue;
    }
    const a = sa / 255;
    const b = (da / 255) * (1 - a);
    const outA = a + b;
    for (let c = 0; c < 3; c++) dst[d + c] = Math.round((src[s + c]! * a + dst[d + c]! * b) / outA);
    dst[d + 3] = Math.round(outA * 255);
  }
}
