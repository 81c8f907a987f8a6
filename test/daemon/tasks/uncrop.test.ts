import { describe, expect, it } from 'vitest';
import { compositeLayer, createRgba } from '../../../daemon/pixels.ts';
import { createNormalStream } from '../../../daemon/sampling/random.ts';
import { pasteRgba } from '../../../daemon/tensor-image.ts';
import { planUncrop } from '../../../daemon/tasks/uncrop-plan.ts';
import { runUncrop, type Extension } from '../../../daemon/tasks/uncrop.ts';
import type { ModelGeometry, RgbaImage, RunModelJob, TaskOutput } from '../../../daemon/tasks/types.ts';
import { fakeRun, holeColorModel, type FakeModel, type RecordedJob } from './fake-run.ts';
import { ext, patternImage } from './test-images.ts';

const G: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };

/** The new canvas with the original placed at (left, top) and the layer composited over it. */
function result(image: RgbaImage, e: Extension, out: TaskOutput, variant: number): RgbaImage {
  const base = createRgba(out.canvas.width, out.canvas.height);
  pasteRgba(base, image, e.left, e.top);
  return compositeLayer(base, out.layers[variant]!);
}

/** One grey level everywhere: no grain at all (greyImage is dithered). */
function solid(width: number, height: number, level: number): RgbaImage {
  const img = createRgba(width, height);
  img.data.fill(level);
  for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
  return img;
}

function expectOriginalUntouched(image: RgbaImage, e: Extension, composed: RgbaImage): void {
  for (let y = 0; y < image.height; y++) {
    const row = composed.data.subarray(((y + e.top) * composed.width + e.left) * 4, ((y + e.top) * composed.width + e.left + image.width) * 4);
    expect(row).toEqual(image.data.subarray(y * image.width * 4, (y + 1) * image.width * 4));
  }
}

function expectJobsValid(jobs: RecordedJob[]): void {
  for (const job of jobs) {
    expect(job.width % 8).toBe(0);
    expect(job.height % 8).toBe(0);
    expect(job.width * job.height).toBeLessThanOrEqual(1.25 * 64 * 64);
    expect(job.holeFraction).toBeGreaterThan(0);
    expect(job.holeFraction).toBeLessThanOrEqual(0.5);
  }
}

describe('runUncrop', () => {
  const image = patternImage(120, 80);

  it('extends the right side by 50 %: layer over exactly the new columns, alpha 255', async () => {
    const e = ext({ right: 60 });
    const { run, jobs } = fakeRun(holeColorModel);
    const out = await runUncrop({ image, extend: e }, G, run, 2);
    expect(out.canvas).toEqual({ width: 180, height: 80 });
    for (const layer of out.layers) {
      expect(layer).toMatchObject({ x: 120, y: 0, width: 60, height: 80 });
      for (let p = 3; p < layer.data.length; p += 4) expect(layer.data[p]).toBe(255);
    }
    expectOriginalUntouched(image, e, result(image, e, out, 0));
    expectJobsValid(jobs);
    expect(jobs[0]!.label).toMatch(/^pass 1\/\d+/);
  });

  it("starts every variant of every pass from its own pixels: the known ones as they are, the hole mirrored (never zeros)", async () => {
    const { run: fake } = fakeRun(holeColorModel);
    const seen: Array<{ cond: Float32Array; start: Float32Array; hole: Float32Array; plane: number }> = [];
    const run: RunModelJob = (job) => {
      seen.push({ cond: job.cond.slice(), start: job.start!.slice(), hole: job.hole!, plane: job.width * job.height });
      return fake(job);
    };
    await runUncrop({ image, extend: ext({ right: 60, left: 20 }) }, G, run, 3);
    expect(seen.length).toBeGreaterThan(1);
    for (const { cond, start, hole, plane } of seen) {
      for (let b = 0; b < 3; b++) {
        let holeEnergy = 0;
        for (let c = 0; c < 3; c++) {
          for (let p = 0; p < plane; p++) {
            const i = (b * 3 + c) * plane + p;
            if (hole[p] === 0) expect(start[i]).toBe(cond[i]);
            else holeEnergy += Math.abs(start[i]!);
          }
        }
        expect(holeEnergy, `variant ${b}`).toBeGreaterThan(0);
      }
    }
  });

  it('extends all sides by pixel amounts: alpha 0 exactly over the original, 255 elsewhere', async () => {
    const e = ext({ left: 10, right: 30, top: 20, bottom: 5 });
    const { run, jobs } = fakeRun(holeColorModel);
    const out = await runUncrop({ image, extend: e }, G, run, 2);
    expect(out.canvas).toEqual({ width: 160, height: 105 });
    const layer = out.layers[1]!;
    expect(layer).toMatchObject({ x: 0, y: 0, width: 160, height: 105 });
    for (let y = 0; y < 105; y++) {
      for (let x = 0; x < 160; x++) {
        const inside = x >= 10 && x < 130 && y >= 20 && y < 100;
        expect(layer.data[(y * 160 + x) * 4 + 3]).toBe(inside ? 0 : 255);
      }
    }
    expectOriginalUntouched(image, e, result(image, e, out, 1));
    expectJobsValid(jobs);
    // Variants differ in the generated area.
    const p = (2 * 160 + 2) * 4;
    expect(out.layers[0]!.data.subarray(p, p + 3)).not.toEqual(layer.data.subarray(p, p + 3));
  });

  it('needs several passes for an extension 3× the image, each at most 50 % unknown, conditioned per variant', async () => {
    const e = ext({ right: 360 });
    const { run, jobs } = fakeRun(holeColorModel);
    const out = await runUncrop({ image, extend: e }, G, run, 2);
    expect(out.canvas).toEqual({ width: 480, height: 80 });
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expectJobsValid(jobs);
    expect(jobs.map((j) => j.label)).toContain(`pass ${jobs.length}/${jobs.length} (right)`);
    // The first pass sees only the original (same x for both variants); later ones see each variant's
    // own earlier passes.
    const plane = 3 * jobs[0]!.width * jobs[0]!.height;
    expect(jobs[0]!.cond.subarray(0, plane)).toEqual(jobs[0]!.cond.subarray(plane, 2 * plane));
    const later = jobs[jobs.length - 1]!;
    const lp = 3 * later.width * later.height;
    expect(later.cond.subarray(0, lp)).not.toEqual(later.cond.subarray(lp, 2 * lp));
    expectOriginalUntouched(image, e, result(image, e, out, 0));
    expect(out.layers[0]).toMatchObject({ x: 120, y: 0, width: 360, height: 80 });
  });

  it('plans large canvases at a coarse scale with few passes', () => {
    const plan = planUncrop({ width: 3000, height: 2000 }, ext({ right: 1500 }), G);
    expect(plan.canvas).toEqual({ width: 4500, height: 2000 });
    expect(plan.windows.length).toBeLessThanOrEqual(3);
    for (const w of plan.windows) {
      expect(w.rect.x).toBeGreaterThanOrEqual(0);
      expect(w.rect.x + w.rect.width).toBeLessThanOrEqual(4500);
      expect(w.jobWidth * w.jobHeight).toBeLessThanOrEqual(1.25 * 64 * 64);
    }
  });

  it('plans thin extensions and tiny images without breaking the 50 % rule', async () => {
    for (const [img, e] of [
      [patternImage(300, 20), ext({ right: 300, top: 7 })],
      [patternImage(9, 9), ext({ left: 30, right: 1, top: 2, bottom: 40 })],
      [patternImage(400, 300), ext({ bottom: 3 })],
    ] as const) {
      const { run, jobs } = fakeRun(holeColorModel);
      const out = await runUncrop({ image: img, extend: e }, G, run, 1);
      expectJobsValid(jobs);
      expectOriginalUntouched(img, e, result(img, e, out, 0));
    }
  });

  it('conditions each pass on known pixels only: the seam is not darkened by the still-empty canvas', async () => {
    // A flat grey photo: every known pixel of the first job's cond (the photo only) must be that grey.
    // Unknown canvas pixels are black; were they not weighted out of the resize, the job's last known
    // columns would darken.
    const grey = createRgba(120, 80);
    for (let p = 0; p < 120 * 80; p++) grey.data.set([200, 200, 200, 255], p * 4);
    const { run, jobs } = fakeRun(holeColorModel);
    await runUncrop({ image: grey, extend: ext({ right: 60 }) }, G, run, 1);
    const level = (200 / 255) * 2 - 1;
    for (const job of jobs.slice(0, 1)) {
      const plane = job.width * job.height;
      for (let p = 0; p < plane; p++) {
        if ((job.hole?.[p] ?? 0) > 0) continue;
        for (let c = 0; c < 3; c++) expect(Math.abs(job.cond[c * plane + p]! - level)).toBeLessThan(3 / 127.5); // 3 levels of rounding
      }
    }
  });

  it('never repaints what an earlier pass generated: a later window only fills its unknown part', async () => {
    // Each pass fills its hole with a colour of its own (grey levels by pass); pass 1's pixels, right up
    // to the next pass's seam, must keep pass 1's colour exactly.
    const byPass: FakeModel = (cond, _variant, job) => {
      const out = cond.slice();
      const plane = job.width * job.height;
      const v = -0.8 + 0.2 * (job.part?.index ?? 0);
      for (let i = 0; i < plane; i++) if ((job.hole?.[i] ?? 0) >= 0.5) for (let c = 0; c < 3; c++) out[c * plane + i] = v;
      return out;
    };
    const { run } = fakeRun(byPass);
    // A flat photo has no grain to match (grain.ts), so each pass's colour comes through exactly.
    const flat = solid(image.width, image.height, 90);
    const out = await runUncrop({ image: flat, extend: ext({ right: 120 }) }, G, run, 1);
    const layer = out.layers[0]!;
    const pass1 = Math.round(((-0.8 + 1) / 2) * 255);
    // Pass 1 (80-px window at x 80) generated x 120…159; pass 2 starts at x 160.
    for (let y = 0; y < 80; y++) {
      for (let x = 140; x < 160; x++) {
        const p = (y * layer.width + (x - layer.x)) * 4;
        expect([...layer.data.subarray(p, p + 4)]).toEqual([pass1, pass1, pass1, 255]);
      }
    }
  });

  it('gives the new area the photo’s grain when the passes were upscaled ≥ 3×, reproducibly per variant, and none below', async () => {
    // A grainy photo, extended 3× through 64-px working windows (upscaled ~2×): the fake model's flat
    // colour comes back with grain; the original stays bit-exact.
    const grainy = solid(120, 80, 128);
    const draw = createNormalStream(5);
    for (let i = 0; i < 120 * 80; i++) {
      const v = Math.round(128 + 20 * draw());
      grainy.data.set([v, v, v], i * 4);
    }
    const fineSpread = (img: RgbaImage, x0: number, x1: number): number => {
      let sum = 0;
      let n = 0;
      for (let y = 1; y < img.height - 1; y++) {
        for (let x = x0; x < x1; x++) {
          const p = (y * img.width + x) * 4;
          sum += ((img.data[p] ?? 0) - ((img.data[p - 4] ?? 0) + (img.data[p + 4] ?? 0)) / 2) ** 2;
          n++;
        }
      }
      return sum / n;
    };
    const e = ext({ right: 240 });
    // Working size 16: 80-px-tall windows are upscaled 5× (≥ UNCROP_GRAIN_MIN_UPSCALE).
    const G16: ModelGeometry = { workingSize: 16, sizeMultiple: 8 };
    const once = await runUncrop({ image: grainy, extend: e }, G16, fakeRun(holeColorModel).run, 2);
    const again = await runUncrop({ image: grainy, extend: e }, G16, fakeRun(holeColorModel).run, 2);
    expect(again.layers[0]!.data).toEqual(once.layers[0]!.data);
    for (const v of [0, 1]) {
      const composed = result(grainy, e, once, v);
      expectOriginalUntouched(grainy, e, composed);
      // About (0.65 × 0.5)² of the photo's: the finest band only, at GRAIN_GAIN of its amplitude.
      const ratio = fineSpread(composed, 130, 350) / fineSpread(composed, 1, 119);
      expect(ratio).toBeGreaterThan(0.03);
      expect(ratio).toBeLessThan(0.5);
    }
    // A photo with no grain gives the new area none: only the fake model's flat colour and pass seams.
    const flat = solid(120, 80, 90);
    const plain = result(flat, e, await runUncrop({ image: flat, extend: e }, G16, fakeRun(holeColorModel).run, 1), 0);
    const noisy = result(flat, e, once, 0);
    expect(fineSpread(plain, 130, 350)).toBeLessThan(0.5 * fineSpread(noisy, 130, 350));
    // At working size 64 the same windows are upscaled 1.25×: no grain (it made 2× extensions worse).
    const mild = result(grainy, e, await runUncrop({ image: grainy, extend: e }, G, fakeRun(holeColorModel).run, 1), 0);
    expect(fineSpread(mild, 130, 350)).toBeLessThan(0.2 * fineSpread(result(grainy, e, once, 0), 130, 350));
  });

  it('refuses a canvas over 100 megapixels before any model call', async () => {
    const { run, jobs } = fakeRun(holeColorModel);
    const dot = patternImage(1, 1);
    // 10001 × 10001 only when both sides of each axis count.
    await expect(runUncrop({ image: dot, extend: ext({ left: 5000, right: 5000, top: 5000, bottom: 5000 }) }, G, run, 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/10001×10001 is larger than 100000000 pixels/),
    });
    expect(jobs).toHaveLength(0);
  });

  it('rejects bad extensions', async () => {
    const { run } = fakeRun(holeColorModel);
    await expect(runUncrop({ image, extend: ext({}) }, G, run, 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/at least one side/),
    });
    await expect(runUncrop({ image, extend: ext({ left: -3 }) }, G, run, 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(runUncrop({ image, extend: ext({ top: 1.5 }) }, G, run, 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
