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

  it('corrects each channel by its own seam difference, and leaves alpha alone', () => {
    const sample = checker(100, 0);
    const original = checker(100, 0);
    for (let i = 0; i < SIZE * SIZE; i++) {
      sample.data.set([110, 90, 100], i * 4); // a warm cast: red up 10, green down 10, blue right
    }
    expect(matchSeamColors(sample, original, hole(), { ring: 3 })).toEqual([-10, 10, 0]);
    expect([...sample.data.subarray((20 * SIZE + 20) * 4, (20 * SIZE + 20) * 4 + 4)]).toEqual([100, 100, 100, 255]);
    expect([...sample.data.subarray((20 * SIZE + 21) * 4, (20 * SIZE + 21) * 4 + 4)]).toEqual([100, 100, 100, 255]);
  });

  it('measures the generated side on the inner ring only: deeper content and the known pixels do not count', () => {
    // The hole's edge (3 px deep) is 110, its middle 180, and the sample's known pixels 0: only the ring
    // may set the shift (−10), which then moves the middle too.
    const m = hole();
    const sample = checker(0, 0);
    for (let y = 10; y < 30; y++) {
      for (let x = 10; x < 30; x++) {
        const edge = x < 13 || x >= 27 || y < 13 || y >= 27;
        const v = edge ? 110 : 180;
        sample.data.set([v, v, v], (y * SIZE + x) * 4);
      }
    }
    expect(matchSeamColors(sample, checker(100, 0), m, { ring: 3 })).toEqual([-10, -10, -10]);
    expect(sample.data[(20 * SIZE + 20) * 4]).toBe(170);
  });

  it('needs both rings: a hole too thin for an inner ring corrects nothing, one with 16 ring pixels does', () => {
    // A 1-px-high line: its outer ring is large, its inner ring (generated pixels within 3 px of the edge)
    // is the whole line, so the line's length decides.
    const line = createMask(SIZE, SIZE);
    for (let x = 10; x < 18; x++) line.data[20 * SIZE + x] = 255; // 8 px: inner ring too small
    const short = checker(140, 0);
    expect(matchSeamColors(short, checker(100, 0), line, { ring: 3 })).toBeNull();
    expect(short.data[(20 * SIZE + 12) * 4]).toBe(140);
    for (let x = 18; x < 26; x++) line.data[20 * SIZE + x] = 255; // 16 px: just enough
    const enough = checker(140, 0);
    expect(matchSeamColors(enough, checker(100, 0), line, { ring: 3 })).toEqual([-24, -24, -24]);
    // The outer ring too: a hole covering all but 3 pixels leaves fewer than 16 known ring pixels.
    const frame = createMask(SIZE, SIZE);
    frame.data.fill(255);
    for (let x = 0; x < 3; x++) frame.data[x] = 0; // 3 known pixels in the corner
    const covered = checker(140, 0);
    expect(matchSeamColors(covered, checker(100, 0), frame, { ring: 3 })).toBeNull();
    for (let x = 3; x < 16; x++) frame.data[x] = 0; // 16 known pixels, all on the outer ring
    expect(matchSeamColors(checker(140, 0), checker(100, 0), frame, { ring: 3 })).toEqual([-24, -24, -24]);
  });
});
