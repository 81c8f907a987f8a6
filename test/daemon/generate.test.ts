import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { generate, PREVIEW_BUDGET, PreviewEncoder, previewSize, restoreStrengthFor, strengthFor, workingSizeFor } from '../../daemon/generate.ts';
import { estimateQuantization } from '../../daemon/tasks/jpeg-consistency.ts';
import { jpeg, scene } from './tasks/jpeg-images.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { ModelScheduler } from '../../daemon/model-scheduler.ts';
import type { JobPreview } from '../../daemon/job-runner.ts';
import type { CanvasRegion, GenerateRequest } from '../../shared/protocol.ts';

const preview = (step: number): JobPreview => ({
  step, startsRun: step === 1, x0: new Float32Array(3 * 8 * 8).fill(0.25), firstVariant: 0, variants: 1, height: 8, width: 8,
  region: { x: 0, y: 0, width: 8, height: 8 }, inJob: { x: 0, y: 0, width: 8, height: 8 },
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

  it("waits with a run's first step offered during an encode and shows it next (only the latest such waits)", async () => {
    let clock = 1000; // frozen: the time budget never applies here
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const delivered: Array<{ step: number; x: number }> = [];
    const encoder = new PreviewEncoder(64, 'jpeg', 1, (p) => delivered.push({ step: p.step, x: p.region.x }));
    const at = (x: number, step: number): JobPreview => ({ ...preview(step), startsRun: true, region: { x, y: 0, width: 8, height: 8 } });
    encoder.offer(at(0, 1));
    encoder.offer(preview(2)); // mid-run, the first is in flight: skipped
    encoder.offer(at(8, 3)); // the next tile's first step: waits …
    encoder.offer(at(16, 4)); // … replaced by a later one
    await encoder.flush();
    expect(delivered).toEqual([{ step: 1, x: 0 }, { step: 4, x: 16 }]);
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

  it('drops the previous region\'s images when the job moves on, and sends variants 0 … k−1 only', async () => {
    const delivered: Array<{ region: CanvasRegion; count: number }> = [];
    const encoder = new PreviewEncoder(64, 'jpeg', 3, (p) => delivered.push({ region: p.region, count: p.images.length }));
    const a = { x: 0, y: 0, width: 8, height: 8 };
    const b = { x: 8, y: 0, width: 8, height: 8 };
    encoder.offer({ ...preview(1), x0: new Float32Array(3 * 3 * 64), variants: 3, region: a });
    await encoder.flush();
    encoder.offer({ ...preview(1), firstVariant: 2, region: b }); // variants 0 and 1 have no image at b yet
    await encoder.flush();
    encoder.offer({ ...preview(1), x0: new Float32Array(2 * 3 * 64), variants: 2, region: b });
    await encoder.flush();
    expect(delivered).toEqual([{ region: a, count: 3 }, { region: b, count: 3 }]);
  });
});

describe('workingSizeFor', () => {
  it("takes the request's, else the manifest's for the task, else the native resolution", () => {
    const manifest = { native_resolution: 64, working_sizes: { jpeg: 128 } } as unknown as Parameters<typeof workingSizeFor>[1];
    const image = { format: 'rgba8' as const, width: 1, height: 1, data: new Uint8Array(4) };
    expect(workingSizeFor({ task: 'restore', image, variants: 1 }, manifest)).toBe(128);
    expect(workingSizeFor({ task: 'restore', image, variants: 1, workingSize: 96 }, manifest)).toBe(96);
    expect(workingSizeFor({ task: 'colorize', image, variants: 1 }, manifest)).toBe(64);
  });
});

describe('previewSize', () => {
  it('has the region\'s aspect ratio, its longest side the smaller of maxSize and the model\'s pixels', () => {
    const job = { x: 0, y: 0, width: 64, height: 64 };
    expect(previewSize({ x: 5, y: 7, width: 1000, height: 500 }, job, 256)).toEqual({ width: 64, height: 32 });
    expect(previewSize({ x: 0, y: 0, width: 1000, height: 500 }, { x: 0, y: 0, width: 512, height: 256 }, 256)).toEqual({ width: 256, height: 128 });
    expect(previewSize({ x: 0, y: 0, width: 3000, height: 2 }, job, 256)).toEqual({ width: 64, height: 1 });
  });
});

/** The previews of a small request run in-process on the tiny model, every step (intervalMs 1). */
async function previewsOf(registry: ModelRegistry, request: GenerateRequest) {
  const previews: Array<{ step: number; region: CanvasRegion; images: Array<{ width: number; height: number }> }> = [];
  let canvas = { width: 0, height: 0 };
  await generate({ ...request, steps: 3, sampler: 'ddim', preview: { intervalMs: 1, maxSize: 256, format: 'jpeg' } }, registry,
    { onPreview: (p) => previews.push(p), onResult: (r) => (canvas = r.canvas) }, new AbortController().signal, { maxBatch: 8 });
  expect(previews.length).toBeGreaterThan(0);
  for (const p of previews) {
    const { region } = p;
    expect(region.x >= 0 && region.y >= 0 && region.x + region.width <= canvas.width && region.y + region.height <= canvas.height, JSON.stringify(region)).toBe(true);
    for (const image of p.images) expect(image.width / image.height).toBeCloseTo(region.width / region.height, 1);
  }
  return { previews, canvas };
}

function rgba(width: number, height: number) {
  return { format: 'rgba8' as const, width, height, data: new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256)) };
}

describe('generate over a whole request', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [join(REPO_ROOT, 'test', 'fixtures', 'tiny-model')], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  it('counts progress over every call of the request: restore of a 64×48 image in six 32² tiles, batched by the runner', async () => {
    const width = 64;
    const height = 48;
    const data = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256));
    for (const [variants, calls] of [[1, 1], [3, 3]] as const) { // 8 items a call: 6 tiles × 1, or 2 tiles × 3 variants
      const progress: Array<{ step: number; total: number; label: string }> = [];
      const scheduler = new ModelScheduler();
      await generate(
        { task: 'restore', image: { format: 'rgba8', width, height, data }, variants, steps: 2, strength: 1, sampler: 'ddim', preview: { intervalMs: 0 } },
        registry,
        { onProgress: (p) => progress.push(p) },
        new AbortController().signal,
        { maxBatch: 8, viaScheduler: scheduler.forJob({ clientId: 'c', jobId: 'j' }) },
      );
      expect(progress.map((p) => p.step)).toEqual(Array.from({ length: 2 * calls }, (_, i) => i + 1));
      expect(progress.every((p) => p.total === 2 * calls)).toBe(true); // planned exactly from the start
      expect(scheduler.stats.calls).toBe(2 * calls);
      expect(progress[0]!.label).toBe(variants === 1 ? 'tiles 1–6 of 6' : 'tiles 1–2 of 6');
    }
  });

  it("runs the request's workingSize (one 64² tile instead of six 32² ones) and its strength (⌈s·steps⌉ calls)", async () => {
    const calls = async (extra: Partial<GenerateRequest>) => {
      const scheduler = new ModelScheduler();
      const labels = new Set<string>();
      await generate({ task: 'restore', image: rgba(64, 48), variants: 1, steps: 4, sampler: 'ddim', seeds: [3], preview: { intervalMs: 0 }, ...extra },
        registry, { onProgress: (p) => labels.add(p.label) }, new AbortController().signal,
        { maxBatch: 8, viaScheduler: scheduler.forJob({ clientId: 'c', jobId: 'j' }) });
      return { calls: scheduler.stats.calls, labels: [...labels] };
    };
    expect(await calls({ strength: 1 })).toEqual({ calls: 4, labels: ['tiles 1–6 of 6'] }); // the tiny model's native 32 px
    expect(await calls({ strength: 1, workingSize: 64 })).toEqual({ calls: 4, labels: ['tile 1/1'] });
    expect(await calls({ workingSize: 64, strength: 0.5 })).toEqual({ calls: 2, labels: ['tile 1/1'] });
    expect(await calls({ workingSize: 64 })).toEqual({ calls: 2, labels: ['tile 1/1'] }); // restore's default 0.3: ⌈1.2⌉
  });

  it('strength for the other tasks: extend starts from its mirror at 0.5 by default, fill and colorize from noise', async () => {
    const calls = async (request: Partial<GenerateRequest>) => {
      const scheduler = new ModelScheduler();
      await generate({ image: rgba(32, 32), variants: 1, steps: 4, sampler: 'ddim', seeds: [3], preview: { intervalMs: 0 }, ...request } as GenerateRequest,
        registry, {}, new AbortController().signal, { maxBatch: 8, viaScheduler: scheduler.forJob({ clientId: 'c', jobId: 'j' }) });
      return scheduler.stats.calls;
    };
    const extend = { task: 'uncrop', extend: { right: { unit: 'px', value: 16 } } } as const;
    expect(await calls(extend)).toBe(2); // one pass, ⌈0.5·4⌉ calls
    expect(await calls({ ...extend, strength: 1 })).toBe(4);
    expect(await calls({ ...extend, strength: 0.25 })).toBe(1);
    expect(await calls({ task: 'colorize' })).toBe(4);
    expect(await calls({ task: 'colorize', strength: 0.5 })).toBe(2);
    expect(strengthFor({ task: 'fill' } as GenerateRequest)).toBe(1);
    expect(strengthFor({ task: 'uncrop', strength: 0.9 } as GenerateRequest)).toBe(0.9);
    expect(strengthFor({ task: 'fill', strength: 0.4 } as GenerateRequest)).toBe(0.4);
  });

  it("restore's default follows the JPEG's estimated quality: 0.3 up to q10 (and without a JPEG grid), 0.15 from q20", async () => {
    for (const [quality, strength] of [[undefined, 0.3], [5, 0.3], [10, 0.3], [15, 0.225], [20, 0.15], [75, 0.15]] as const) {
      expect(restoreStrengthFor(quality)).toBeCloseTo(strength, 9);
    }
    const photo = scene(96, 64);
    const restore = { task: 'restore' } as GenerateRequest;
    expect(strengthFor(restore, estimateQuantization(await jpeg(photo, 5)))).toBe(0.3);
    expect(strengthFor(restore, estimateQuantization(await jpeg(photo, 20)))).toBe(0.15);
    expect(strengthFor(restore, estimateQuantization(await jpeg(photo, 90)))).toBe(0.15);
    expect(strengthFor(restore, estimateQuantization(photo))).toBe(0.3); // no JPEG grid: the quality-75 table's room, the usual strength
    expect(strengthFor({ ...restore, strength: 1 }, estimateQuantization(await jpeg(photo, 20)))).toBe(1); // a request's own wins
  });

  it('previews show the region being generated, placed on the canvas: restore\'s tiles, uncrop\'s windows, fill\'s crop, colorize\'s image', async () => {
    const restore = await previewsOf(registry, { task: 'restore', image: rgba(64, 48), variants: 2, seeds: [1, 2] });
    const tiles = new Set(restore.previews.map((p) => JSON.stringify(p.region)));
    expect(tiles.size).toBeGreaterThan(1); // one region per tile, each the tile (32² here), never the whole layer
    for (const p of restore.previews) expect(p.region).toMatchObject({ width: 32, height: 32 });
    expect(restore.previews.every((p) => p.images.length === 2)).toBe(true);

    const uncrop = await previewsOf(registry, { task: 'uncrop', image: rgba(32, 32), extend: { right: { unit: 'px', value: 16 } }, variants: 1, seeds: [1] });
    expect(uncrop.canvas).toEqual({ width: 48, height: 32 });
    for (const p of uncrop.previews) expect(p.region.x + p.region.width).toBe(48); // the window reaches the new edge

    const mask = new Uint8Array(96 * 96);
    for (let y = 40; y < 50; y++) mask.fill(255, y * 96 + 40, y * 96 + 50);
    const fill = await previewsOf(registry, { task: 'fill', image: rgba(96, 96), mask: { format: 'gray8', width: 96, height: 96, data: mask }, variants: 1, seeds: [1] });
    for (const p of fill.previews) {
      expect(p.region.x <= 40 && p.region.y <= 40 && p.region.x + p.region.width >= 50 && p.region.y + p.region.height >= 50).toBe(true);
      expect(p.region.width).toBeLessThan(96); // the context crop, not the image
    }

    const colorize = await previewsOf(registry, { task: 'colorize', image: rgba(80, 40), variants: 1, seeds: [1] });
    for (const p of colorize.previews) {
      expect(p.region).toEqual({ x: 0, y: 0, width: 80, height: 40 });
      expect(p.images[0]!.width).toBe(2 * p.images[0]!.height);
    }
  });
});

describe('a cancelled request keeps its finished variants', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [join(REPO_ROOT, 'test', 'fixtures', 'tiny-model')], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  const mask = () => {
    const data = new Uint8Array(32 * 32);
    for (let y = 8; y < 20; y++) data.fill(255, y * 32 + 8, y * 32 + 20);
    return { format: 'gray8' as const, width: 32, height: 32, data };
  };
  const fill = (variants: number): GenerateRequest => ({
    task: 'fill', image: rgba(32, 32), mask: mask(), variants, seeds: [11, 12, 13, 14].slice(0, variants), steps: 3, sampler: 'ddim', preview: { intervalMs: 0 },
  });

  /** Runs `request` one variant per call, cancelling once `cancelAtStep` steps are done. */
  async function cancelled(request: GenerateRequest, cancelAtStep: number) {
    const abort = new AbortController();
    const results: Array<{ variant: number; seed: number; data: Uint8Array }> = [];
    const outcome = generate(request, registry, {
      onProgress: (p) => { if (p.step === cancelAtStep) abort.abort(); },
      onResult: (r) => results.push({ variant: r.variant, seed: r.seed, data: r.layer.image.data }),
    }, abort.signal, { maxBatch: 1 });
    await expect(outcome).rejects.toThrow();
    return results;
  }

  it('fill in sub-batches of one: cancelled in the third, the first two are sent, the same pixels as a full run', async () => {
    const results = await cancelled(fill(4), 7); // steps 1–3: variant 0, 4–6: variant 1, 7: the third's first
    expect(results.map((r) => [r.variant, r.seed])).toEqual([[0, 11], [1, 12]]);
    const full: Uint8Array[] = [];
    await generate(fill(4), registry, { onResult: (r) => full.push(r.layer.image.data) }, new AbortController().signal, { maxBatch: 1 });
    expect(results.map((r) => Buffer.from(r.data).equals(Buffer.from(full[r.variant]!)))).toEqual([true, true]);
  });

  it('cancelled in the first sub-batch, or in a tiled restore, sends nothing', async () => {
    expect(await cancelled(fill(3), 2)).toEqual([]);
    const restore: GenerateRequest = { task: 'restore', image: rgba(64, 48), variants: 2, seeds: [1, 2], steps: 2, strength: 1, sampler: 'ddim', preview: { intervalMs: 0 } };
    expect(await cancelled(restore, 3)).toEqual([]); // six tiles: no variant is whole before the end
  });
});
