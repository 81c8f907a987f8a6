import { describe, expect, it } from 'vitest';
import {
  createNormalStream,
  createUint32Stream,
  createUniformStream,
  noiseSourceForSeeds,
  xoshiro128StarStar,
} from '../../../daemon/sampling/random.ts';

function take(next: () => number, n: number): number[] {
  return Array.from({ length: n }, () => next());
}

describe('uint32 streams', () => {
  it('xoshiro128** matches the reference algorithm from state (1, 2, 3, 4)', () => {
    // Computed with an independent Python transcription of Blackman & Vigna's C reference.
    expect(take(xoshiro128StarStar(1, 2, 3, 4), 6)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeding is pinned (the same values on every platform and Node version)', () => {
    // From the same Python transcription of splitmix32 seeding + xoshiro128**.
    expect(take(createUint32Stream(0), 4)).toEqual([2325024533, 3992445393, 3192077917, 240130623]);
    expect(take(createUint32Stream(42), 4)).toEqual([651061437, 3239508746, 3996796939, 202086954]);
    expect(take(createUint32Stream(2 ** 32 + 42), 4)).toEqual([763209537, 783914658, 299911143, 1091872707]);
    expect(take(createUint32Stream(2 ** 53 - 1), 4)).toEqual([3457536471, 175118103, 2335894118, 1627424791]);
  });

  it('rejects seeds that are not integers in [0, 2^53 − 1]', () => {
    for (const seed of [-1, 0.5, Number.NaN, 2 ** 53]) expect(() => createUint32Stream(seed)).toThrow(/seed/);
    expect(() => xoshiro128StarStar(0, 0, 0, 0)).toThrow(/non-zero/);
  });

  it('uniforms lie in [0, 1)', () => {
    const u = createUniformStream(3);
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = u();
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
  });
});

describe('uniforms from the uint32 stream', () => {
  it('take 53 bits: the top 27 of one word above the top 26 of the next', () => {
    // Seed 0's words are pinned above: 2325024533, 3992445393, 3192077917, 240130623.
    const u = createUniformStream(0);
    expect(u()).toBe(((2325024533 >>> 5) * 2 ** 26 + (3992445393 >>> 6)) / 2 ** 53);
    expect(u()).toBe(((3192077917 >>> 5) * 2 ** 26 + (240130623 >>> 6)) / 2 ** 53);
  });
});

describe('normal streams', () => {
  it('use both values of each Box–Muller pair: r·cos θ, then r·sin θ of the same two uniforms', () => {
    const u = createUniformStream(11);
    const z = createNormalStream(11);
    for (let pair = 0; pair < 3; pair++) {
      const r = Math.sqrt(-2 * Math.log(1 - u()));
      const theta = 2 * Math.PI * u();
      expect(z()).toBe(r * Math.cos(theta));
      expect(z()).toBe(r * Math.sin(theta));
    }
  });

  it('the same seed gives the same stream; different seeds differ', () => {
    const a = take(createNormalStream(1234), 1000);
    expect(take(createNormalStream(1234), 1000)).toEqual(a);
    for (const other of [1235, 0, 1234 + 2 ** 32]) {
      const b = take(createNormalStream(other), 1000);
      expect(b.filter((v, i) => v === a[i]).length).toBe(0);
    }
  });

  it('fill gives the same values as next, across calls and offsets (float32-rounded)', () => {
    const ref = take(createNormalStream(9), 25);
    const s = createNormalStream(9);
    const buf = new Float32Array(30);
    s.fill(buf, 0, 7); // an odd count: the spare Box–Muller value carries over
    s.fill(buf, 7, 25);
    expect(Array.from(buf.subarray(0, 25))).toEqual(ref.map((v) => Math.fround(v)));
    expect(Array.from(buf.subarray(25))).toEqual([0, 0, 0, 0, 0]);
  });

  it('has mean ≈ 0, std ≈ 1 and normal tails over 100k draws', () => {
    const n = 100_000;
    const s = createNormalStream(20221110);
    let sum = 0;
    let sumSq = 0;
    let inside196 = 0;
    for (let i = 0; i < n; i++) {
      const v = s();
      sum += v;
      sumSq += v * v;
      if (Math.abs(v) < 1.959964) inside196++;
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSq / n - mean * mean);
    // standard errors: mean 1/√n ≈ 0.0032, std 1/√(2n) ≈ 0.0022, fraction √(.95·.05/n) ≈ 0.0007
    expect(Math.abs(mean)).toBeLessThan(0.012);
    expect(Math.abs(std - 1)).toBeLessThan(0.009);
    expect(Math.abs(inside196 / n - 0.95)).toBeLessThan(0.003);
  });
});

describe('noiseSourceForSeeds', () => {
  const shape = { batch: 3, height: 2, width: 5 };
  const per = 3 * 2 * 5;

  it("draws item b from seed b's own stream, call after call", () => {
    const source = noiseSourceForSeeds([5, 6, 7], shape);
    const refs = [5, 6, 7].map((seed) => take(createNormalStream(seed), 2 * per).map((v) => Math.fround(v)));
    const first = new Float32Array(3 * per);
    const second = new Float32Array(3 * per);
    source(first);
    source(second);
    for (let b = 0; b < 3; b++) {
      expect(Array.from(first.subarray(b * per, (b + 1) * per))).toEqual(refs[b]!.slice(0, per));
      expect(Array.from(second.subarray(b * per, (b + 1) * per))).toEqual(refs[b]!.slice(per));
    }
  });

  it("a variant's noise does not depend on which other variants share the batch, nor on their order", () => {
    const together = noiseSourceForSeeds([11, 22, 33], shape);
    const alone = noiseSourceForSeeds([22], { ...shape, batch: 1 });
    const reordered = noiseSourceForSeeds([33, 11, 22], shape);
    const a = new Float32Array(3 * per);
    const b = new Float32Array(per);
    const c = new Float32Array(3 * per);
    for (let call = 0; call < 4; call++) {
      together(a);
      alone(b);
      reordered(c);
      expect(a.subarray(per, 2 * per)).toEqual(b);
      expect(c.subarray(2 * per, 3 * per)).toEqual(b);
      expect(c.subarray(per, 2 * per)).toEqual(a.subarray(0, per));
    }
  });

  it('checks the seed count and the buffer size', () => {
    expect(() => noiseSourceForSeeds([1, 2], shape)).toThrow(/2 seeds for a batch of 3/);
    const source = noiseSourceForSeeds([1, 2, 3], shape);
    expect(() => source(new Float32Array(3 * per - 1))).toThrow(/noise buffer/);
  });
});
