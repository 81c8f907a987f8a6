import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { generate, PREVIEW_BUDGET, PreviewEncoder } from '../../daemon/generate.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { ModelScheduler } from '../../daemon/model-scheduler.ts';
import type { JobPreview } from '../../daemon/job-runner.ts';

const preview = (step: number): JobPreview => ({
  step, startsRun: step === 1, x0: new Float32Array(3 * 8 * 8).fill(0.25), firstVariant: 0, variants: 1, height: 8, width: 8,
});

describe('PreviewEncoder', () => {
  afterEach(() => vi.restoreAllMocks());

  it('skips a preview offered while the previous one is still being encoded', async () => {
    let clock = 1000; // frozen: the time budget never applies here
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const delivered: number[] = [];
    const encoder = new PreviewEncoder(64, 'jpeg', 1, (p) => delivered.push(p.step));
    encoder.offer(preview(1));
    encoder.offer(preview(2)); // the first is in flight
    await encoder.flush();
    clock += 1000;
    encoder.offer(preview(3));
    await encoder.flush();
    expect(delivered).toEqual([1, 3]);
  });

  it(`skips previews while they have taken more than ${PREVIEW_BUDGET * 100} % of the time, except step 1`, async () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const delivered: number[] = [];
    // Every encode "takes" 100 ms of the (mocked) clock.
    const encoder = new PreviewEncoder(64, 'jpeg', 1, (p) => {
      delivered.push(p.step);
      clock += 100;
    });
    encoder.offer(preview(1));
    await encoder.flush(); // spent 100 ms of 100 ms
    clock += 900; // 100 of 1000 ms: over 5 %
    encoder.offer(preview(2));
    await encoder.flush();
    encoder.offer(preview(1)); // a new sub-batch's first step always shows
    await encoder.flush(); // spent 200 ms
    clock = 1000 + 200 / PREVIEW_BUDGET + 1000; // back under budget
    encoder.offer(preview(3));
    await encoder.flush();
    expect(delivered).toEqual([1, 1, 3]);
  });

  it('delivers the latest image of every variant seen so far', async () => {
    const counts: number[] = [];
    const encoder = new PreviewEncoder(64, 'webp', 3, (p) => counts.push(p.images.length));
    encoder.offer({ ...preview(1), x0: new Float32Array(2 * 3 * 64), variants: 2 });
    await encoder.flush();
    encoder.offer({ ...preview(1), firstVariant: 2 });
    await encoder.flush();
    expect(counts).toEqual([2, 3]);
  });
});

describe('generate over a whole request', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [join(REPO_ROOT, 'test', 'fixtures', 'tiny-model')], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  it('counts progress over every tile (restore of a 64×48 image in 32² tiles), its calls going through the scheduler', async () => {
    const width = 64;
    const height = 48;
    const data = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256));
    const progress: Array<{ step: number; total: number; label: string }> = [];
    const scheduler = new ModelScheduler();
    await generate(
      { task: 'restore', image: { format: 'rgba8', width, height, data }, variants: 1, steps: 2, sampler: 'ddim', seeds: [3], preview: { intervalMs: 0 } },
      registry,
      { onProgress: (p) => progress.push(p) },
      new AbortController().signal,
      { maxBatch: 8, viaScheduler: scheduler.forJob({ clientId: 'c', jobId: 'j' }) },
    );
    const tiles = new Set(progress.map((p) => p.label)).size;
    expect(tiles).toBeGreaterThan(1);
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: 2 * tiles }, (_, i) => i + 1));
    expect(progress.every((p) => p.total === 2 * tiles)).toBe(true);
    expect(scheduler.stats.calls).toBe(2 * tiles);
  });
});
