/**
 * Pixel bookkeeping shared by the host adapters: where an image lands on the canvas, and how a canvas
 * resize with an arbitrary offset is expressed with the anchor-only resizeCanvas of Photoshop and
 * Photopea. Pure functions, no host APIs.
 */
import { EditorError, type CanvasResize, type RgbaPixels, type Size } from './editor-document.ts';

export type AnchorName = 'TOPLEFT' | 'TOPCENTER' | 'TOPRIGHT' | 'MIDDLELEFT' | 'MIDDLECENTER' | 'MIDDLERIGHT'
  | 'BOTTOMLEFT' | 'BOTTOMCENTER' | 'BOTTOMRIGHT';

export interface CanvasStep extends Size {
  anchor: AnchorName;
}

/** The part of an image at (x, y) that lies on the canvas, or null when none does. */
export function cropToCanvas(image: RgbaPixels, x: number, y: number, doc: Size):
  { left: number; top: number; width: number; height: number; data: Uint8Array } | null {
  const left = Math.max(0, x);
  const top = Math.max(0, y);
  const right = Math.min(doc.width, x + image.width);
  const bottom = Math.min(doc.height, y + image.height);
  if (right <= left || bottom <= top) return null;
  const width = right - left;
  const height = bottom - top;
  if (width === image.width && height === image.height) return { left, top, width, height, data: image.data };
  const data = new Uint8Array(width * height * 4);
  for (let row = 0; row < height; row++) {
    const start = ((top - y + row) * image.width + (left - x)) * 4;
    data.set(image.data.subarray(start, start + width * 4), row * width * 4);
  }
  return { left, top, width, height, data };
}

/**
 * Document.resizeCanvas only takes an anchor, not an offset. When the offset is one an anchor gives
 * (0, centred with an even margin, or all of the growth) one call does it; otherwise two calls: first
 * grow/shrink the top-left edges by the offset (anchored bottom-right), then the rest (anchored top-left).
 */
export function canvasSteps(old: Size, resize: CanvasResize): CanvasStep[] {
  const horizontal = anchorPart(resize.width - old.width, resize.offsetX, ['LEFT', 'CENTER', 'RIGHT']);
  const vertical = anchorPart(resize.height - old.height, resize.offsetY, ['TOP', 'MIDDLE', 'BOTTOM']);
  if (horizontal && vertical) {
    return [{ width: resize.width, height: resize.height, anchor: `${vertical}${horizontal}` }];
  }
  const first = { width: old.width + resize.offsetX, height: old.height + resize.offsetY };
  if (first.width <= 0 || first.height <= 0) {
    throw new EditorError('UNSUPPORTED', 'That canvas offset would remove the whole image.');
  }
  const steps: CanvasStep[] = [];
  if (resize.offsetX !== 0 || resize.offsetY !== 0) steps.push({ ...first, anchor: 'BOTTOMRIGHT' });
  if (first.width !== resize.width || first.height !== resize.height) {
    steps.push({ width: resize.width, height: resize.height, anchor: 'TOPLEFT' });
  }
  return steps;
}

function anchorPart<T extends string>(growth: number, offset: number, names: [T, T, T]): T | undefined {
  if (offset === 0) return names[0];
  if (offset === growth) return names[2];
  if (growth % 2 === 0 && offset === growth / 2) return names[1];
  return undefined;
}

/** The smallest rectangle holding every pixel with alpha > 0, or null for a fully transparent image. */
export function contentBounds(image: RgbaPixels): { left: number; top: number; width: number; height: number } | null {
  let left = image.width;
  let top = image.height;
  let right = -1;
  let bottom = -1;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[(y * image.width + x) * 4 + 3] === 0) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      bottom = y;
    }
  }
  return right < 0 ? null : { left, top, width: right - left + 1, height: bottom - top + 1 };
}
