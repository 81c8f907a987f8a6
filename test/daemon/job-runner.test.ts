import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJobRunner, planCalls, variantsPerCall } from '../../daemon/job-runner.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRunner } from '../../daemon/model-runner.ts';
import type { ModelJob } from '../../daemon/tasks/types.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

function fillJob(variants: number): ModelJob {
  const size = 32;
  const cond = new Float32Array(variants * 3 * size * size);
  for (let i = 0; i < cond.length; i++) cond[i] = Math.sin(i % (3 * size * size)) * 0.5;
  const hole = new Float32Array(size * size);
  for (let i = 0; i < hole.length; i++) hole[i] = i % size > 10 && i % size < 20 ? 1 : 0;
  return { cond, height: size, width: size, hole, label: 'test', region: { canvas: { x: 0, y: 0, width: size, height: size } } };
}

describe('createJobRunner', () => {
  let model: ModelRunner;
  beforeAll(async () => {
    model = await ModelRunner.open(FIXTURE, { intraOpThreads: 1 });
  });
  afterAll(async () => model.close());

  const settings = (seeds: number[], maxBatch = 8) => ({ sampler: 'ddim' as const, steps: 4, eta: 0, seeds, maxBatch });
  const run = (seeds: number[], maxBatch = 8) =>
    createJobRunner(model, settings(seeds, maxBatch), { previewIntervalMs: 0 }, new AbortController().signal)(fillJob(seeds.length));

  it('is bit-exact for the same seeds, and a variant does not depend on its batch mates', async () => {
    const a = await run([5, 6, 7]);
    const b = await run([5, 6, 7]);
    expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
    const alone = await run([6], 1);
    const maxDiff = alone[0]!.reduce((m, v, i) => Math.max(m, Math.abs(v - (a[1]![i] ?? 0))), 0);
    expect(maxDiff).toBeLessThan(1e-4); // batching changes kernels, not the noise
    expect(Array.from(a[0]!)).not.toEqual(Array.from(a[1]!));
  });

  it('keeps the known pixels of x exactly and splits variants into sub-batches', async () => {
    const seeds = [1, 2, 3];
    const job = fillJob(3);
    let calls = 0;
    const progress: string[] = [];
    const out = await createJobRunner(model, settings(seeds, 2), {
      previewIntervalMs: 0,
      onProgress: (p) => {
        calls++;
        progress.push(p.label);
      },
    }, new AbortController().signal)(job);
    expect(calls).toBe(8); // 4 steps × 2 sub-batches
    expect(progress[0]).toContain('variants 1–2 of 3');
    for (let v = 0; v < 3; v++) {
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < 32 * 32; p++) {
          if ((job.hole![p] ?? 0) === 0) expect(out[v]![c * 1024 + p]).toBe(job.cond[(v * 3 + c) * 1024 + p]);
        }
      }
    }
  });

  it('fills the hole of x with seeded N(0,1) noise, different per variant, and keeps x elsewhere', async () => {
    const denoise = vi.spyOn(model, 'denoise');
    const job = fillJob(2);
    let conds: Float32Array[];
    try {
      await createJobRunner(model, settings([5, 6]), { previewIntervalMs: 0 }, new AbortController().signal)(job);
      conds = denoise.mock.calls.map(([input]) => input.cond.data);
    } finally {
      denoise.mockRestore();
    }
    expect(conds).toHaveLength(4);
    for (const c of conds) expect(c).toBe(conds[0]); // the same x at every step
    const cond = conds[0]!;
    const plane = 32 * 32;
    const hole: number[][] = [[], []];
    for (let v = 0; v < 2; v++) {
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < plane; p++) {
          const i = (v * 3 + c) * plane + p;
          if ((job.hole![p] ?? 0) > 0) hole[v]!.push(cond[i]!);
          else expect(cond[i]).toBe(job.cond[i]);
        }
      }
    }
    for (const values of hole) {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      expect(values.length).toBe(3 * 9 * 32);
      expect(Math.abs(mean)).toBeLessThan(0.12);
      expect(Math.abs(variance - 1)).toBeLessThan(0.15);
    }
    expect(hole[0]).not.toEqual(hole[1]);
  });

  it('sends previews at most every previewIntervalMs, and always the last step', async () => {
    const steps: number[] = [];
    await createJobRunner(model, { ...settings([1]), steps: 6 }, {
      previewIntervalMs: 60_000, onPreview: (p) => steps.push(p.step),
    }, new AbortController().signal)(fillJob(1));
    expect(steps).toEqual([1, 6]);
    const every: number[] = [];
    await createJobRunner(model, { ...settings([1]), steps: 6 }, {
      previewIntervalMs: 1e-9, onPreview: (p) => every.push(p.step),
    }, new AbortController().signal)(fillJob(1));
    expect(every).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('counts progress over the whole request: sub-batches and parts go on from each other (§5.5)', async () => {
    const seen: Array<[number, number, string]> = [];
    const previews: number[] = [];
    const run = createJobRunner(model, settings([1, 2, 3], 2), {
      previewIntervalMs: 1e-9,
      onProgress: (p) => seen.push([p.step, p.total, p.label]),
      onPreview: (p) => previews.push(p.step),
    }, new AbortController().signal);
    // Two tiles of one request, each split into two sub-batches of 4 steps: 16 steps in all.
    await run({ ...fillJob(3), label: 'tile 1/2', part: { index: 0, count: 2 } });
    await run({ ...fillJob(3), label: 'tile 2/2', part: { index: 1, count: 2 } });
    expect(seen.map(([step]) => step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(seen.every(([, total]) => total === 16)).toBe(true);
    expect(seen[8]![2]).toContain('tile 2/2');
    expect(previews).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('estimates the time left from the request so far, reaching 0 at the last step', async () => {
    const etas: number[] = [];
    await createJobRunner(model, settings([1, 2], 1), { previewIntervalMs: 0, onProgress: (p) => etas.push(p.etaMs) },
      new AbortController().signal)(fillJob(2));
    expect(etas).toHaveLength(8);
    expect(etas.every((e) => Number.isFinite(e) && e >= 0)).toBe(true);
    expect(etas.at(-1)).toBe(0);
    expect(etas[3]).toBeGreaterThan(0); // the end of the first sub-batch is not the end of the request
  });

  it('samples ⌈strength·steps⌉ levels for a job that carries its pixels, all of them for one that does not', async () => {
    const seeds = [4, 5];
    const calls = async (job: ModelJob, strength?: number) => {
      let steps = 0;
      await createJobRunner(model, { ...settings(seeds), steps: 10, ...(strength ? { strength } : {}) }, {
        previewIntervalMs: 0, onProgress: () => steps++,
      }, new AbortController().signal)(job);
      return steps;
    };
    const restoreJob = (): ModelJob => {
      const job = fillJob(2);
      delete job.hole;
      return { ...job, start: job.cond };
    };
    expect(await calls(restoreJob(), 0.3)).toBe(3);
    expect(await calls(restoreJob())).toBe(10);
    expect(await calls(fillJob(2), 0.3)).toBe(10); // no start: strength does not apply
    // Low strength stays near the start; the projection given with the job is applied to the result.
    const job = restoreJob();
    const near = await createJobRunner(model, { ...settings(seeds), steps: 10, strength: 0.1 }, { previewIntervalMs: 0 },
      new AbortController().signal)(job);
    const meanDiff = near[0]!.reduce((sum, v, i) => sum + Math.abs(v - job.cond[i]!), 0) / near[0]!.length;
    expect(meanDiff).toBeLessThan(0.1);
    const projected = await createJobRunner(model, settings(seeds), { previewIntervalMs: 0 }, new AbortController().signal)(
      { ...fillJob(2), project: (x0) => x0.fill(0.25) });
    expect(projected.every((v) => v.every((x) => x === 0.25))).toBe(true);
  });

  it('runs a grouped job (restore tiles) in shared calls; each item has the pixels its tile gets alone', async () => {
    const seeds = [5, 6];
    const tileJob = (shift: number): ModelJob => {
      const job = fillJob(2);
      delete job.hole;
      return { ...job, cond: job.cond.map((v) => v * 0.5 + shift) };
    };
    const a = tileJob(0.1);
    const b = tileJob(-0.2);
    const grouped: ModelJob = {
      ...a, cond: Float32Array.from([...a.cond, ...b.cond]), label: 'tiles',
      groups: [a.region, { canvas: { x: 32, y: 0, width: 32, height: 32 } }],
    };
    let calls = 0;
    const runner = createJobRunner(model, settings(seeds), { previewIntervalMs: 0, onProgress: () => calls++ }, new AbortController().signal);
    const together = await runner(grouped);
    expect(calls).toBe(4); // 4 items in one call per step
    expect(together).toHaveLength(4);
    const alone = [...await runner(a), ...await runner(b)];
    for (let i = 0; i < 4; i++) {
      const diff = together[i]!.reduce((m, v, k) => Math.max(m, Math.abs(v - alone[i]![k]!)), 0);
      expect(diff).toBeLessThan(1e-4);
    }
    expect(Array.from(together[0]!)).not.toEqual(Array.from(together[2]!)); // other tile, same seed
    expect(runner.variantsPerCall(32, 32)).toBe(8);
  });

  it('planCalls keeps whole groups in a call when they fit, else splits each group', () => {
    expect(planCalls(6, 1, 8)).toEqual([{ first: 0, n: 6 }]);
    expect(planCalls(5, 3, 8)).toEqual([{ first: 0, n: 6 }, { first: 6, n: 6 }, { first: 12, n: 3 }]);
    expect(planCalls(2, 5, 2)).toEqual([
      { first: 0, n: 2 }, { first: 2, n: 2 }, { first: 4, n: 1 }, { first: 5, n: 2 }, { first: 7, n: 2 }, { first: 9, n: 1 },
    ]);
  });

  it('bounds the batch by pixels as well as by count', () => {
    const s = { sampler: 'ddim' as const, steps: 1, eta: 0, seeds: [1], maxBatch: 8, maxBatchPixels: 4 * 256 * 256 };
    expect(variantsPerCall(s, 64, 64)).toBe(8);
    expect(variantsPerCall(s, 256, 256)).toBe(4);
    expect(variantsPerCall(s, 1024, 1024)).toBe(1);
  });
});
