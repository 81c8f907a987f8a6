import { describe, expect, it } from 'vitest';
import { planRestoreTiles, runRestore } from '../../../daemon/tasks/restore.ts';
import type { ModelGeometry, ModelJob, RunModelJob } from '../../../daemon/tasks/types.ts';
import { fakeRun, identityModel, type FakeModel } from './fake-run.ts';
import { jpeg, scene } from './jpeg-images.ts';
import { greyImage, patternImage } from './test-images.ts';

const G: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return worst;
}

describe('restore tiling', () => {
  it('plans 21 × 15 tiles of 64 px with ≥ 16 px overlap for 1000×700', () => {
    const plan = planRestoreTiles(1000, 700, G);
    expect(plan.xs).toHaveLength(21);
    expect(plan.ys).toHaveLength(15);
    expect(plan.xs.at(-1)! + 64).toBe(1000);
    expect(plan.ys.at(-1)! + 64).toBe(700);
    for (const starts of [plan.xs, plan.ys]) {
      for (let i = 1; i < starts.length; i++) expect(starts[i - 1]! + 64 - starts[i]!).toBeGreaterThanOrEqual(16);
    }
  });
});

describe('runRestore', () => {
  it('covers every pixel and blends seamlessly: an identity model gives the input back', async () => {
    const image = patternImage(1000, 700);
    image.data[3] = 77; // alpha is kept
    const { run, jobs } = fakeRun(identityModel);
    const out = await runRestore({ image }, G, run, 1);
    expect(jobs).toHaveLength(21 * 15);
    expect(jobs[0]!.label).toBe('tile 1/315');
    expect(jobs.at(-1)!.label).toBe('tile 315/315');
    for (const job of jobs) expect([job.width, job.height, job.hole]).toEqual([64, 64, undefined]);
    const layer = out.layers[0]!;
    expect(layer).toMatchObject({ x: 0, y: 0, width: 1000, height: 700 });
    expect(out.canvas).toEqual({ width: 1000, height: 700 });
    expect(maxDiff(layer.data, image.data)).toBeLessThanOrEqual(1);
  });

  it('gives each variant its own samples, tile by tile', async () => {
    const image = greyImage(150, 100, 100);
    // Variant v comes back 10·v levels brighter: a variant fed another's samples shows it.
    const { run } = fakeRun((cond, v) => cond.map((x) => x + (10 * v) / 127.5));
    // (Without the JPEG consistency, which would hold a grey non-JPEG near its input.)
    const { layers } = await runRestore({ image, options: { consistency: false } }, G, run, 3);
    for (let v = 0; v < 3; v++) {
      let sum = 0;
      for (let p = 0; p < 150 * 100; p++) sum += (layers[v]!.data[p * 4] ?? 0) - (image.data[p * 4] ?? 0);
      expect(sum / (150 * 100)).toBeCloseTo(10 * v, 0);
    }
  });

  it('uses the overlap option: more overlap, more tiles, the same seamless result', async () => {
    const image = patternImage(300, 200);
    const counts: number[] = [];
    for (const overlap of [undefined, 0.5]) {
      const { run, jobs } = fakeRun(identityModel);
      const out = await runRestore({ image, ...(overlap === undefined ? {} : { options: { overlap } }) }, G, run, 1);
      counts.push(jobs.length);
      expect(maxDiff(out.layers[0]!.data, image.data)).toBeLessThanOrEqual(1);
    }
    const plan = (overlap: number) => planRestoreTiles(300, 200, G, overlap);
    expect(counts).toEqual([plan(0.25), plan(0.5)].map((p) => p.xs.length * p.ys.length));
    expect(counts[1]).toBeGreaterThan(counts[0]!);
  });

  it('cross-fades tiles that disagree instead of cutting between them', async () => {
    const image = greyImage(200, 64, 60);
    // Each tile brightens by a different amount: the blend must move smoothly between them.
    let tile = 0;
    const shifting: FakeModel = (cond) => cond.map((v) => v + 0.1 * tile);
    const { run } = fakeRun((cond, v, job) => {
      if (v === 0) tile++;
      return shifting(cond, v, job);
    });
    const { layers } = await runRestore({ image }, G, run, 1);
    const layer = layers[0]!;
    let biggestStep = 0;
    for (let x = 1; x < 200; x++) {
      const d = (layer.data[(32 * 200 + x) * 4] ?? 0) - (image.data[(32 * 200 + x) * 4] ?? 0);
      const dPrev = (layer.data[(32 * 200 + x - 1) * 4] ?? 0) - (image.data[(32 * 200 + x - 1) * 4] ?? 0);
      biggestStep = Math.max(biggestStep, Math.abs(d - dPrev));
    }
    // One tile to the next differs by 12.75 levels; a hard seam would jump by that much.
    expect(biggestStep).toBeLessThanOrEqual(3);
  });

  it('pads a small image to one tile of the size multiple and gives it back unchanged', async () => {
    const image = patternImage(50, 30);
    const { run, jobs } = fakeRun(identityModel);
    const out = await runRestore({ image }, G, run, 2);
    expect(jobs).toHaveLength(1);
    expect([jobs[0]!.width, jobs[0]!.height, jobs[0]!.batch]).toEqual([56, 32, 2]);
    for (const layer of out.layers) expect(maxDiff(layer.data, image.data)).toBe(0);
  });
});

describe('runRestore batches tiles into the calls of the runner', () => {
  it('puts as many tiles in a job as fill a call, blends them as before, and projects each with its own tile', async () => {
    const image = patternImage(300, 150);
    const { run: fake, jobs } = fakeRun(identityModel);
    const parts: Array<ModelJob['part']> = [];
    const batched: RunModelJob = Object.assign((job: ModelJob) => { parts.push(job.part); return fake(job); }, { variantsPerCall: () => 8 });
    const out = await runRestore({ image, options: { consistency: false } }, G, batched, 2);
    const plan = planRestoreTiles(300, 150, G);
    const tiles = plan.xs.length * plan.ys.length;
    expect(tiles % 4).not.toBe(0); // the last job holds fewer tiles
    expect(jobs.map((j) => j.batch)).toEqual([...Array(Math.floor(tiles / 4)).fill(8), ...(tiles % 4 ? [2 * (tiles % 4)] : [])]);
    // Each job's label names its tiles, and its part says how many tiles (progress groups) come after it.
    jobs.forEach((job, j) => {
      const first = 4 * j + 1;
      const last = Math.min(tiles, first + 3);
      expect(job.label).toBe(first === last ? `tile ${first}/${tiles}` : `tiles ${first}–${last} of ${tiles}`);
      expect(parts[j]).toEqual({ index: j, count: jobs.length, groupsAfter: tiles - last });
    });
    for (const layer of out.layers) expect(maxDiff(layer.data, image.data)).toBeLessThanOrEqual(1);
  });

  it.each([1, 2, 3])('projects each item of a batched job with its own tile, %i variant(s) a tile, in one call or in parts (tightness 0: back to the input in whole blocks)', async (variants) => {
    const image = await jpeg(scene(100, 70), 20);
    let checked = 0;
    const run: RunModelJob = Object.assign(async (job: ModelJob) => {
      const plane = job.width * job.height;
      const items = job.cond.length / (3 * plane);
      // Not uniform: a projection that reads its estimate at the wrong place must show.
      const x0 = Float32Array.from({ length: job.cond.length }, (_, i) => 0.5 + 0.3 * Math.sin(i * 0.37));
      // A sampler may project its batch in parts (sub-batches of the runner): the first part ends inside
      // a tile's variants whenever there are several, so the second starts mid-tile.
      const cut = Math.min(items, 1 + Math.floor(items / 2)) * 3 * plane;
      job.project?.(x0.subarray(0, cut), 0);
      job.project?.(x0.subarray(cut), cut / (3 * plane));
      job.groups?.forEach((g, t) => {
        // The mean of every whole 8×8 block of the tile's region, in each of the tile's items.
        const { x, y, width, height } = g.canvas;
        for (let by = Math.ceil(y / 8) * 8; by + 8 <= y + height; by += 8) {
          for (let bx = Math.ceil(x / 8) * 8; bx + 8 <= x + width; bx += 8) {
            for (let b = 0; b < variants; b++) {
              const item = t * variants + b;
              let got = 0;
              let want = 0;
              for (let py = by; py < by + 8; py++) {
                for (let px = bx; px < bx + 8; px++) {
                  got += (x0[item * 3 * plane + (py - y) * job.width + (px - x)]! + 1) * 127.5;
                  want += image.data[(py * 100 + px) * 4]!;
                }
              }
              expect(Math.abs(got - want) / 64).toBeLessThan(1.5); // the block's mean, red channel
              checked++;
            }
          }
        }
      });
      return Array.from({ length: items }, (_, i) => x0.slice(i * 3 * plane, (i + 1) * 3 * plane));
    }, { variantsPerCall: () => 8 });
    await runRestore({ image, options: { tightness: 0 } }, G, run, variants);
    expect(checked).toBeGreaterThanOrEqual(4 * 7 * variants); // the four 64² tiles of 100×70 hold 7 × 7 or so whole blocks each
  });
});

describe('runRestore keeps the JPEG', () => {
  /** Mean luma of every whole 8×8 block of an RGBA image. */
  const blockMeans = (img: { width: number; height: number; data: Uint8Array }): number[] => {
    const means: number[] = [];
    for (let by = 0; by + 8 <= img.height; by += 8) {
      for (let bx = 0; bx + 8 <= img.width; bx += 8) {
        let sum = 0;
        for (let y = by; y < by + 8; y++) {
          for (let x = bx; x < bx + 8; x++) {
            const p = (y * img.width + x) * 4;
            sum += 0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]!;
          }
        }
        means.push(sum / 64);
      }
    }
    return means;
  };

  it("holds every block's mean within the JPEG's quantization step of the input's, whatever the model says", async () => {
    const image = await jpeg(scene(150, 100), 10);
    // A model that changes everything: brighter by 30 levels, plus stripes.
    const { run } = fakeRun((cond) => cond.map((v, i) => v + 30 / 127.5 + 0.3 * Math.sin(i / 3)));
    const unconstrained = (await runRestore({ image, options: { consistency: false } }, G, run, 1)).layers[0]!;
    const restored = (await runRestore({ image }, G, run, 1)).layers[0]!;
    const want = blockMeans(image);
    const worst = (img: typeof restored) => Math.max(...blockMeans(img).map((m, i) => Math.abs(m - want[i]!)));
    // DC step 80 at quality 10: means within (80/2 + ½)/8 ≈ 5.1 levels, + ½ for 8-bit rounding.
    expect(worst(restored)).toBeLessThanOrEqual(5.6);
    expect(worst(unconstrained)).toBeGreaterThan(20);
  });

  it('gives each tile its pixels as the sampler start and a projection of its estimates', async () => {
    const image = await jpeg(scene(100, 70), 20);
    const starts: boolean[] = [];
    const run: RunModelJob = async (job) => {
      starts.push(job.start !== undefined && job.start === job.cond && typeof job.project === 'function');
      const plane = job.width * job.height;
      const x0 = new Float32Array(job.cond.length).fill(0.7);
      job.project?.(x0, 0); // the blocks the tile holds whole move back towards the input
      expect(x0.some((v) => Math.abs(v - 0.7) > 0.1)).toBe(true);
      return [x0.subarray(0, 3 * plane)];
    };
    await runRestore({ image }, G, run, 1);
    expect(starts.length).toBeGreaterThan(1);
    expect(starts.every(Boolean)).toBe(true);
  });
});
