import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scheduleFor } from '../../../daemon/sampling/samplers.ts';
import {
  GAMMA_CAP,
  gammaRangeOfTraining,
  paperInferenceGammas,
  releaseGammasForStrengths,
  respacedGammas,
  trainingGammas,
  type GammaRange,
} from '../../../daemon/sampling/schedules.ts';

/** The schedules written by test/daemon/sampling/reference_samplers.py (numpy). */
interface GoldenSchedules {
  training_gammas_at: Record<string, number>;
  training_gamma_range: [number, number];
  respaced: { gamma_min: number; gamma_max: number; steps: number; gammas: number[] }[];
  paper_clipped: { gamma_range: [number, number]; gammas: number[] }[];
  paper_kept_count: Record<string, number>;
}
const golden = (
  JSON.parse(readFileSync(new URL('../../fixtures/sampler-golden.json', import.meta.url), 'utf8')) as {
    schedules: GoldenSchedules;
  }
).schedules;

function expectClose(actual: Float64Array, expected: number[], rel = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    expect(Math.abs(actual[i]! - e), `index ${i}`).toBeLessThanOrEqual(rel * Math.abs(e));
  }
}

function expectAscendingInside(gammas: Float64Array, [lo, hi]: GammaRange): void {
  for (let i = 0; i < gammas.length; i++) {
    expect(gammas[i]).toBeGreaterThanOrEqual(lo);
    expect(gammas[i]).toBeLessThanOrEqual(hi);
    expect(gammas[i]).toBeLessThan(1);
    if (i > 0) expect(gammas[i]).toBeGreaterThan(gammas[i - 1]!);
  }
}

const TRAINING = gammaRangeOfTraining();

describe('training schedule', () => {
  it('mirrors TrainingSchedule: γ_0 = 1 … γ_2000 ≈ 4.39e-5, bit for bit', () => {
    const g = trainingGammas();
    expect(g.length).toBe(2001);
    for (const [t, value] of Object.entries(golden.training_gammas_at)) expect(g[Number(t)]).toBe(value);
    expect(TRAINING).toEqual(golden.training_gamma_range);
    expect(TRAINING[0]).toBeCloseTo(4.386e-5, 8);
    expect(TRAINING[1]).toBe(1);
  });
});

describe('respacedGammas', () => {
  it('equals Python respaced_gammas', () => {
    for (const r of golden.respaced) expectClose(respacedGammas(r.gamma_min, r.gamma_max, r.steps), r.gammas);
  });

  it('is ascending, inside the range, from γ_min to min(γ_max, 1 − 1e-6), evenly spaced in λ', () => {
    const lambda = (g: number): number => Math.log(g / (1 - g));
    for (const [range, steps] of [[TRAINING, 20], [[1e-3, 0.999], 7], [[0.2, 0.3], 3]] as const) {
      const g = respacedGammas(range[0], range[1], steps);
      expect(g.length).toBe(steps);
      expectAscendingInside(g, range);
      expect(g[0]! / range[0]).toBeCloseTo(1, 12);
      expect(g[steps - 1]! / Math.min(range[1], GAMMA_CAP)).toBeCloseTo(1, 12);
      const d0 = lambda(g[1]!) - lambda(g[0]!);
      for (let i = 1; i < steps; i++) expect(lambda(g[i]!) - lambda(g[i - 1]!)).toBeCloseTo(d0, 8);
    }
  });

  it('rejects bad ranges and step counts', () => {
    expect(() => respacedGammas(0, 1, 10)).toThrow(/gamma range/);
    expect(() => respacedGammas(0.5, 0.4, 10)).toThrow(/gamma range/);
    expect(() => respacedGammas(1e-4, 1.5, 10)).toThrow(/gamma range/);
    expect(() => respacedGammas(0.5, 0.5, 10)).toThrow(/gamma range/); // γ_min = γ_max: no range
    expect(() => respacedGammas(Number.NaN, 1, 10)).toThrow(/gamma range/);
    expect(() => respacedGammas(1e-4, Number.NaN, 10)).toThrow(/gamma range/);
    expect(() => respacedGammas(1e-4, Number.POSITIVE_INFINITY, 10)).toThrow(/gamma range/);
    expect(() => respacedGammas(1e-4, 1, 0)).toThrow(/steps/);
    expect(() => respacedGammas(1e-4, 1, 2.5)).toThrow(/steps/);
  });
});

describe('paperInferenceGammas (clipped to the trained range)', () => {
  it('equals the numpy reference', () => {
    for (const p of golden.paper_clipped) expectClose(paperInferenceGammas(p.gamma_range), p.gammas);
  });

  it('drops about half of the 1000 levels: 532 with the training range, 533 with γ_min = 4.5e-5', () => {
    expect(paperInferenceGammas(TRAINING).length).toBe(468);
    expect(paperInferenceGammas([4.5e-5, 1]).length).toBe(467);
    expect(golden.paper_kept_count).toEqual({ '4.5e-05': 467, training: 468 });
  });

  it('keeps exactly the levels ≥ γ_min, in order from t = 1000 to t = 1', () => {
    const full = paperInferenceGammas([1e-300, 1]); // nothing dropped: all 1000 levels
    expect(full.length).toBe(1000);
    expect(full[0]).toBeLessThan(1e-20); // γ_1000 ≈ 6.6e-21
    expect(full[999]).toBeCloseTo(1 - 1e-4, 15); // γ_1 = 1 − β_1
    const kept = paperInferenceGammas(TRAINING);
    const dropped = full.length - kept.length;
    expect(full[dropped - 1]).toBeLessThan(TRAINING[0]);
    expect(Array.from(kept)).toEqual(Array.from(full.subarray(dropped)));
    expectAscendingInside(kept, TRAINING);
  });

  it('clamps levels above γ_max to γ_max, merged into one level', () => {
    const g = paperInferenceGammas([1e-3, 0.5]);
    expectAscendingInside(g, [1e-3, 0.5]);
    expect(g[g.length - 1]).toBe(0.5);
    expect(g[g.length - 2]).toBeLessThan(0.5);
  });

  it('keeps a level exactly at γ_min', () => {
    const full = paperInferenceGammas([1e-300, 1]);
    const kept = paperInferenceGammas([full[10]!, 1]);
    expect(kept[0]).toBe(full[10]);
    expect(kept.length).toBe(full.length - 10);
  });

  it('rejects a range above every level', () => {
    expect(() => paperInferenceGammas([0.99995, 1])).toThrow(/no level/);
  });
});

describe('scheduleFor', () => {
  it('ancestral with 1000 steps is the clipped paper schedule; everything else is respaced', () => {
    expect(Array.from(scheduleFor('ancestral', 1000, TRAINING))).toEqual(Array.from(paperInferenceGammas(TRAINING)));
    for (const name of ['ancestral', 'ddim', 'dpmpp-2m'] as const) {
      for (const steps of [1, 2, 25, 250]) {
        const g = scheduleFor(name, steps, TRAINING);
        expect(Array.from(g)).toEqual(Array.from(respacedGammas(TRAINING[0], TRAINING[1], steps)));
        expectAscendingInside(g, TRAINING);
      }
    }
    expect(scheduleFor('ddim', 1000, TRAINING).length).toBe(1000);
  });

  it('stays inside a narrower range', () => {
    for (const name of ['ancestral', 'ddim', 'dpmpp-2m'] as const) {
      for (const steps of [3, 1000]) expectAscendingInside(scheduleFor(name, steps, [2e-3, 0.9]), [2e-3, 0.9]);
    }
  });
});

describe('respacedGammas with one step', () => {
  it('is γ_min alone (numpy.linspace with num = 1 gives its start)', () => {
    const one = respacedGammas(1e-3, 0.5, 1);
    expect(one.length).toBe(1);
    expect(one[0]! / 1e-3 - 1).toBeLessThan(1e-12); // γ → λ → γ: a few ulps
  });
});

describe('releaseGammasForStrengths (soft masks)', () => {
  const gammas = Float64Array.from([0.1, 0.2, 0.4, 0.8]);
  it('releases strength s where scheduleForStrength would start, strength 1 (and above) at the noisiest level', () => {
    expect(Array.from(releaseGammasForStrengths(gammas, Float32Array.from([1, 1.5, 0.5, 0.51, 0.25, 0.01])))).toEqual([0.1, 0.1, 0.4, 0.2, 0.8, 0.8]);
  });
  it('never releases strength 0 or below (+∞): the pixel keeps its value', () => {
    expect(Array.from(releaseGammasForStrengths(gammas, Float32Array.from([0, -0.5])))).toEqual([Infinity, Infinity]);
  });
});
