/**
 * What the editor does with a result, for the CLI: put the layer over the original on the result's
 * canvas ("normal" blending with the layer's alpha). For uncrop the original sits at (left, top).
 */
import type { RgbaImage } from '../tasks/types.ts';

export function composeOver(original: RgbaImage, originAt: { x: number; y: number }, canvas: { width: number; height: number },
  layer: RgbaImage, layerAt: { x: number; y: number }): RgbaImage {
  const out: RgbaImage = { width: canvas.width, height: canvas.height, data: new Uint8Array(canvas.width * canvas.height * 4) };
  blit(out, original, originAt.x, originAt.y, false);
  blit(out, layer, layerAt.x, layerAt.y, true);
  return out;
}

/** Copies `src` into `dst` at (ox, oy); with `over`, alpha-composites it (straight alpha). */
function blit(dst: RgbaImage, src: RgbaImage, ox: number, oy: number, over: boolean): void {
  for (let y = 0; y < src.height; y++) {
    const dy = y + oy;
    if (dy < 0 || dy >= dst.height) continue;
    for (let x = 0; x < src.width; x++) {
      const dx = x + ox;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (y * src.width + x) * 4;
      const d = (dy * dst.width + dx) * 4;
      const a = (src.data[s + 3] ?? 0) / 255;
      if (!over || a >= 1) {
        for (let c = 0; c < 4; c++) dst.data[d + c] = src.data[s + c] ?? 0;
        continue;
      }
      if (a <= 0) continue;
      const da = (dst.data[d + 3] ?? 0) / 255;
      const outA = a + da * (1 - a);
      for (let c = 0; c < 3; c++) {
        const value = ((src.data[s + c] ?? 0) * a + (dst.data[d + c] ?? 0) * da * (1 - a)) / outA;
        dst.data[d + c] = Math.round(value);
      }
      dst.data[d + 3] = Math.round(outA * 255);
    }
  }
}
