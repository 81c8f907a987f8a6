/**
 * The selection as the view paints it: a translucent tint over selected pixels and their edge
 * pixels dashed black and white (marching ants, two phases). Pure pixel math over a rectangle of
 * the document-size mask, so a brush move repaints only the pixels it touched.
 *
 * The overlay is drawn scaled with the document, so at a low zoom a one-pixel edge would shrink to
 * a fraction of a screen pixel and vanish (14 % on a 6000-px photo). `edgeWidth` (document pixels,
 * the view's pixels per screen pixel) keeps the ants about one screen pixel wide, and their dashes
 * a constant length on screen.
 */
import type { Size } from '../editor/editor-document.ts';
import type { PixelRect } from './pixel-rect.ts';

const TINT = [64, 140, 255, 70] as const; // RGBA over fully selected pixels
/** Length of one black + one white dash along the edge, in screen pixels (document pixels at 100 %). */
const ANT_PERIOD = 8;

/** Document pixels per screen pixel for the ants at this view scale (1 at 100 % and above). */
export function antWidthFor(scale: number): number {
  return scale >= 1 ? 1 : Math.max(1, Math.round(1 / scale));
}

/** Straight RGBA for `rect` (rect.width × rect.height × 4) in each of the two ant phases. */
export function paintSelectionOverlay(mask: Uint8Array, doc: Size, rect: PixelRect, edgeWidth = 1): [Uint8ClampedArray<ArrayBuffer>, Uint8ClampedArray<ArrayBuffer>] {
  const { width, height } = doc;
  const phases: [Uint8ClampedArray<ArrayBuffer>, Uint8ClampedArray<ArrayBuffer>] = [
    new Uint8ClampedArray(rect.width * rect.height * 4),
    new Uint8ClampedArray(rect.width * rect.height * 4),
  ];
  const [even, odd] = phases;
  const wide = edgeWidth > 1 ? wideEdge(mask, doc, rect, edgeWidth) : null;
  const half = (ANT_PERIOD * edgeWidth) / 2;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    const row = y * width;
    let o = (y - rect.y) * rect.width * 4;
    for (let x = rect.x; x < rect.x + rect.width; x++, o += 4) {
      const i = row + x;
      const m = mask[i]!;
      if (m === 0) continue;
      const onEdge = wide ? wide[(y - rect.y) * rect.width + (x - rect.x)] === 1
        : m >= 128 && (x === 0 || y === 0 || x === width - 1 || y === height - 1
          || mask[i - 1]! < 128 || mask[i + 1]! < 128 || mask[i - width]! < 128 || mask[i + width]! < 128);
      if (onEdge) {
        const dark = Math.floor((x + y) / half) % 2 === 0;
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

/**
 * 1 for the pixels of `rect` that are selected (≥ 128) and within `w` pixels (a square around
 * them) of an unselected pixel or the document's border, so the band is `w` pixels wide: the
 * selection minus its erosion by a (2w + 1)² square, in two separable passes of sliding counts,
 * linear in the area.
 */
function wideEdge(mask: Uint8Array, doc: Size, rect: PixelRect, w: number): Uint8Array {
  const r = w;
  const x0 = rect.x - r, y0 = rect.y - r;
  const cols = rect.width + 2 * r, rows = rect.height + 2 * r;
  const unselected = (x: number, y: number) => x < 0 || y < 0 || x >= doc.width || y >= doc.height || mask[y * doc.width + x]! < 128;
  // Per row: how many unselected pixels lie within r horizontally of each of rect's columns.
  const near = new Uint8Array(rect.width * rows);
  const prefix = new Int32Array(cols + 1);
  for (let j = 0; j < rows; j++) {
    for (let k = 0; k < cols; k++) prefix[k + 1] = prefix[k]! + (unselected(x0 + k, y0 + j) ? 1 : 0);
    for (let c = 0; c < rect.width; c++) near[j * rect.width + c] = prefix[c + 2 * r + 1]! - prefix[c]! > 0 ? 1 : 0;
  }
  const out = new Uint8Array(rect.width * rect.height);
  const column = new Int32Array(rows + 1);
  for (let c = 0; c < rect.width; c++) {
    for (let j = 0; j < rows; j++) column[j + 1] = column[j]! + near[j * rect.width + c]!;
    for (let y = 0; y < rect.height; y++) {
      const inside = !unselected(rect.x + c, rect.y + y);
      out[y * rect.width + c] = inside && column[y + 2 * r + 1]! - column[y]! > 0 ? 1 : 0;
    }
  }
  return out;
}
