import { describe, expect, it } from 'vitest';
import { estimateQuantization, fitQuality, ijgTable, jpegProjector, latticeStep, showsLattice, type JpegQuantization } from '../../../daemon/tasks/jpeg-consistency.ts';
import type { RgbaImage } from '../../../daemon/tasks/types.ts';
import { fixturePhoto, jpeg, jpegWithTables, scene } from './jpeg-images.ts';

/** [3,H,W] in [-1, 1] from RGBA. */
function toPlanes(image: RgbaImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 4 + c]! / 127.5 - 1;
  return out;
}

function wholeImage(input: RgbaImage, quantization: JpegQuantization, tightness = 1) {
  const { width, height } = input;
  return jpegProjector({
    input, quantization, tightness, region: { x: 0, y: 0, width, height }, estimateWidth: width, estimateHeight: height, partialBlocks: 'pad',
  });
}

/** Mean luma (0…255) of each 8×8 block of [3,H,W] planes in [-1, 1]. */
function blockLumaMeans(planes: Float32Array, width: number, height: number): number[] {
  const plane = width * height;
  const means: number[] = [];
  for (let by = 0; by + 8 <= height; by += 8) {
    for (let bx = 0; bx + 8 <= width; bx += 8) {
      let sum = 0;
      for (let y = by; y < by + 8; y++) {
        for (let x = bx; x < bx + 8; x++) {
          const p = y * width + x;
          const [r, g, b] = [0, 1, 2].map((c) => (planes[c * plane + p]! + 1) * 127.5) as [number, number, number];
          sum += 0.299 * r + 0.587 * g + 0.114 * b;
        }
      }
      means.push(sum / 64);
    }
  }
  return means;
}

describe('the IJG tables', () => {
  it('are Annex K at quality 50, five times it at 10 (capped at 255 for baseline JPEG)', () => {
    expect(Array.from(ijgTable(50, false).slice(0, 8))).toEqual([16, 11, 10, 16, 24, 40, 51, 61]);
    expect(Array.from(ijgTable(50, true).slice(0, 4))).toEqual([17, 18, 24, 47]);
    expect(Array.from(ijgTable(10, false).slice(0, 8))).toEqual([80, 55, 50, 80, 120, 200, 255, 255]);
    expect(ijgTable(100, false).every((q) => q === 1)).toBe(true);
    // libjpeg scales by 5000 / q in integers: 178 at q28 (not 178.57), so Annex K's 99 becomes 176, not 177.
    expect(ijgTable(28, true)[63]).toBe(176);
    expect(ijgTable(30, false)[63]).toBe(164); // ⌊(99 · 166 + 50) / 100⌋ (166.67 would give 165)
  });
});

describe('latticeStep (one frequency\'s coefficients over many blocks)', () => {
  // Multiples of 12 with decoding noise of ±1, zeros included, as a quantized frequency looks.
  const onLattice = (q: number, n: number) => Array.from({ length: n }, (_, i) => q * ((i % 7) - 3) + ((i * 37) % 3) - 1);
  it('finds the step of values on a lattice, with noise and zeros', () => {
    expect(latticeStep(onLattice(12, 70))).toBe(12);
    expect(latticeStep(onLattice(40, 70))).toBe(40);
  });
  it('is 0 for an unused frequency: fewer than 16 values beyond noise, or fewer than 8 of at least 8', () => {
    expect(latticeStep([...onLattice(12, 15).filter((v) => Math.abs(v) >= 2.5), 0, 0, 1, -1])).toBe(0);
    expect(latticeStep([...Array(20).fill(3), 12, -12, 24, 12, 12, 12, 12])).toBe(0); // 7 values of at least 8
  });
  it('is 1 for values on no lattice (used, but not quantized coarser than rounding)', () => {
    expect(latticeStep(Array.from({ length: 70 }, (_, i) => 3 + ((i * 7.31) % 50)))).toBe(1);
  });
  it('wants 85 % of all informative values and 85 % of the non-zero multiples on the lattice, both', () => {
    const fitting = [40, -40, 80, 120, -80, 40, 160, -120, 40, 80];
    // Most values off the lattice near zero (5…15 fit no multiple of 40), the non-zero ones on it.
    const step1 = latticeStep([...fitting, ...Array.from({ length: 60 }, (_, i) => (i % 2 ? 1 : -1) * (5 + (i % 11)))]);
    expect(step1 < 34 || step1 > 40, String(step1)).toBe(true);
    // Most values fit (near zero), but the non-zero multiples mostly miss it.
    const step2 = latticeStep([...Array.from({ length: 100 }, (_, i) => (i % 2 ? 3 : -3)), 40, 80, -40, 120, ...[55, 95, -55, 135, 175, -95, 215, 55, 95, -135]]);
    expect(step2).toBeLessThan(34); // not 40, nor a large step that only the near-zero values fit (125)
  });

  it('counts values of exactly 2.5 as beyond noise, and needs 16 of them', () => {
    const lattice = [40, -40, 80, -80, 120, 40, -40, 80]; // 8 on a lattice of 40, three multiples
    const noise = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? 2.5 : -2.5));
    expect(latticeStep([...lattice, ...noise(8)])).toBe(40); // 16 informative
    expect(latticeStep([...lattice, ...noise(7), 2.4])).toBe(0); // 15
  });
  it('tries steps down to 4', () => {
    expect(latticeStep(Array.from({ length: 60 }, (_, i) => 4 * ((i % 9) - 4) + [-0.3, 0, 0.3][i % 3]!))).toBe(4);
  });
  it('does not take a large step that only rounds every value to zero for a lattice', () => {
    // Values within ±20 on no lattice: a step of 255 puts them all within its tolerance (25.5) of 0.
    const small = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1) * (3 + ((i * 7.3) % 17)));
    expect(latticeStep(small)).toBe(1);
    // Nor a step of 200 that two outliers (±200) fit: fewer than 8 non-zero multiples show no lattice.
    expect(latticeStep([...small, 200, -200])).toBe(1);
  });
  it('accepts exactly 8 non-zero values and exactly 85 % of them on the lattice', () => {
    // 20 values at non-zero multiples of 40, 17 of them on it (85 %) and 3 halfway between.
    const values = [40, -40, 80, 120, -80, 40, 160, -120, 40, 80, 40, -40, 80, 120, -80, 40, 160, 60, -100, 140];
    expect(latticeStep(values)).toBe(40);
    // 8 non-zero values on the lattice (two multiples), 8 near zero to make 16 informative.
    expect(latticeStep([40, -40, 80, 40, -80, 40, 120, -40, ...Array.from({ length: 8 }, (_, i) => (i % 2 ? 3 : -3))])).toBe(40);
  });

  it('does not take one repeated value for a lattice (a flat image\'s DC fits any divisor of it)', () => {
    expect(latticeStep([...Array(40).fill(96), ...Array(20).fill(0.3)])).toBe(1);
  });
});

describe("latticeStep's refinement (steps a little above the true one fit within their tolerance too)", () => {
  // ±80 with fractional decoding noise: every step from 80 up to 88 puts them within 10 % of itself.
  const noisy80 = Array.from({ length: 60 }, (_, i) => (i % 2 ? 80 : -80) + [-0.4, -0.2, 0, 0.2, 0.4][i % 5]!);
  it('takes the step whose multiples lie closest to the values (median residual), not the largest that fits', () => {
    expect(latticeStep(noisy80)).toBe(80);
    expect(latticeStep([...noisy80, ...noisy80.map((v) => 2 * v), ...Array(30).fill(0.5)])).toBe(80);
  });
  it('measures the residuals of the non-zero multiples only (values near zero fit every step alike)', () => {
    const nearZero = Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : -1) * (3 + (i % 4)));
    expect(latticeStep([...noisy80, ...nearZero])).toBe(80);
  });
});

describe('fitQuality (the IJG quality of measured luminance steps)', () => {
  /** The table of a quality at the first `n` frequencies (row-major), 0 (unmeasured) at the others. */
  const measuredAt = (table: Float64Array, n: number) => Float64Array.from(table, (q, k) => (k < n ? q : 0));
  it('recognises every quality from its table, whole or at the low frequencies a photo uses', () => {
    for (const quality of [1, 5, 10, 20, 28, 30, 50, 75]) {
      expect(fitQuality(ijgTable(quality, false), false)?.quality).toBe(quality);
      expect(fitQuality(measuredAt(ijgTable(quality, false), 24), false)).toEqual({ quality, used: 24, exact: 24, close: 24, error: 0 });
    }
    expect(fitQuality(ijgTable(20, true), true)?.quality).toBe(20);
  });
  it('gives a tie to the higher quality (smaller steps where nothing was measured: closer to the input)', () => {
    // Qualities 49, 50 and 51 share the four lowest luminance steps (16, 11, 10, 16).
    expect(fitQuality(measuredAt(ijgTable(50, false), 4), false)?.quality).toBe(51);
  });
  it('needs at least 4 measured steps (4 and up)', () => {
    expect(fitQuality(measuredAt(ijgTable(10, false), 3), false)).toBeUndefined();
    expect(fitQuality(measuredAt(ijgTable(10, false), 4), false)?.quality).toBe(10);
    // Steps under 4 are not measured (rounding noise hides them): quality 90's 3s and 2s do not count.
    const fine = measuredAt(ijgTable(90, false), 16);
    expect(Array.from(fine).filter((q) => q >= 4).length).toBe(9);
    expect(fitQuality(fine, false)).toMatchObject({ quality: 90, used: 9 });
  });
  it('with no step exact for any quality, takes the smallest median log error, and only under 0.1', () => {
    // Alternately 2 % above and below quality 20's table (fractional: no table has them): still 20.
    const wobble = (f: number) => Float64Array.from(ijgTable(20, false), (q, k) => (k % 2 ? q * f : q / f) + 0.01);
    expect(fitQuality(wobble(1.02), false)).toMatchObject({ quality: 20, exact: 0, close: 64 });
    // 9 % above and below: some quality near 20 is within 10 % at the median; 12 %: none is.
    const nine = fitQuality(wobble(1.09), false);
    expect(nine!.quality).toBeGreaterThanOrEqual(17);
    expect(nine!.quality).toBeLessThanOrEqual(23);
    expect(fitQuality(wobble(1.12), false)).toBeUndefined();
  });
});

describe('showsLattice (a JPEG grid in a channel\'s measured steps)', () => {
  it('needs the minimum number of frequencies with a step of 8 or more', () => {
    const steps = (...values: number[]) => Float64Array.from({ length: 64 }, (_, k) => values[k] ?? 0);
    expect(showsLattice(steps(8, 9, 40), 3)).toBe(true);
    expect(showsLattice(steps(8, 9, 7, 1, 4), 3)).toBe(false);
    expect(showsLattice(steps(8, 9, 40), 4)).toBe(false);
    expect(showsLattice(steps(8, 8, 8, 8), 4)).toBe(true);
  });
});

describe('estimateQuantization', () => {
  for (const quality of [5, 10, 20, 50]) {
    it(`finds the quality and the whole luminance table of a quality-${quality} JPEG from its pixels`, async () => {
      const q = estimateQuantization(await jpeg(scene(192, 160), quality));
      expect(q.quality).toBe(quality);
      expect(Array.from(q.steps[0])).toEqual(Array.from(ijgTable(quality, false)));
    });
  }

  it('finds the chroma table of a 4:4:4 JPEG (chroma stored at full resolution shows its lattice)', async () => {
    for (const quality of [10, 50]) {
      const q = estimateQuantization(await jpeg(await fixturePhoto(), quality, '4:4:4'));
      expect([q.quality, q.chromaLattice]).toEqual([quality, true]);
      for (const c of [1, 2] as const) expect(Array.from(q.steps[c])).toEqual(Array.from(ijgTable(quality, true)));
    }
    // Quality 5: its table is within 4 % of only 9 of the 14 luminance steps measured (a small photo,
    // 300 blocks), and still recognised whole.
    const q5 = estimateQuantization(await jpeg(await fixturePhoto(), 5, '4:4:4'));
    expect(Array.from(q5.steps[0])).toEqual(Array.from(ijgTable(5, false)));
  });

  it("keeps the measured steps of another encoder's tables (mozjpeg's), the nearest IJG quality's only where none was measured", async () => {
    // mozjpeg's table 3 (its default) at quality 30 is within 10 % of IJG quality 20 at the median, but
    // IJG 20 has a DC step of 40 where the file has 27: half a step more freedom in every block's mean.
    // Its table 4 at quality 85 comes within 4 % of IJG 84 at 13 of 31 measured steps (42 %).
    for (const [table, quality, nearest] of [[3, 30, 20], [4, 85, 84]] as const) {
      const { decoded, lumaTable } = await jpegWithTables(scene(384, 320), quality, '4:2:0', table);
      const q = estimateQuantization(decoded);
      expect(q.quality).toBe(nearest);
      const ijg = ijgTable(nearest, false);
      const steps = Array.from(q.steps[0]);
      // Every step is the file's (measured), or 1 (used, no lattice), or the IJG table's (never used).
      steps.forEach((s, k) => expect([lumaTable[k], 1, ijg[k]]).toContain(s));
      expect(steps.filter((s, k) => s === lumaTable[k] && s !== ijg[k]).length, 'measured').toBeGreaterThanOrEqual(10);
      expect(steps.filter((s, k) => s === ijg[k] && s !== lumaTable[k] && s !== 1).length, 'never used').toBeGreaterThanOrEqual(20);
    }
    expect(estimateQuantization((await jpegWithTables(scene(384, 320), 30, '4:2:0', 3)).decoded).steps[0][0]).toBe(27);
    // The IJG JPEG of the same picture: its DQT is the table recognised, at all 64 frequencies.
    const ijgFile = await jpegWithTables(scene(384, 320), 30);
    expect(Array.from(estimateQuantization(ijgFile.decoded).steps[0])).toEqual(ijgFile.lumaTable);
  });

  it('keeps the colour of 4:2:0 chroma (no lattice at full resolution: steps of 1 at most frequencies)', async () => {
    const q = estimateQuantization(await jpeg(scene(192, 160), 10, '4:2:0'));
    for (const c of [1, 2] as const) expect(q.steps[c].filter((s) => s <= 4).length).toBeGreaterThan(56);
  });

  it('assumes a quality-75 luminance table and keeps the colour of an image that was never a JPEG', () => {
    const q = estimateQuantization(scene(192, 160));
    expect(q.quality).toBeUndefined();
    expect(Array.from(q.steps[0])).toEqual(Array.from(ijgTable(75, false)));
    for (const c of [1, 2] as const) expect(q.steps[c].filter((s) => s <= 4).length).toBeGreaterThan(56);
  });

  it('reads at most 4,096 blocks, spread over the whole image (a 1024×768 photo has 12,288)', async () => {
    const photo = await jpeg(scene(1024, 768), 20);
    const reads = new Set<number>();
    const data = new Proxy(photo.data, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads.add(Math.floor(Number(key) / 4));
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const q = estimateQuantization({ ...photo, data });
    expect(q.quality).toBe(20);
    const blocks = new Set([...reads].map((p) => `${Math.floor((p % 1024) / 8)},${Math.floor(p / 1024 / 8)}`));
    expect(blocks.size).toBeLessThanOrEqual(4096);
    expect(blocks.size).toBeGreaterThan(3000);
    const rows = new Set([...blocks].map((b) => b.split(',')[1]));
    expect(rows.size).toBe(96); // every block row is sampled
  });

  it('sees no false lattice in a flat image (one repeated DC value fits any of its divisors)', () => {
    const flat: RgbaImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).fill(200) };
    expect(estimateQuantization(flat).steps[0][0]).toBe(ijgTable(75, false)[0]);
  });
});

describe('jpegProjector', () => {
  it("keeps every 8×8 block's mean luma within half its quantization step of the input's, whatever the estimate", async () => {
    const width = 100; // not a multiple of 8: the blocks at the right and bottom edge are padded
    const height = 84;
    const input = await jpeg(scene(width, height), 10);
    const quantization = estimateQuantization(input);
    const estimate = toPlanes(input).map((v, i) => (i % 7 === 0 ? -v : 0.8 * Math.sin(i))); // far from the input
    wholeImage(input, quantization)(estimate);
    const got = blockLumaMeans(estimate, width, height);
    const want = blockLumaMeans(toPlanes(input), width, height);
    // DC = 8 × the block mean (orthonormal DCT); its step at quality 10 is 80, so means move ≤ 5 levels
    // (+ the projection's ½ rounding allowance).
    const bound = (quantization.steps[0][0]! / 2 + 0.5) / 8 + 1e-3; // float32 storage
    const worst = Math.max(...got.map((m, i) => Math.abs(m - want[i]!)));
    expect(worst).toBeLessThanOrEqual(bound);
    expect(worst).toBeGreaterThan(1); // it did move: the estimate was not simply replaced by the input
  });

  it('leaves the input (inside its own set) unchanged, and is idempotent', async () => {
    const input = await jpeg(scene(96, 64), 20);
    const project = wholeImage(input, estimateQuantization(input));
    const planes = toPlanes(input);
    const once = Float32Array.from(planes);
    project(once);
    expect(Math.max(...once.map((v, i) => Math.abs(v - planes[i]!))) * 127.5).toBeLessThan(0.01);
    const far = planes.map((v, i) => v * 0.5 + 0.3 * Math.cos(i / 5));
    project(far);
    const twice = Float32Array.from(far);
    project(twice);
    expect(Math.max(...twice.map((v, i) => Math.abs(v - far[i]!))) * 127.5).toBeLessThan(0.05);
  });

  it('leaves the input unchanged at a size that cuts blocks (90×60): edge blocks read with their last row and column repeated', async () => {
    const input = await jpeg(scene(90, 60), 20);
    const planes = toPlanes(input);
    const once = Float32Array.from(planes);
    wholeImage(input, estimateQuantization(input))(once);
    expect(Math.max(...once.map((v, i) => Math.abs(v - planes[i]!))) * 127.5).toBeLessThan(0.01);
  });

  it('tightness 0 gives the input back; 1 lets a restoration move the pixels further', async () => {
    const input = await jpeg(scene(96, 64), 10);
    const quantization = estimateQuantization(input);
    const original = toPlanes(scene(96, 64));
    const moved = (tightness: number) => {
      const est = Float32Array.from(original);
      wholeImage(input, quantization, tightness)(est);
      const planes = toPlanes(input);
      return est.reduce((s, v, i) => s + Math.abs(v - planes[i]!), 0) / est.length;
    };
    expect(moved(0) * 127.5).toBeLessThan(1); // ± the ½ rounding allowance per coefficient
    expect(moved(1)).toBeGreaterThan(3 * moved(0));
  });

  it("reads a tile's estimate at each block's image position: the JPEG's own pixels come back unchanged (tightness 1)", async () => {
    const input = await jpeg(scene(96, 64), 20);
    const quantization = estimateQuantization(input);
    const region = { x: 10, y: 6, width: 36, height: 28 }; // padded to 40×32, as a tile is
    const project = jpegProjector({ input, quantization, tightness: 1, region, estimateWidth: 40, estimateHeight: 32, partialBlocks: 'skip' });
    const tile = new Float32Array(3 * 40 * 32);
    for (let c = 0; c < 3; c++) {
      for (let ly = 0; ly < 32; ly++) {
        for (let lx = 0; lx < 40; lx++) {
          const [x, y] = [Math.min(lx, 35) + region.x, Math.min(ly, 27) + region.y];
          tile[c * 1280 + ly * 40 + lx] = input.data[(y * 96 + x) * 4 + c]! / 127.5 - 1;
        }
      }
    }
    const before = Float32Array.from(tile);
    project(tile);
    expect(Math.max(...tile.map((v, i) => Math.abs(v - before[i]!))) * 127.5).toBeLessThan(0.01);
  });

  it('projects only the blocks a tile holds whole, at their image position, in every batch item', async () => {
    const input = await jpeg(scene(96, 64), 10);
    const quantization = estimateQuantization(input);
    // A 36×28 tile at (10, 6), padded to 40×32: it holds the blocks at x 16, 24, 32 and y 8, 16, 24 whole.
    const region = { x: 10, y: 6, width: 36, height: 28 };
    const project = jpegProjector({ input, quantization, tightness: 0, region, estimateWidth: 40, estimateHeight: 32, partialBlocks: 'skip' });
    const batch = new Float32Array(2 * 3 * 40 * 32).fill(0.9); // far from the input: a projected block shows
    project(batch);
    for (let b = 0; b < 2; b++) {
      for (let ly = 0; ly < 32; ly++) {
        for (let lx = 0; lx < 40; lx++) {
          const [x, y] = [lx + region.x, ly + region.y];
          const inWholeBlock = x >= 16 && x < 40 && y >= 8 && y < 32;
          const v = batch[b * 3 * 1280 + ly * 40 + lx]!;
          if (inWholeBlock) expect(Math.abs((v + 1) * 127.5 - input.data[(y * 96 + x) * 4]!)).toBeLessThan(3);
          else expect(v).toBeCloseTo(0.9, 5);
        }
      }
    }
  });

  it('projects the blocks that end exactly at a block-aligned tile\'s right and bottom edges', async () => {
    const input = await jpeg(scene(96, 64), 10);
    const region = { x: 8, y: 16, width: 32, height: 24 }; // blocks x 8…32, y 16…32, all whole
    const project = jpegProjector({
      input, quantization: estimateQuantization(input), tightness: 0, region, estimateWidth: 32, estimateHeight: 24, partialBlocks: 'skip',
    });
    const tile = new Float32Array(3 * 32 * 24).fill(0.9);
    project(tile);
    for (let ly = 0; ly < 24; ly++) {
      for (let lx = 0; lx < 32; lx++) {
        const [x, y] = [lx + region.x, ly + region.y];
        // each coefficient within ½ of the input's (the decoder's rounding): a few levels in a pixel
        expect(Math.abs((tile[ly * 32 + lx]! + 1) * 127.5 - input.data[(y * 96 + x) * 4]!)).toBeLessThan(8);
      }
    }
  });

  it("projects the whole image's edge blocks too ('pad': the blocks a 90×60 image cuts at x 88 and y 56)", async () => {
    const input = await jpeg(scene(90, 60), 10);
    const planes = new Float32Array(3 * 90 * 60).fill(0.9); // far from the input everywhere
    wholeImage(input, estimateQuantization(input), 0)(planes);
    for (const [x, y] of [[89, 10], [10, 59], [89, 59], [88, 56], [0, 0]] as const) {
      for (let c = 0; c < 3; c++) {
        expect(Math.abs((planes[c * 5400 + y * 90 + x]! + 1) * 127.5 - input.data[(y * 90 + x) * 4 + c]!), `${x},${y}`).toBeLessThan(8);
      }
    }
  });
});
