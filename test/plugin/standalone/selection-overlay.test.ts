import { describe, expect, it } from 'vitest';
import { rectMask } from '../../../plugin/standalone/selection-tools.ts';
import { antWidthFor, paintSelectionOverlay } from '../../../plugin/standalone/selection-overlay.ts';
import { clipRect, unionRect } from '../../../plugin/standalone/pixel-rect.ts';

describe('paintSelectionOverlay', () => {
  const doc = { width: 10, height: 10 };
  const mask = rectMask(doc, { x: 2, y: 2 }, { x: 8, y: 8 });

  it('tints the inside, dashes the edge in opposite phases, leaves the outside clear', () => {
    const [even, odd] = paintSelectionOverlay(mask, doc, { x: 0, y: 0, width: 10, height: 10 });
    const at = (data: Uint8ClampedArray, x: number, y: number) => Array.from(data.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 4));
    expect(at(even, 0, 0)).toEqual([0, 0, 0, 0]);
    expect(at(even, 4, 4)).toEqual([64, 140, 255, 70]);
    expect(at(even, 4, 4)).toEqual(at(odd, 4, 4));
    expect(at(even, 2, 2)[3]).toBe(255);
    expect(at(even, 2, 2)[0]).toBe(255 - at(odd, 2, 2)[0]!);
  });

  it('zoomed out, the ants are as many document pixels wide as one screen pixel covers, dashes as long on screen', () => {
    expect(antWidthFor(1)).toBe(1);
    expect(antWidthFor(2)).toBe(1);
    expect(antWidthFor(0.14)).toBe(7); // 6000 px in an 840-px-wide view
    const big = { width: 40, height: 40 };
    const square = rectMask(big, { x: 5, y: 5 }, { x: 35, y: 35 });
    const [even, odd] = paintSelectionOverlay(square, big, { x: 0, y: 0, width: 40, height: 40 }, 4);
    const alpha = (x: number, y: number) => even[(y * 40 + x) * 4 + 3];
    expect([alpha(5, 20), alpha(8, 20), alpha(9, 20)]).toEqual([255, 255, 70]); // 4 px of ants, then tint
    expect([alpha(34, 20), alpha(31, 20), alpha(30, 20)]).toEqual([255, 255, 70]);
    expect(alpha(4, 20)).toBe(0);
    // Dashes of 16 document px (4 × 4 px) along the top edge: dark from x+y in [0, 16), light in [16, 32).
    const shade = (x: number, y: number) => even[(y * 40 + x) * 4];
    expect([shade(5, 5), shade(10, 5), shade(11, 5), shade(26, 5), shade(27, 5)]).toEqual([0, 0, 255, 255, 0]);
    expect(odd[(5 * 40 + 5) * 4]).toBe(255);
    // A part paints as the whole does, wide edges included.
    const part = paintSelectionOverlay(square, big, { x: 3, y: 18, width: 10, height: 3 }, 4)[0];
    for (let y = 0; y < 3; y++) {
      expect(Array.from(part.subarray(y * 40, y * 40 + 40))).toEqual(Array.from(even.subarray(((y + 18) * 40 + 3) * 4, ((y + 18) * 40 + 13) * 4)));
    }
  });

  it('paints just a sub-rectangle the same as the whole', () => {
    const whole = paintSelectionOverlay(mask, doc, { x: 0, y: 0, width: 10, height: 10 })[0];
    const part = paintSelectionOverlay(mask, doc, { x: 1, y: 3, width: 4, height: 2 })[0];
    for (let y = 0; y < 2; y++) {
      expect(Array.from(part.subarray(y * 16, y * 16 + 16))).toEqual(Array.from(whole.subarray(((y + 3) * 10 + 1) * 4, ((y + 3) * 10 + 5) * 4)));
    }
  });
});

describe('pixel rects', () => {
  it('unites and clips with a margin', () => {
    expect(unionRect({ x: 0, y: 0, width: 2, height: 2 }, { x: 5, y: 1, width: 1, height: 4 })).toEqual({ x: 0, y: 0, width: 6, height: 5 });
    expect(unionRect(null, null)).toBeNull();
    expect(clipRect({ x: -3, y: 8, width: 4, height: 4 }, { width: 10, height: 10 }, 1)).toEqual({ x: 0, y: 7, width: 2, height: 3 });
    expect(clipRect({ x: 20, y: 0, width: 4, height: 4 }, { width: 10, height: 10 })).toBeNull();
  });
});
