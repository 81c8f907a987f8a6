import { describe, expect, it } from 'vitest';
import { createJobRunner } from '../../../daemon/job-runner.ts';
import type { ModelCalls } from '../../../daemon/model-scheduler.ts';
import { compositeLayer, createMask } from '../../../daemon/pixels.ts';
import { runFill } from '../../../daemon/tasks/fill.ts';
import type { MaskImage, ModelGeometry, RgbaImage } from '../../../daemon/tasks/types.ts';
import { fakeRun, holeColorModel, holeConstantModel } from './fake-run.ts';
import { greyImage, patternImage } from './test-images.ts';

const G: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };

/**
 * The exact denoiser of a prior N(−0.8, 0.3²) per value: what a model that "wants" dark pixels does.
 * Released early (high noise) a pixel ends near the prior; released at a clean level it barely moves.
 */
function darkPriorModel(): ModelCalls & { calls: number } {
  const mu = -0.8;
  const s2 = 0.09;
  const model = {
    calls: 0,
    manifest: { gamma_range: [4.3859782361332086e-5, 1] },
    device: 'cpu',
    denoise: async ({ yT, gamma }: { yT: { data: Float32Array }; gamma: Float32Array }) => {
      model.calls++;
      const g = gamma[0]!;
      const eps = yT.data.map((y) => (Math.sqrt(1 - g) * (y - Math.sqrt(g) * mu)) / (g * s2 + 1 - g));
      return { data: eps, dims: [] };
    },
  };
  return model as unknown as ModelCalls & { calls: number };
}

function run(model: ModelCalls, strength = 1, seeds = [3, 4]) {
  return createJobRunner(model, { sampler: 'ddim', steps: 20, eta: 0, seeds, maxBatch: 8, strength }, { previewIntervalMs: 0 }, new AbortController().signal);
}

/** Three vertical bands inside a box: mask 255, 40 and 1; 0 around them. */
function bandsMask(width: number, height: number): MaskImage {
  const m = createMask(width, height);
  for (let y = 40; y < 120; y++) {
    for (let x = 30; x < 150; x++) m.data[y * width + x] = x < 70 ? 255 : x < 110 ? 40 : 1;
  }
  return m;
}

function meanAbsChange(a: RgbaImage, b: RgbaImage, x0: number, x1: number, y0: number, y1: number): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      for (let c = 0; c < 3; c++) {
        const d = Math.abs((a.data[(y * a.width + x) * 4 + c] ?? 0) - (b.data[(y * b.width + x) * 4 + c] ?? 0));
        sum += d;
        max = Math.max(max, d);
        n++;
      }
    }
  }
  return { mean: sum / n, max };
}

describe("runFill with maskMode 'strength' (soft masks as per-pixel strength)", () => {
  const image = patternImage(180, 160, 7);
  const mask = bandsMask(180, 160);

  it('changes each pixel as much as its mask value says, keeps the smallest nearly unchanged and unmasked pixels bit-exact', async () => {
    const model = darkPriorModel();
    const out = await runFill({ image, mask, options: { maskMode: 'strength' } }, G, run(model), 2);
    expect(model.calls).toBe(20);
    for (const layer of out.layers) {
      const result = compositeLayer(image, layer);
      // Inner columns of each band (2 px from the band borders, where the job's pixels are pure).
      const full = meanAbsChange(result, image, 34, 66, 44, 116);
      const partial = meanAbsChange(result, image, 74, 106, 44, 116);
      const faint = meanAbsChange(result, image, 114, 146, 44, 116);
      expect(full.mean).toBeGreaterThan(40); // pulled towards the dark prior
      expect(partial.mean).toBeLessThan(full.mean / 3);
      expect(partial.mean).toBeGreaterThan(0.5); // sampled, not left alone
      expect(faint.max).toBeLessThanOrEqual(3); // 1/255 of the strength: one clean level, fine detail kept
      let outside = 0;
      for (let p = 0; p < mask.data.length; p++) {
        if (mask.data[p] !== 0) continue;
        for (let c = 0; c < 4; c++) if (result.data[p * 4 + c] !== image.data[p * 4 + c]) outside++;
      }
      expect(outside).toBe(0);
    }
  });

  it('scales with the request strength: at 0.25 the fully masked band changes like a partial one', async () => {
    const strong = await runFill({ image, mask, options: { maskMode: 'strength' } }, G, run(darkPriorModel(), 1, [3]), 1);
    const weak = await runFill({ image, mask, options: { maskMode: 'strength' } }, G, run(darkPriorModel(), 0.25, [3]), 1);
    const change = (layers: typeof strong.layers, x0: number) => meanAbsChange(compositeLayer(image, layers[0]!), image, x0, x0 + 32, 44, 116).mean;
    expect(change(weak.layers, 34)).toBeLessThan(change(strong.layers, 34) / 2);
    // The partial band's share applies to the request's strength too: 40/255 of 0.25 is one level, not
    // the four of 40/255 at strength 1 (measured 0.56 against 0.87 mean levels; most of either is resampling).
    expect(change(weak.layers, 74)).toBeLessThan(0.75 * change(strong.layers, 74));
  });

  it('gives the model the masked pixels as its hole, their current values as x, the start and the strength per pixel', async () => {
    const { run: fake, jobs } = fakeRun(holeColorModel);
    let seen: { strengthMap?: Float32Array; start?: Float32Array; cond: Float32Array } | undefined;
    const spy = Object.assign(async (job: Parameters<typeof fake>[0]) => {
      seen = job;
      return fake(job);
    }, {});
    await runFill({ image, mask, options: { maskMode: 'strength' } }, G, spy, 1);
    const job = jobs[0]!;
    const map = seen!.strengthMap!;
    expect(map).toHaveLength(job.width * job.height);
    expect(Math.max(...map)).toBeCloseTo(1, 5);
    expect(Math.min(...Array.from(map).filter((s) => s > 0))).toBeLessThan(0.01);
    for (let i = 0; i < map.length; i++) expect(job.hole![i]).toBe((map[i] ?? 0) > 0 ? 1 : 0);
    expect(Array.from(seen!.start!)).toEqual(Array.from(seen!.cond));
    expect(job.label).toBe('fill'); // the progress line's name
  });

  it('matches the generated colours to the surroundings when asked (off by default here), on a ring of at least 2 px', async () => {
    // A model that paints the hole a little brighter (115) than the grey (100) photo: matching (shifts of
    // at most 24 levels) takes it back to grey.
    const grey = greyImage(180, 160, 100);
    const bright = holeConstantModel([115 / 127.5 - 1, 115 / 127.5 - 1, 115 / 127.5 - 1]);
    const fullBand = async (options: object, photo = grey) => {
      const { layers } = await runFill({ image: photo, mask, options: { maskMode: 'strength', ...options } }, G, fakeRun(bright).run, 1);
      const out = compositeLayer(photo, layers[0]!);
      let sum = 0;
      for (let y = 50; y < 110; y++) for (let x = 35; x < 65; x++) sum += out.data[(y * 180 + x) * 4]!;
      return sum / (60 * 30);
    };
    expect(await fullBand({})).toBeGreaterThan(112); // the default: no matching
    expect(await fullBand({ colorMatch: false })).toBeGreaterThan(112);
    expect(await fullBand({ colorMatch: true })).toBeLessThan(104);
    expect(await fullBand({ colorMatch: true, feather: 0 })).toBeLessThan(104); // a ring of 2 px even without a feather
    // With a feather of 8 the ring is 8 px wide: darker surroundings from 3 px outside the mask on pull harder.
    const darkBeyond = greyImage(180, 160, 100);
    for (let y = 0; y < 160; y++) {
      for (let x = 0; x < 180; x++) {
        if (x < 27 || x >= 153 || y < 37 || y >= 123) darkBeyond.data.fill(60, (y * 180 + x) * 4, (y * 180 + x) * 4 + 3);
      }
    }
    expect(await fullBand({ colorMatch: true, feather: 8 }, darkBeyond)).toBeLessThan(96);
  });

  it('shows the sample alone where the mask is full (none of the old fine detail), and the detail where it is faint', async () => {
    // holeColorModel paints the whole hole one flat colour: any texture left in the band is the photo's.
    const { layers } = await runFill({ image, mask, options: { maskMode: 'strength' } }, G, fakeRun(holeColorModel).run, 1);
    const result = compositeLayer(image, layers[0]!);
    const spread = (img: RgbaImage, x0: number, x1: number) => {
      const values: number[] = [];
      for (let y = 50; y < 110; y++) for (let x = x0; x < x1; x++) values.push(img.data[(y * 180 + x) * 4 + 1] ?? 0);
      return Math.max(...values) - Math.min(...values);
    };
    expect(spread(image, 38, 62)).toBeGreaterThan(10); // the photo has texture there …
    expect(spread(result, 38, 62)).toBeLessThanOrEqual(2); // … mask 255: flat
    // Where the mask is 1 the fake model's flat paint still shows under the photo's detail; that the sampler
    // holds such a pixel (so the result stays the photo) is the first test's.
    expect(spread(result, 118, 142)).toBeGreaterThan(10);
  });

  it('refuses an empty mask and an unknown mode', async () => {
    await expect(runFill({ image, mask: createMask(180, 160), options: { maskMode: 'strength' } }, G, fakeRun(holeColorModel).run, 1))
      .rejects.toMatchObject({ code: 'MASK_EMPTY', message: expect.stringMatching(/no pixel above 0/) });
    const options = { maskMode: 'soft' } as unknown as { maskMode: 'strength' };
    await expect(runFill({ image, mask, options }, G, fakeRun(holeColorModel).run, 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
