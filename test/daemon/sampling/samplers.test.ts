import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { noiseSourceForSeeds } from '../../../daemon/sampling/random.ts';
import { SAMPLERS, SAMPLER_NAMES, isSamplerName, scheduleFor } from '../../../daemon/sampling/samplers.ts';
import { gammaRangeOfTraining, scheduleForStrength, type GammaRange } from '../../../daemon/sampling/schedules.ts';
import type { BatchShape, Denoise, KnownPixels, NoiseSource, SamplerName, StepInfo } from '../../../daemon/sampling/types.ts';

// ------------------------------------------------------------------------------------------ the fixture

interface GoldenCase {
  name: string;
  sampler: SamplerName;
  eta: number | null;
  shape: BatchShape;
  gammas: number[] | 'paper_clipped[0]';
  cond: string;
  known: { mask: string; values: string } | null;
  model_calls: number;
  noise_calls: number;
  x0_at_step: Record<string, string>;
  result: string;
}
interface Golden {
  noise_bank: string;
  schedules: { paper_clipped: { gammas: number[] }[] };
  cases: GoldenCase[];
}
const golden = JSON.parse(
  readFileSync(new URL('../../fixtures/sampler-golden.json', import.meta.url), 'utf8'),
) as Golden;

/** base64 of little-endian float32 → Float32Array. */
function f32(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(4 * i);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// ------------------------------------------------------------------------------------------ test doubles

/**
 * The analytic test denoiser, identical to `test_denoiser` in reference_samplers.py:
 *   y_w = y[..., (w+1) mod W],  y_c = y[(c+1) mod 3, ...]
 *   T = tanh(1.5·x + 0.8·√γ·(y + 0.3·y_w − 0.2·y_c));   ε̂ = (y − √γ·T)/√(1−γ) + 0.3·√γ·sin(2·y_w + x)
 */
function testDenoiser(x: Float32Array, shape: BatchShape): Denoise {
  const { batch, height: H, width: W } = shape;
  const plane = H * W;
  return async (y, gamma) => {
    const eps = new Float32Array(y.length);
    const sg = Math.sqrt(gamma);
    const sn = Math.sqrt(1 - gamma);
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < 3; c++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            const i = (b * 3 + c) * plane + h * W + w;
            const yi = y[i]!;
            const yW = y[(b * 3 + c) * plane + h * W + ((w + 1) % W)]!;
            const yC = y[(b * 3 + ((c + 1) % 3)) * plane + h * W + w]!;
            const xi = x[i]!;
            const t = Math.tanh(1.5 * xi + 0.8 * sg * (yi + 0.3 * yW - 0.2 * yC));
            eps[i] = (yi - sg * t) / sn + 0.3 * sg * Math.sin(2 * yW + xi);
          }
        }
      }
    }
    return eps;
  };
}

/** Noise read in order from a fixed bank; counts its calls. */
function bankNoise(bank: Float32Array): { noise: NoiseSource; calls: () => number } {
  let used = 0;
  let calls = 0;
  const noise: NoiseSource = (out) => {
    if (used + out.length > bank.length) throw new Error('noise bank exhausted');
    out.set(bank.subarray(used, used + out.length));
    used += out.length;
    calls++;
  };
  return { noise, calls: () => calls };
}

function counted(denoise: Denoise): { denoise: Denoise; gammas: number[] } {
  const gammas: number[] = [];
  return {
    gammas,
    denoise: (y, g) => {
      gammas.push(g);
      return denoise(y, g);
    },
  };
}

const TRAINING = gammaRangeOfTraining();
const SHAPE: BatchShape = { batch: 2, height: 4, width: 6 };
const SIZE = 2 * 3 * 4 * 6;

function filled(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}
const COND = filled(SIZE, (i) => Math.sin(1.7 * i));
/** Known block: the top two rows, clean values inside [-1, 1]. */
const KNOWN: KnownPixels = {
  mask: filled(4 * 6, (p) => (p < 12 ? 1 : 0)),
  values: filled(SIZE, (i) => 0.9 * Math.cos(0.37 * i)),
};
const ETA: Record<SamplerName, number | undefined> = { ancestral: undefined, ddim: 0.7, 'dpmpp-2m': undefined };

// ------------------------------------------------------------------------------------------ tests

describe('golden values from the numpy reference (test/daemon/sampling/reference_samplers.py)', () => {
  const bank = f32(golden.noise_bank);
  for (const c of golden.cases) {
    it(c.name, async () => {
      const gammaList = c.gammas === 'paper_clipped[0]' ? golden.schedules.paper_clipped[0]!.gammas : c.gammas;
      const gammas = Float64Array.from(gammaList);
      const { noise, calls: noiseCalls } = bankNoise(bank);
      const model = counted(testDenoiser(f32(c.cond), c.shape));
      const seen = new Map<number, Float32Array>();
      const result = await SAMPLERS[c.sampler]({
        denoise: model.denoise,
        shape: c.shape,
        gammas,
        noise,
        ...(c.known ? { known: { mask: f32(c.known.mask), values: f32(c.known.values) } } : {}),
        ...(c.eta !== null ? { eta: c.eta } : {}),
        onStep: ({ step, x0 }) => {
          if (String(step) in c.x0_at_step) seen.set(step, x0.slice());
        },
      });
      expect(model.gammas.length).toBe(c.model_calls);
      expect(noiseCalls()).toBe(c.noise_calls);
      expect(maxAbsDiff(result, f32(c.result))).toBeLessThanOrEqual(1e-5);
      for (const [step, b64] of Object.entries(c.x0_at_step)) {
        const x0 = seen.get(Number(step));
        expect(x0, `step ${step}`).toBeDefined();
        expect(maxAbsDiff(x0!, f32(b64)), `step ${step}`).toBeLessThanOrEqual(1e-5);
      }
    });
  }
});

describe.each(SAMPLER_NAMES)('%s', (name) => {
  const sample = SAMPLERS[name];

  it('calls the model exactly once per level, reports every step, returns ŷ₀ in [-1, 1]', async () => {
    for (const steps of [1, 2, 3, 7]) {
      const model = counted(testDenoiser(COND, SHAPE));
      const gammas = scheduleFor(name, steps, TRAINING);
      const infos: Omit<StepInfo, 'x0'>[] = [];
      const result = await sample({
        denoise: model.denoise,
        shape: SHAPE,
        gammas,
        noise: noiseSourceForSeeds([1, 2], SHAPE),
        eta: ETA[name],
        onStep: ({ step, total }) => infos.push({ step, total }),
      });
      expect(model.gammas).toEqual(Array.from(gammas));
      expect(infos).toEqual(Array.from({ length: steps }, (_, i) => ({ step: i + 1, total: steps })));
      expect(result.length).toBe(SIZE);
      for (const v of result) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    }
  });

  it('passes only levels inside the trained range to the model', async () => {
    const ranges: GammaRange[] = [TRAINING, [2e-3, 0.95]];
    for (const range of ranges) {
      for (const steps of name === 'ancestral' ? [10, 1000] : [10, 50]) {
        const model = counted(testDenoiser(COND, SHAPE));
        await sample({
          denoise: model.denoise,
          shape: SHAPE,
          gammas: scheduleFor(name, steps, range),
          noise: noiseSourceForSeeds([3, 4], SHAPE),
          eta: ETA[name],
        });
        for (const g of model.gammas) {
          expect(g).toBeGreaterThanOrEqual(range[0]);
          expect(g).toBeLessThanOrEqual(range[1]);
          expect(g).toBeLessThan(1);
        }
        for (let i = 1; i < model.gammas.length; i++) expect(model.gammas[i]).toBeGreaterThan(model.gammas[i - 1]!);
      }
    }
  });

  it('keeps known pixels exactly at their clean values, in every step and in the result', async () => {
    let checkedSteps = 0;
    const expectKnown = (x: Float32Array): void => {
      for (let i = 0; i < SIZE; i++) if (KNOWN.mask[i % 24] === 1) expect(x[i]).toBe(KNOWN.values[i]);
    };
    // The model must also see clean known pixels in y_t, as in training.
    const model = testDenoiser(COND, SHAPE);
    const result = await sample({
      denoise: async (y, g) => {
        expectKnown(y);
        return model(y, g);
      },
      shape: SHAPE,
      gammas: scheduleFor(name, 8, TRAINING),
      noise: noiseSourceForSeeds([5, 6], SHAPE),
      known: KNOWN,
      eta: ETA[name],
      onStep: ({ x0 }) => {
        expectKnown(x0);
        checkedSteps++;
      },
    });
    expectKnown(result);
    expect(checkedSteps).toBe(8);
    // ... and the generated pixels are not simply copied: some differ from the known values.
    expect(result.some((v, i) => KNOWN.mask[i % 24] === 0 && v !== KNOWN.values[i])).toBe(true);
  });

  it('stops within one step after an abort from onStep', async () => {
    const controller = new AbortController();
    const model = counted(testDenoiser(COND, SHAPE));
    const run = sample({
      denoise: model.denoise,
      shape: SHAPE,
      gammas: scheduleFor(name, 10, TRAINING),
      noise: noiseSourceForSeeds([1, 2], SHAPE),
      eta: ETA[name],
      signal: controller.signal,
      onStep: ({ step }) => {
        if (step === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(model.gammas.length).toBe(3);
  });

  it('stops within one step after an abort during a model call, and never starts when already aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    let callsAfterAbort = 0;
    const model = testDenoiser(COND, SHAPE);
    const run = sample({
      denoise: async (y, g) => {
        calls++;
        if (controller.signal.aborted) callsAfterAbort++;
        if (calls === 4) controller.abort(); // while this call is in flight
        await new Promise((resolve) => setTimeout(resolve, 1));
        return model(y, g);
      },
      shape: SHAPE,
      gammas: scheduleFor(name, 10, TRAINING),
      noise: noiseSourceForSeeds([1, 2], SHAPE),
      eta: ETA[name],
      signal: controller.signal,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(4);
    expect(callsAfterAbort).toBe(0);

    const aborted = new AbortController();
    aborted.abort();
    const never = counted(model);
    await expect(
      sample({ denoise: never.denoise, shape: SHAPE, gammas: scheduleFor(name, 5, TRAINING), noise: () => {}, signal: aborted.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(never.gammas.length).toBe(0);
  });

  it("gives a variant the same pixels whichever variants share its batch (seeded per variant)", async () => {
    const one: BatchShape = { batch: 1, height: 4, width: 6 };
    const gammas = scheduleFor(name, 6, TRAINING);
    const pair = await sample({ denoise: testDenoiser(COND, SHAPE), shape: SHAPE, gammas, noise: noiseSourceForSeeds([77, 88], SHAPE), eta: ETA[name] });
    const alone = await sample({ denoise: testDenoiser(COND.slice(SIZE / 2), one), shape: one, gammas, noise: noiseSourceForSeeds([88], one), eta: ETA[name] });
    expect(pair.subarray(SIZE / 2)).toEqual(alone);
  });

  it('rejects malformed input', async () => {
    const base = { denoise: testDenoiser(COND, SHAPE), shape: SHAPE, noise: noiseSourceForSeeds([1, 2], SHAPE) };
    await expect(sample({ ...base, gammas: Float64Array.of(0.5, 0.1) })).rejects.toThrow(/ascending/);
    await expect(sample({ ...base, gammas: Float64Array.of(0.1, 1) })).rejects.toThrow(/\(0, 1\)/);
    await expect(sample({ ...base, gammas: new Float64Array(0) })).rejects.toThrow(/at least one/);
    await expect(sample({ ...base, gammas: Float64Array.of(0.5), known: { mask: new Float32Array(3), values: KNOWN.values } })).rejects.toThrow(/mask/);
    await expect(sample({ ...base, gammas: Float64Array.of(0.5), eta: 1.5 })).rejects.toThrow(/η/);
    await expect(sample({ ...base, gammas: Float64Array.of(0.5), denoise: async () => new Float32Array(5) })).rejects.toThrow(/denoise returned/);
  });
});

/**
 * Data y₀ ~ N(μ, s²) per pixel: then E[ε | y_t] = √(1−γ)·(y_t − √γ·μ)/(γ·s² + 1 − γ) exactly, and a
 * correct sampler with enough steps returns samples with mean μ and standard deviation s.
 */
function exactGaussianDenoiser(mu: number, s: number): Denoise {
  return async (y, g) => {
    const eps = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) eps[i] = (Math.sqrt(1 - g) * (y[i]! - Math.sqrt(g) * mu)) / (g * s * s + 1 - g);
    return eps;
  };
}

describe('sampling a known distribution with its exact denoiser', () => {
  const mu = 0.2;
  const s = 0.3;
  const batch = 2000;
  const shape: BatchShape = { batch, height: 1, width: 1 };
  const exact = exactGaussianDenoiser(mu, s);
  const cases: [SamplerName, number, number | undefined][] = [
    ['ancestral', 1000, undefined], // the paper's schedule, clipped: 468 levels
    ['ddim', 200, 0],
    ['ddim', 200, 1],
    ['dpmpp-2m', 30, undefined],
  ];
  it.each(cases)('%s, %i steps, η = %s', async (name, steps, eta) => {
    const seeds = Array.from({ length: batch }, (_, i) => 1000 + i);
    const out = await SAMPLERS[name]({
      denoise: exact,
      shape,
      gammas: scheduleFor(name, steps, TRAINING),
      noise: noiseSourceForSeeds(seeds, shape),
      eta,
    });
    let sum = 0;
    let sumSq = 0;
    for (const v of out) {
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / out.length;
    const std = Math.sqrt(sumSq / out.length - mean * mean);
    // 6000 values: standard errors ≈ 0.004 (mean) and 0.003 (std)
    expect(Math.abs(mean - mu)).toBeLessThan(0.015);
    expect(Math.abs(std - s)).toBeLessThan(0.015);
  });
});

describe('consistency projection and strength (a start), with the exact denoiser of N(μ, s²)', () => {
  const mu = 0.2;
  const batch = 500;
  const shape: BatchShape = { batch, height: 1, width: 1 };
  const exact = exactGaussianDenoiser(mu, 0.3);
  const seeds = Array.from({ length: batch }, (_, i) => 7000 + i);
  const mean = (v: Float32Array): number => v.reduce((a, b) => a + b, 0) / v.length;

  it.each(SAMPLER_NAMES)('%s: every estimate and the result lie in the projected set, and it steers the samples', async (name) => {
    const [lo, hi] = [Math.fround(0.45), 0.5]; // (float32 values) far in the tail of N(0.2, 0.3²): only the projection puts samples there
    let stepsInSet = 0;
    const out = await SAMPLERS[name]({
      denoise: exact, shape, gammas: scheduleFor(name, 20, TRAINING), noise: noiseSourceForSeeds(seeds, shape), eta: ETA[name],
      project: (x0) => {
        for (let i = 0; i < x0.length; i++) x0[i] = Math.min(hi, Math.max(lo, x0[i]!));
      },
      onStep: ({ x0 }) => {
        if (x0.every((v) => v >= lo && v <= hi)) stepsInSet++;
      },
    });
    expect(stepsInSet).toBe(20);
    expect(out.every((v) => v >= lo && v <= hi)).toBe(true);
    // Not only the last estimate clamped: the trajectory followed the set, so most samples lie inside it
    // rather than piled on its lower edge (where clamping an unprojected run's samples would put them).
    expect(out.filter((v) => v > lo + 1e-3).length).toBeGreaterThan(batch / 2);
  });

  it.each(SAMPLER_NAMES)('%s: a projection that changes nothing gives the unprojected samples; one that moves the estimate moves the next step\'s input', async (name) => {
    // The x0-form update the samplers use with a projection must be the same step as their ε-form one
    // when the projection is the identity, except where ŷ₀ was clipped to [−1, 1]: the ancestral ε-form
    // mean uses the raw ε̂, as the paper does, the x0 form the clipped ŷ₀. The coarse 8-level ancestral
    // schedule overshoots on a few samples (5–29 of the 1,500 values clipped at each of its last 4
    // steps, measured), hence its mean gap of 0.003; DDIM and DPM-Solver++ use the clipped ŷ₀ either way…
    const gammas = scheduleFor(name, 8, TRAINING);
    const inputs: Float32Array[][] = [[], [], []];
    const run = (k: number, project?: (x0: Float32Array) => void) => SAMPLERS[name]({
      denoise: async (y, g) => { inputs[k]!.push(y.slice()); return exact(y, g); },
      shape, gammas, noise: noiseSourceForSeeds(seeds, shape), eta: ETA[name], ...(project ? { project } : {}),
    });
    const plain = await run(0);
    const identity = await run(1, () => {});
    let gap = 0;
    for (let i = 0; i < plain.length; i++) gap += Math.abs(identity[i]! - plain[i]!);
    expect(gap / plain.length).toBeLessThan(0.01); // mean |difference| over the 1,500 values (ancestral: 0.003)
    // …and a projection must steer the trajectory itself: the second model call sees a different input
    // (by little: at the noisiest level the estimate's weight in the next step is small).
    await run(2, (x0) => x0.fill(0.45));
    expect(inputs[2]![0]).toEqual(inputs[1]![0]);
    let moved = 0;
    for (let i = 0; i < inputs[1]![1]!.length; i++) moved = Math.max(moved, Math.abs(inputs[2]![1]![i]! - inputs[1]![1]![i]!));
    expect(moved).toBeGreaterThan(1e-3);
  });

  it.each(SAMPLER_NAMES)('%s: a start with the cleanest levels only keeps the start; the full schedule does not', async (name) => {
    const start = new Float32Array(3 * batch).fill(0.9);
    const full = scheduleFor(name, 20, TRAINING);
    const run = (gammas: Float64Array) => SAMPLERS[name]({
      denoise: exact, shape, gammas, noise: noiseSourceForSeeds(seeds, shape), eta: ETA[name], start,
    });
    const light = await run(scheduleForStrength(full, 0.3));
    expect(Math.abs(mean(light) - 0.9)).toBeLessThan(0.05);
    // Strength 1 starts at γ_min, where √γ·start ≈ 0.006: the start is forgotten, N(μ, s²) comes back.
    expect(Math.abs(mean(await run(full)) - mu)).toBeLessThan(0.05);
  });

  it.each(SAMPLER_NAMES)('%s: a soft-mask pixel is held at its clean value until its release level, then sampled like a start of that strength', async (name) => {
    // Three pixels per item: generated from the start, released for the last 6 of 20 levels (strength 0.3),
    // and never released. All start from the clean value 0.9, far in the tail of N(μ, s²).
    const wide: BatchShape = { batch, height: 1, width: 3 };
    const full = scheduleFor(name, 20, TRAINING);
    const values = new Float32Array(3 * 3 * batch).fill(0.9);
    const known: KnownPixels = { values, mask: new Float32Array(3), releaseGamma: Float64Array.of(0, full[14]!, Number.POSITIVE_INFINITY) };
    const seen: { k: number; held1: boolean; held2: boolean }[] = [];
    let k = 0;
    const out = await SAMPLERS[name]({
      denoise: async (y, g) => {
        let held1 = true;
        let held2 = true;
        for (let i = 0; i < y.length; i += 3) {
          held1 &&= y[i + 1] === values[i + 1];
          held2 &&= y[i + 2] === values[i + 2];
        }
        seen.push({ k: k++, held1, held2 });
        return exact(y, g);
      },
      shape: wide, gammas: full, noise: noiseSourceForSeeds(seeds, wide), eta: ETA[name], known,
    });
    // The model sees the held pixel clean at levels 0–13 and noised from level 14 on; the other never.
    expect(seen.map((s) => s.held1)).toEqual(Array.from({ length: 20 }, (_, i) => i < 14));
    expect(seen.every((s) => s.held2)).toBe(true);
    const pixel = (p: number) => out.filter((_, i) => i % 3 === p);
    const std = (v: Float32Array) => Math.sqrt(mean(v.map((x) => x * x)) - mean(v) ** 2);
    expect(Math.abs(mean(pixel(0)) - mu)).toBeLessThan(0.05); // strength 1: the clean value is forgotten
    // Strength 0.3: distributed as a whole run started from 0.9 over the cleaner 6 levels (noised at the
    // release from its own draws, not continued deterministically from the held value).
    const started = await SAMPLERS[name]({
      denoise: exact, shape, gammas: scheduleForStrength(full, 0.3), noise: noiseSourceForSeeds(seeds.map((x) => x + 1), shape),
      eta: ETA[name], start: new Float32Array(3 * batch).fill(0.9),
    });
    expect(std(started)).toBeGreaterThan(0.02);
    expect(Math.abs(mean(pixel(1)) - mean(started))).toBeLessThan(0.02);
    expect(Math.abs(std(pixel(1)) - std(started))).toBeLessThan(0.25 * std(started));
    expect(pixel(2).every((v) => v === values[0])).toBe(true);
  });

  it('refuses a releaseGamma of the wrong length', async () => {
    const known: KnownPixels = { values: new Float32Array(3 * batch), mask: new Float32Array(1), releaseGamma: new Float64Array(2) };
    await expect(SAMPLERS.ddim({ denoise: exact, shape, gammas: Float64Array.of(0.5), noise: noiseSourceForSeeds(seeds, shape), known }))
      .rejects.toThrow(/releaseGamma/);
  });

  it('scheduleForStrength keeps the cleaner ⌈s·n⌉ levels, at least one, and refuses s outside (0, 1]', () => {
    const full = scheduleFor('ddim', 20, TRAINING);
    expect(Array.from(scheduleForStrength(full, 1))).toEqual(Array.from(full));
    expect(Array.from(scheduleForStrength(full, 0.5))).toEqual(Array.from(full.slice(10)));
    expect(scheduleForStrength(full, 0.31)).toHaveLength(7);
    expect(Array.from(scheduleForStrength(full, 1e-6))).toEqual([full[19]]);
    for (const bad of [0, -0.5, 1.5, NaN]) expect(() => scheduleForStrength(full, bad)).toThrow(/strength/);
  });

  it('refuses a start of the wrong length', async () => {
    await expect(SAMPLERS.ddim({ denoise: exact, shape, gammas: Float64Array.of(0.5), noise: noiseSourceForSeeds(seeds, shape), start: new Float32Array(3) }))
      .rejects.toThrow(/start/);
  });
});

describe('relations between the samplers', () => {
  it('DPM-Solver++(2M) with at most 3 levels (first order only) equals deterministic DDIM', async () => {
    for (const steps of [2, 3]) {
      const gammas = scheduleFor('ddim', steps, TRAINING);
      const run = (name: SamplerName): Promise<Float32Array> =>
        SAMPLERS[name]({ denoise: testDenoiser(COND, SHAPE), shape: SHAPE, gammas, noise: noiseSourceForSeeds([5, 9], SHAPE), eta: 0 });
      expect(maxAbsDiff(await run('dpmpp-2m'), await run('ddim'))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('DDIM with η = 0 draws noise only once; the ancestral sampler once per level', async () => {
    for (const [name, eta, expected] of [['ddim', 0, 1], ['ddim', 0.5, 6], ['dpmpp-2m', undefined, 1], ['ancestral', undefined, 6]] as const) {
      let draws = 0;
      const source = noiseSourceForSeeds([1, 2], SHAPE);
      await SAMPLERS[name]({
        denoise: testDenoiser(COND, SHAPE),
        shape: SHAPE,
        gammas: scheduleFor(name, 6, TRAINING),
        noise: (out) => {
          draws++;
          source(out);
        },
        eta,
      });
      expect(draws, `${name} η=${eta}`).toBe(expected);
    }
  });

  it('names', () => {
    expect(Object.keys(SAMPLERS).sort()).toEqual([...SAMPLER_NAMES].sort());
    expect(isSamplerName('ddim')).toBe(true);
    expect(isSamplerName('euler')).toBe(false);
  });
});

describe('sampler input checks', () => {
  const shape: BatchShape = { batch: 1, height: 2, width: 2 };
  const size = 3 * 4;
  const base = () => ({
    denoise: (async () => new Float32Array(size)) as Denoise,
    shape,
    gammas: Float64Array.from([0.1, 0.5, 0.9]),
    noise: ((out: Float32Array) => out.fill(0.5)) as NoiseSource,
  });
  const refuses = async (patch: object, message: RegExp) => {
    for (const name of SAMPLER_NAMES) {
      await expect(SAMPLERS[name]({ ...base(), ...patch }), name).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
  };

  it('refuses a shape that is not positive integers', async () => {
    for (const bad of [{ ...shape, batch: 0 }, { ...shape, height: 1.5 }, { ...shape, width: -2 }]) await refuses({ shape: bad }, /must be positive integers/);
  });

  it('refuses γ outside (0, 1) and η outside [0, 1]', async () => {
    await refuses({ gammas: Float64Array.from([0, 0.5]) }, /γ must lie in \(0, 1\)/);
    await refuses({ gammas: Float64Array.from([0.5, 1]) }, /γ must lie in \(0, 1\)/);
    await refuses({ eta: 1.5 }, /η must lie in \[0, 1\]/);
    await refuses({ eta: -0.1 }, /η must lie in \[0, 1\]/);
    await expect(SAMPLERS.ddim({ ...base(), eta: 1 })).resolves.toHaveLength(size);
  });

  it('refuses two equal levels: the schedule must be strictly ascending', async () => {
    await refuses({ gammas: Float64Array.from([0.1, 0.5, 0.5]) }, /strictly ascending/);
  });

  it('pastes a fractional mask value m as m·v + (1 − m)·ŷ₀, in the estimate and in the result', async () => {
    // One level, ε̂ = 0: ŷ₀ = clip(y/√γ) with y = m·v + (1 − m)·z after the start's paste (z = 0.5 here).
    const gamma = 0.64;
    const values = new Float32Array(size).fill(-0.2);
    const mask = Float32Array.from([0, 0.25, 0.5, 1]);
    for (const name of SAMPLER_NAMES) {
      const seenInput: number[] = [];
      const out = await SAMPLERS[name]({
        ...base(), gammas: Float64Array.of(gamma), known: { values, mask },
        denoise: async (y) => { seenInput.push(...y.slice(0, 4)); return new Float32Array(size); },
      });
      for (let p = 0; p < 4; p++) {
        const m = mask[p]!;
        const y = m * -0.2 + (1 - m) * 0.5;
        expect(seenInput[p], `${name} input ${p}`).toBeCloseTo(y, 6);
        expect(out[p], `${name} result ${p}`).toBeCloseTo(m * -0.2 + (1 - m) * Math.min(1, y / Math.sqrt(gamma)), 6);
      }
    }
  });

  it('never releases a pixel of mask 1 (always held), whatever its releaseGamma', async () => {
    const gammas = Float64Array.from([0.1, 0.5, 0.9]);
    const values = new Float32Array(size).fill(0.3);
    const known = { values, mask: Float32Array.from([1, 1, 1, 1]), releaseGamma: Float64Array.from([0.4, 0.5, 0.6, 0.9]) };
    for (const name of SAMPLER_NAMES) {
      const inputs: Float32Array[] = [];
      await SAMPLERS[name]({ ...base(), gammas, known, denoise: async (y) => { inputs.push(y.slice()); return new Float32Array(size); } });
      for (const y of inputs) expect(Array.from(y), name).toEqual(Array.from(values));
    }
  });

  it('draws noise for a release only at a level where a pixel is released', async () => {
    // Pixel 0 is released at level 1 (γ 0.5); no pixel at level 2: one draw for the start, one for the release
    // (DDIM η = 0 and DPM-Solver++ draw nothing else; the ancestral sampler one more per update).
    const gammas = Float64Array.from([0.1, 0.5, 0.9]);
    const known = { values: new Float32Array(size), mask: new Float32Array(4), releaseGamma: Float64Array.from([0.5, 0, 0, 0]) };
    const expected: Record<string, number> = { ddim: 2, 'dpmpp-2m': 2, ancestral: 4 };
    for (const name of SAMPLER_NAMES) {
      let draws = 0;
      await SAMPLERS[name]({ ...base(), gammas, known, eta: 0, noise: (out) => { draws++; out.fill(0.5); } });
      expect(draws, name).toBe(expected[name]);
    }
  });

  it('refuses known values of the wrong length', async () => {
    await refuses({ known: { values: new Float32Array(size - 1), mask: new Float32Array(4) } }, /known.values has 11 values, expected 12/);
  });

});
