import { describe, expect, it } from 'vitest';
import { createMask, createRgba } from '../../../daemon/pixels.ts';
import { matchSeamColors } from '../../../daemon/tasks/color-match.ts';
import type { MaskImage, RgbaImage } from '../../../daemon/tasks/types.ts';

const SIZE = 40;

/** 40×40, the square 10..30 generated. */
function hole(): MaskImage {
  const m = createMask(SIZE, SIZE);
  for (let y = 10; y < 30; y++) for (let x = 10; x < 30; x++) m.data[y * SIZE + x] = 255;
  return m;
}

/** Grey `level`, ± `contrast` on a checkerboard. */
function checker(level: number, contrast: number): RgbaImage {
  const img = createRgba(SIZE, SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const v = level + ((x + y) % 2 === 0 ? contrast : -contrast);
      img.data.set([v, v, v, 255], (y * SIZE + x) * 4);
    }
  }
  return img;
}

/** The largest |value − level| over the generated pixels, red channel. */
function spread(img: RgbaImage, m: MaskImage, level: number): number {
  let max = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i]) max = Math.max(max, Math.abs((img.data[i * 4] ?? 0) - level));
  return max;
}

describe('matchSeamColors', () => {
  it('shifts the generated pixels by the seam difference when it is small', () => {
    const sample = checker(110, 0);
    const shift = matchSeamColors(sample, checker(100, 0), hole(), { ring: 3 });
    expect(shift).toEqual([-10, -10, -10]);
    expect(sample.data[(20 * SIZE + 20) * 4]).toBe(100);
    expect(sample.data[(2 * SIZE + 2) * 4]).toBe(110); // outside the hole: untouched
  });

  it('clamps the shift to maxShift (24 by default) so a real change of content survives', () => {
    const sample = checker(160, 0);
    expect(matchSeamColors(sample, checker(100, 0), hole(), { ring: 3 })).toEqual([-24, -24, -24]);
    expect(sample.data[(20 * SIZE + 20) * 4]).toBe(136);
    const wide = checker(160, 0);
    expect(matchSeamColors(wide, checker(100, 0), hole(), { ring: 3, maxShift: 50 })).toEqual([-50, -50, -50]);
  });

  it('scales contrast by σ_outer/σ_inner, clamped to maxScale (1.25 by default)', () => {
    const m = hole();
    const clamped = checker(100, 10);
    matchSeamColors(clamped, checker(100, 20), m, { ring: 3 });
    expect(Math.abs(spread(clamped, m, 100) - 12.5)).toBeLessThanOrEqual(1);
    const free = checker(100, 10);
    matchSeamColors(free, checker(100, 20), m, { ring: 3, maxScale: 4 });
    expect(Math.abs(spread(free, m, 100) - 20)).toBeLessThanOrEqual(1);
    const down = checker(100, 40);
    matchSeamColors(down, checker(100, 10), m, { ring: 3 }); // scale clamped to 1/1.25
    expect(Math.abs(spread(down, m, 100) - 32)).toBeLessThanOrEqual(1);
  });

  it('keeps the contrast of a flat generated ring (σ ≈ 0 says nothing)', () => {
    const m = hole();
    const flat = checker(100, 0);
    matchSeamColors(flat, checker(100, 20), m, { ring: 3 });
    expect(spread(flat, m, 100)).toBeLessThanOrEqual(1);
  });

  it('corrects nothing when a ring has fewer than 16 pixels', () => {
    const tiny = createMask(SIZE, SIZE);
    tiny.data[20 * SIZE + 20] = 255;
    const sample = checker(160, 0);
    expect(matchSeamColors(sample, checker(100, 0), tiny, { ring: 1 })).toBeNull();
    expect(sample.data[(20 * SIZE + 20) * 4]).toBe(160);
  });
});
