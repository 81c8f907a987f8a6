/**
 * The selection as the view paints it: a translucent tint over selected pixels and their edge
 * pixels dashed black and white (marching ants, two phases). Pure pixel math over a rectangle of
 * the document-size mask, so a brush move repaints only the pixels it touched.
 */
import type { Size } from '../editor/editor-document.ts';
import type { PixelRect } from './pixel-rect.ts';

const TINT = [64, 140, 255, 70] as const; // RGBA over fully selected pixels
/** Length of one black + one white dash along the edge, in document pixels. */
const ANT_PERIOD = 8;

/** Straight RGBA for `rect` (rect.width × rect.height × 4) in each of the two ant phases. */
export function paintSelectionOverlay(mask: Uint8Array, doc: Size, rect: PixelRect): [Uint8ClampedArray<ArrayBuffer>, Uint8ClampedArray<ArrayBuffer>] {
  const { width, height } = doc;
  const phases: [Uint8ClampedArray<ArrayBuffer>, Uint8ClampedArray<ArrayBuffer>] = [
    new Uint8ClampedArray(rect.width * rect.height * 4),
    new Uint8ClampedArray(rect.width * rect.height * 4),
  ];
  const [even, odd] = phases;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    const row = y * width;
    let o = (y - rect.y) * rect.width * 4;
    for (let x = rect.x; x < rect.x + rect.width; x++, o += 4) {
      const i = row + x;
      const m = mask[i]!;
      if (m === 0) continue;
      const onEdge = m >= 128 && (x === 0 || y === 0 || x === width - 1 || y === height - 1
        || mask[i - 1]! < 128 || mask[i + 1]! < 128 || mask[i - width]! < 128 || mask[i + width]! < 128);
      if (onEdge) {
        const dark = Math.floor((x + y) / (ANT_PERIOD / 2)) % 2 === 0;
        even.fill(dark ? 0 : 255, o, o + 3);
        odd.fill(dark ? 255 : 0, o, o + 3);
        even[o + 3] = 255;
        odd[o + 3] = 255;
        continue;
      }
      const alpha = m === 255 ? TINT[3] : Math.round((TINT[3] * m) / 255);
      even[o] = odd[o] = TINT[0];
      even[o + 1] = odd[o + 1] = TINT[1];
      even[o + 2] = odd[o + 2] = TINT[2];
      even[o + 3] = odd[o + 3] = alpha;
    }
  }
  return phases;
}
