import { describe, expect, it } from 'vitest';
import { resizeRgba } from '../../../daemon/imaging.ts';
import { chroma601, luma601 } from '../../../daemon/pixels.ts';
import { runColorize } from '../../../daemon/tasks/colorize.ts';
import type { ModelGeometry, RgbaImage } from '../../../daemon/tasks/types.ts';
import { fakeRun, type FakeModel } from './fake-run.ts';
import { patternImage } from './test-images.ts';

const G: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };

/** "Colours" the grey input: a strong, position-dependent tint, different per variant. */
const tintModel: FakeModel = (cond, variant, job) => {
  const out = cond.slice();
  const plane = job.width * job.height;
  for (let i = 0; i < plane; i++) {
    const y = cond[i] ?? 0;
    const t = (i % job.width) / job.width - 0.5 + 0.4 * variant;
    out[i] = y + t;
    out[plane + i] = y - 0.3 * t;
    out[2 * plane + i] = y - t;
  }
  return out;
};

function lumaOf(img: RgbaImage, p: number): number {
  return luma601(img.data[p] ?? 0, img.data[p + 1] ?? 0, img.data[p + 2] ?? 0);
}

describe('runColorize', () => {
  const image = patternImage(300, 200);
  // Some saturated and half-transparent pixels: the gamut and alpha edge cases.
  for (let x = 0; x < 300; x++) {
    image.data.set([255, 255, 255, 255], x * 4);
    image.data.set([0, 0, 0, 128], (199 * 300 + x) * 4);
  }

  it('keeps the luminance of every pixel (±1) and the original alpha, at full size', async () => {
    const { run, jobs } = fakeRun(tintModel);
    const out = await runColorize({ image }, G, run, 2);
    expect(out.canvas).toEqual({ width: 300, height: 200 });
    expect(out.layers).toHaveLength(2);
    for (const layer of out.layers) {
      expect(layer).toMatchObject({ x: 0, y: 0, width: 300, height: 200 });
      let worst = 0;
      for (let p = 0; p < layer.data.length; p += 4) {
        worst = Math.max(worst, Math.abs(lumaOf(layer, p) - lumaOf(image, p)));
        expect(layer.data[p + 3]).toBe(image.data[p + 3]);
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
    expect(jobs).toHaveLength(1);
  });

  it("takes each variant's chroma from its sample", async () => {
    const { run } = fakeRun(tintModel);
    const { layers } = await runColorize({ image }, G, run, 2);
    const [x, y] = [150, 100];
    const p = (y * 300 + x) * 4;
    const cr = layers.map((l) => chroma601(l.data[p] ?? 0, l.data[p + 1] ?? 0, l.data[p + 2] ?? 0)[1]);
    // tintModel's Cr at this column: 127.5 · (0.5 + 0.3·0.418688 + 0.081312) · t, t = x/W − 0.5 + 0.4·variant.
    const expected = [0, 1].map((v) => 127.5 * (0.5 + 0.3 * 0.418688 + 0.081312) * (x / 300 - 0.5 + 0.4 * v));
    expect(Math.abs(cr[0]! - expected[0]!)).toBeLessThan(4);
    expect(Math.abs(cr[1]! - expected[1]!)).toBeLessThan(4);
    // Cb weighs the blue sample most: 127.5 · (−0.168736 − 0.331264·(−0.3) − 0.5) · t.
    const cb = layers.map((l) => chroma601(l.data[p] ?? 0, l.data[p + 1] ?? 0, l.data[p + 2] ?? 0)[0]);
    const expectedCb = [0, 1].map((v) => 127.5 * (-0.168736 + 0.331264 * 0.3 - 0.5) * (x / 300 - 0.5 + 0.4 * v));
    expect(Math.abs(cb[0]! - expectedCb[0]!)).toBeLessThan(4);
    expect(Math.abs(cb[1]! - expectedCb[1]!)).toBeLessThan(4);
  });

  it('runs one working-size job on the grey luminance, same x for every variant', async () => {
    const { run, jobs } = fakeRun(tintModel);
    await runColorize({ image }, G, run, 3);
    const job = jobs[0]!;
    expect(job.batch).toBe(3);
    expect(job.label).toBe('colorize'); // what progress events show
    expect(job.hole).toBeUndefined();
    expect(job.width % 8 + (job.height % 8)).toBe(0);
    expect(job.width * job.height).toBeLessThanOrEqual(1.25 * 64 * 64);
    expect(job.width / job.height).toBeCloseTo(1.5, 0);
    const plane = job.width * job.height;
    // x is the BT.601 luma of the image at the job's size (resizing and luma commute up to rounding).
    const opaque = { ...image, data: image.data.map((v, i) => (i % 4 === 3 ? 255 : v)) }; // alpha is not luminance
    const small = await resizeRgba(opaque, job.width, job.height);
    let worst = 0;
    for (let i = 0; i < plane; i++) {
      const luma = luma601(small.data[i * 4] ?? 0, small.data[i * 4 + 1] ?? 0, small.data[i * 4 + 2] ?? 0);
      worst = Math.max(worst, Math.abs(((job.cond[i] ?? 0) + 1) * 127.5 - luma));
    }
    expect(worst).toBeLessThanOrEqual(1.5);
    for (let i = 0; i < plane; i++) {
      expect(job.cond[i]).toBe(job.cond[plane + i]);
      expect(job.cond[i]).toBe(job.cond[2 * plane + i]);
      expect(job.cond[i]).toBe(job.cond[2 * 3 * plane + i]);
    }
  });

  it('handles an image smaller than the working size', async () => {
    const { run, jobs } = fakeRun(tintModel);
    const tiny = patternImage(10, 7);
    const { layers } = await runColorize({ image: tiny }, G, run, 1);
    expect(layers[0]).toMatchObject({ width: 10, height: 7 });
    expect(jobs[0]!.width % 8).toBe(0);
  });
});
