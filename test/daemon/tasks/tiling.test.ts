import { describe, expect, it } from 'vitest';
import { tileStarts, tileWeights } from '../../../daemon/tasks/tiling.ts';

describe('tileStarts', () => {
  it.each([
    [1000, 64, 16],
    [700, 64, 16],
    [65, 64, 16],
    [4000, 256, 32],
    [129, 128, 127],
  ])('covers [0, %i) with %i-px tiles, overlaps of at least %i px, evenly spread, as few tiles as that allows', (length, tile, minOverlap) => {
    const starts = tileStarts(length, tile, minOverlap);
    expect(starts[0]).toBe(0);
    expect(starts.at(-1)! + tile).toBe(length);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    for (const g of gaps) expect(tile - g).toBeGreaterThanOrEqual(minOverlap);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
    expect(starts.length).toBe(Math.ceil((length - tile) / (tile - minOverlap)) + 1);
  });

  it('is one tile at 0 when the length fits', () => {
    expect(tileStarts(64, 64, 16)).toEqual([0]);
    expect(tileStarts(10, 64, 16)).toEqual([0]);
  });
});

describe('tileWeights', () => {
  it('weights rise smoothly on sides with a neighbour only, and are never 0', () => {
    const w = tileWeights(48, 64, 1000, 16);
    expect(w[0]).toBeGreaterThan(0);
    expect(w[0]).toBeLessThan(0.05);
    expect(w[32]).toBe(1);
    for (let i = 1; i < 16; i++) expect(w[i]!).toBeGreaterThan(w[i - 1]!);
    expect([...tileWeights(0, 64, 64, 16)].every((v) => v === 1)).toBe(true);
    expect(tileStarts(50, 64, 16)).toEqual([0]);
  });

  it('is exactly 1 between the ramps, and the far ramp mirrors the near one', () => {
    const w = tileWeights(48, 64, 1000, 16);
    for (let i = 16; i < 48; i++) expect(w[i]).toBe(1);
    for (let i = 0; i < 16; i++) {
      expect(w[i]!).toBeLessThan(1);
      expect(w[63 - i]).toBe(w[i]);
    }
  });

  it('ramps only toward a neighbour: none at the image borders, one as soon as a pixel lies beyond the tile', () => {
    const first = tileWeights(0, 64, 65, 16); // ends 1 px short of the end: a neighbour covers that pixel
    expect(first[0]).toBe(1);
    expect(first[63]!).toBeLessThan(0.05);
    const last = tileWeights(1, 64, 65, 16); // ends at the end
    expect(last[63]).toBe(1);
    expect(last[0]!).toBeLessThan(0.05);
  });

  it('is all ones with no ramp, and a ramp longer than the tile still never reaches 0', () => {
    expect([...tileWeights(10, 32, 100, 0)].every((v) => v === 1)).toBe(true);
    const w = tileWeights(10, 8, 100, 16);
    expect(w).toHaveLength(8);
    for (const v of w) expect(v).toBeGreaterThan(0);
    // Both ramps cover the whole tile: each pixel takes the lower of the two, so the tile stays symmetric.
    for (let i = 0; i < 8; i++) expect(w[7 - i]).toBe(w[i]);
    expect(w[0]!).toBeLessThan(w[3]!);
  });
});
