import { describe, expect, it } from 'vitest';
import { planRestoreTiles, runRestore } from '../../../daemon/tasks/restore.ts';
import { tileStarts, tileWeights } from '../../../daemon/tasks/tiling.ts';
import type { ModelGeometry } from '../../../daemon/tasks/types.ts';
import { fakeRun, identityModel, type FakeModel } from './fake-run.ts';
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

  it('weights rise smoothly on sides with a neighbour only, and are never 0', () => {
    const w = tileWeights(48, 64, 1000, 16);
    expect(w[0]).toBeGreaterThan(0);
    expect(w[0]).toBeLessThan(0.05);
    expect(w[32]).toBe(1);
    for (let i = 1; i < 16; i++) expect(w[i]!).toBeGreaterThan(w[i - 1]!);
    expect([...tileWeights(0, 64, 64, 16)].every((v) => v === 1)).toBe(true);
    expect(tileStarts(50, 64, 16)).toEqual([0]);
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
    const { layers } = await runRestore({ image }, G, run, 3);
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
