import { describe, expect, it } from 'vitest';
import { createMask, createRgba } from '../../../daemon/pixels.ts';
import { createNormalStream } from '../../../daemon/sampling/random.ts';
import { boxMean as boxMeanInto } from '../../../daemon/tasks/chroma-refine.ts';
import { gaussianBlur, GRAIN_GAIN, matchGrain } from '../../../daemon/tasks/grain.ts';
import type { MaskImage, RgbaImage } from '../../../daemon/tasks/types.ts';

/** chroma-refine.ts's box mean (what grain.ts averages with), returning its output. */
function boxMean(src: Float32Array, width: number, height: number, r: number): Float32Array {
  const out = new Float32Array(src.length);
  boxMeanInto(src, width, height, r, new Float32Array(src.length), out);
  return out;
}

const W = 64;
const H = 48;

/** The right half (x ≥ 32) generated. */
function rightHalf(): MaskImage {
  const m = createMask(W, H);
  for (let y = 0; y < H; y++) m.data.fill(255, y * W + 32, y * W + W);
  return m;
}

/** Grey 128 with seeded pixel noise of standard deviation `sd` (grain) on the pixels `where` says. */
function grainy(sd: number, where: (x: number, y: number) => boolean, seed = 1): RgbaImage {
  const img = createRgba(W, H);
  const noise = createNormalStream(seed);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = where(x, y) ? Math.round(128 + sd * noise()) : 128;
      img.data.set([v, v, v, 255], (y * W + x) * 4);
    }
  }
  return img;
}

/** Mean squared finest band (the red plane minus its Gaussian blur of σ 0.6 px, the band matched) over a column range. */
function fineEnergy(img: RgbaImage, x0: number, x1: number, y0 = 0, y1 = H): number {
  const plane = new Float32Array(W * H);
  for (let i = 0; i < plane.length; i++) plane[i] = img.data[i * 4] ?? 0;
  const blurred = gaussianBlur(plane, W, H, 0.6);
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      sum += ((plane[y * W + x] ?? 0) - (blurred[y * W + x] ?? 0)) ** 2;
      n++;
    }
  }
  return sum / n;
}

function copy(img: RgbaImage): RgbaImage {
  return { ...img, data: img.data.slice() };
}

describe('gaussianBlur and boxMean', () => {
  it('keep a constant plane and its mean, and smooth an impulse symmetrically', () => {
    const flat = new Float32Array(20 * 10).fill(7);
    for (const v of gaussianBlur(flat, 20, 10, 1.5)) expect(v).toBeCloseTo(7, 5);
    for (const v of boxMean(flat, 20, 10, 3)) expect(v).toBeCloseTo(7, 5);
    const impulse = new Float32Array(21 * 21);
    impulse[10 * 21 + 10] = 1;
    for (const out of [gaussianBlur(impulse, 21, 21, 1), boxMean(impulse, 21, 21, 2)]) {
      expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(out[10 * 21 + 9]).toBeCloseTo(out[10 * 21 + 11] ?? NaN, 6);
      expect(out[9 * 21 + 10]).toBeCloseTo(out[11 * 21 + 10] ?? NaN, 6);
      expect(out[10 * 21 + 10]).toBeGreaterThan(out[10 * 21 + 13] ?? Infinity);
    }
    const gauss = gaussianBlur(impulse, 21, 21, 1);
    expect(gauss[10 * 21 + 11]).toBeCloseTo(Math.exp(-0.5) * (gauss[10 * 21 + 10] ?? NaN), 3);
    // The box of half-width 2 is flat over 5×5 and 0 beyond.
    const box = boxMean(impulse, 21, 21, 2);
    expect(box[8 * 21 + 8]).toBeCloseTo(1 / 25, 6);
    expect(box[7 * 21 + 10]).toBe(0);
  });
});

describe('matchGrain', () => {
  it('gives smooth generated pixels the grain of the photo around them, and leaves the known pixels alone', () => {
    const original = grainy(6, () => true);
    const result = grainy(6, (x) => x < 32); // the generated half came out smooth
    const before = copy(result);
    matchGrain(result, original, rightHalf(), { seed: 3 });
    const known = fineEnergy(original, 0, 32);
    const generated = fineEnergy(result, 32, W);
    expect(fineEnergy(before, 34, W)).toBe(0);
    // The band energy added is gain² × the known pixels' (the generated half had none).
    expect(generated / known).toBeGreaterThan(0.75 * GRAIN_GAIN ** 2);
    expect(generated / known).toBeLessThan(1.25 * GRAIN_GAIN ** 2);
    for (let i = 0; i < W * H; i++) {
      if (i % W < 32) expect(result.data.subarray(i * 4, i * 4 + 4)).toEqual(before.data.subarray(i * 4, i * 4 + 4));
    }
    // Grain is luminance: R, G and B move together, and the mean level stays.
    let sum = 0;
    for (let i = 0; i < W * H; i++) {
      expect(result.data[i * 4 + 1]).toBe(result.data[i * 4]);
      expect(result.data[i * 4 + 2]).toBe(result.data[i * 4]);
      if (i % W >= 32) sum += result.data[i * 4] ?? 0;
    }
    expect(sum / (32 * H)).toBeCloseTo(128, 0);
  });

  it('adds nothing where the generated pixels already have the grain, or the photo has none', () => {
    const original = grainy(6, () => true);
    const result = grainy(6, () => true, 2);
    const before = copy(result);
    matchGrain(result, original, rightHalf(), { seed: 3 });
    // A deficit can appear only where the two draws happen to differ locally; most pixels stay as they were.
    let changed = 0;
    for (let i = 0; i < W * H; i++) if (result.data[i * 4] !== before.data[i * 4]) changed++;
    expect(changed).toBeLessThan(0.5 * 32 * H);
    const smooth = grainy(0, () => true);
    const smoothResult = grainy(0, () => true);
    matchGrain(smoothResult, smooth, rightHalf(), { seed: 3 });
    expect(smoothResult.data).toEqual(smooth.data);
  });

  it('follows the local grain: a smooth sky next to smooth pixels stays smooth beside a grainy field', () => {
    // Top half of the photo smooth (sky), bottom half grainy (field); the right half is generated smooth.
    const original = grainy(8, (_, y) => y >= 24);
    const result = grainy(8, (x, y) => x < 32 && y >= 24);
    matchGrain(result, original, rightHalf(), { seed: 5, radius: 3 });
    // Near the seam (within the averaging window) each side takes its own neighbours' grain.
    const sky = fineEnergy(result, 32, 38, 0, 16);
    const field = fineEnergy(result, 32, 38, 32, H);
    expect(field).toBeGreaterThan(0.5 * GRAIN_GAIN ** 2 * fineEnergy(original, 0, 32, 32, H));
    expect(field).toBeGreaterThan(20 * Math.max(sky, 0.05));
  });

  it('is reproducible by seed and differs between seeds', () => {
    const original = grainy(6, () => true);
    const a = grainy(6, (x) => x < 32);
    const b = copy(a);
    const c = copy(a);
    matchGrain(a, original, rightHalf(), { seed: 9 });
    matchGrain(b, original, rightHalf(), { seed: 9 });
    matchGrain(c, original, rightHalf(), { seed: 10 });
    expect(b.data).toEqual(a.data);
    expect(c.data).not.toEqual(a.data);
  });

  it('does nothing when nothing, or everything, is generated', () => {
    const original = grainy(6, () => true);
    const result = grainy(0, () => true);
    const before = copy(result);
    matchGrain(result, original, createMask(W, H), { seed: 1 });
    expect(result.data).toEqual(before.data);
    const all = createMask(W, H);
    all.data.fill(255);
    matchGrain(result, original, all, { seed: 1 });
    expect(result.data).toEqual(before.data);
  });

  it('gives generated pixels far from any known pixel the photo’s mean grain', () => {
    const original = grainy(6, () => true);
    const result = grainy(6, (x) => x < 4);
    const generated = createMask(W, H);
    for (let y = 0; y < H; y++) generated.data.fill(255, y * W + 4, y * W + W);
    matchGrain(result, original, generated, { seed: 4, radius: 2 });
    const farEnergy = fineEnergy(result, 40, W);
    const knownEnergy = fineEnergy(original, 0, W);
    expect(farEnergy / knownEnergy).toBeGreaterThan(0.7 * GRAIN_GAIN ** 2);
    expect(farEnergy / knownEnergy).toBeLessThan(1.3 * GRAIN_GAIN ** 2);
  });
});
