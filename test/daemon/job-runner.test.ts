import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, variantsPerCall } from '../../daemon/job-runner.ts';
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
  return { cond, height: size, width: size, hole, label: 'test' };
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

  it('bounds the batch by pixels as well as by count', () => {
    const s = { sampler: 'ddim' as const, steps: 1, eta: 0, seeds: [1], maxBatch: 8, maxBatchPixels: 4 * 256 * 256 };
    expect(variantsPerCall(s, 64, 64)).toBe(8);
    expect(variantsPerCall(s, 256, 256)).toBe(4);
    expect(variantsPerCall(s, 1024, 1024)).toBe(1);
  });
});
