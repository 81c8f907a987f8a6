import { describe, expect, it } from 'vitest';
import { DaemonError } from '../../../daemon/errors.ts';
import { createNormalStream } from '../../../daemon/sampling/random.ts';
import { dilateMask } from '../../../daemon/mask-morphology.ts';
import { compositeLayer, createMask, maskBounds } from '../../../daemon/pixels.ts';
import { containsRect, type Rect } from '../../../daemon/rect.ts';
import { runFill } from '../../../daemon/tasks/fill.ts';
import type { MaskImage, ModelGeometry, RgbaImage, RgbaLayer } from '../../../daemon/tasks/types.ts';
import { fakeRun, holeColorModel, holeConstantModel } from './fake-run.ts';
import { circleMask, greyImage, patternImage, rectMask } from './test-images.ts';

const G: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };

function alphaAt(layer: RgbaLayer, x: number, y: number): number {
  const lx = x - layer.x;
  const ly = y - layer.y;
  if (lx < 0 || ly < 0 || lx >= layer.width || ly >= layer.height) return 0;
  return layer.data[(ly * layer.width + lx) * 4 + 3] ?? 0;
}

function meanInMask(img: RgbaImage, mask: { data: Uint8Array }, channel: number): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if ((mask.data[i] ?? 0) === 0) continue;
    sum += img.data[i * 4 + channel] ?? 0;
    n++;
  }
  return sum / n;
}

/** A grey-100 square image with a square hole and a dark (30) outline `width` px wide hugging it. */
function outlinedHole(size: number, hole: Rect, width: number): { img: RgbaImage; m: MaskImage } {
  const img = greyImage(size, size, 100);
  const m = rectMask(size, size, hole);
  for (let y = hole.y - width; y < hole.y + hole.height + width; y++) {
    for (let x = hole.x - width; x < hole.x + hole.width + width; x++) {
      if ((m.data[y * size + x] ?? 0) === 0) img.data.set([30, 30, 30, 255], (y * size + x) * 4);
    }
  }
  return { img, m };
}

/** Paints the hole the photo's grey 100. */
const GREY_100_MODEL = holeConstantModel([100 / 127.5 - 1, 100 / 127.5 - 1, 100 / 127.5 - 1]);

describe('runFill', () => {
  const image = patternImage(200, 150);
  const mask = circleMask(200, 150, 100, 75, 20);

  for (const grow of [2, 0]) {
    it(`changes nothing outside the feathered band and covers the whole hole (grow ${grow})`, async () => {
      const { run } = fakeRun(holeColorModel);
      const feather = 8;
      const out = await runFill({ image, mask, options: { feather, grow } }, G, run, 2);
      expect(out.canvas).toEqual({ width: 200, height: 150 });
      expect(out.layers).toHaveLength(2);
      // A constant from the documented behaviour (composite.ts): the hole grows by `grow`, then the
      // alpha fades to 0 about `feather` px outside it; allow 3 px for the Gaussian's tail and rounding.
      const band = dilateMask(mask, grow + feather + 3);
      for (const layer of out.layers) {
        const result = compositeLayer(image, layer);
        const holeNotOpaque: number[] = [];
        const changedOutsideLayer: number[] = [];
        const outsideBand: number[] = [];
        for (let y = 0; y < 150; y++) {
          for (let x = 0; x < 200; x++) {
            const i = y * 200 + x;
            const a = alphaAt(layer, x, y);
            if ((mask.data[i] ?? 0) > 0 && a !== 255) holeNotOpaque.push(i);
            if (a === 0) {
              for (let c = 0; c < 4; c++) if (result.data[i * 4 + c] !== image.data[i * 4 + c]) changedOutsideLayer.push(i);
            } else if (band.data[i] !== 255) {
              outsideBand.push(i); // only the hole and its soft edge are touched
            }
          }
        }
        expect(holeNotOpaque).toEqual([]);
        expect(changedOutsideLayer).toEqual([]);
        expect(outsideBand).toEqual([]);
      }
    });
  }

  it('refuses options out of range before any model call (for in-process callers the protocol does not check)', async () => {
    const m = rectMask(200, 150, { x: 80, y: 60, width: 30, height: 20 });
    const bad = [
      { threshold: 0 }, { threshold: 256 }, { threshold: 1.5 }, { grow: 1.5 },
      { feather: -1 }, { feather: Number.NaN }, { feather: Number.POSITIVE_INFINITY },
      { contextPadding: -0.1 }, { contextPadding: Number.NaN }, { contextPadding: Number.POSITIVE_INFINITY },
    ];
    for (const options of bad) {
      const model = fakeRun(holeColorModel);
      await expect(runFill({ image, mask: m, options }, G, model.run, 1), JSON.stringify(options))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('invalid fill options') });
      expect(model.jobs.length).toBe(0);
    }
    // the bounds themselves are valid
    for (const options of [{ threshold: 1 }, { threshold: 255 }, { feather: 0 }, { contextPadding: 0 }, { grow: -2 }]) {
      await expect(runFill({ image, mask: m, options }, G, fakeRun(holeColorModel).run, 1)).resolves.toBeDefined();
    }
  });

  it('takes only mask values at or above the threshold as the hole (default 128)', async () => {
    const m = createMask(200, 150);
    for (let y = 20; y < 50; y++) for (let x = 20; x < 50; x++) m.data[y * 200 + x] = 100; // faint stroke
    for (let y = 80; y < 110; y++) for (let x = 120; x < 150; x++) m.data[y * 200 + x] = 200;
    const opts = { feather: 0, grow: 0 };
    const byDefault = (await runFill({ image, mask: m, options: opts }, G, fakeRun(holeColorModel).run, 1)).layers[0]!;
    expect(byDefault).toMatchObject({ x: 120, y: 80, width: 30, height: 30 });
    const low = (await runFill({ image, mask: m, options: { ...opts, threshold: 100 } }, G, fakeRun(holeColorModel).run, 1)).layers[0]!;
    expect(low).toMatchObject({ x: 20, y: 20, width: 130, height: 90 });
    await expect(runFill({ image, mask: m, options: { ...opts, threshold: 201 } }, G, fakeRun(holeColorModel).run, 1))
      .rejects.toMatchObject({ code: 'MASK_EMPTY' });
  });

  it('shrinks the hole by a negative grow, and says the mask vanished when nothing is left', async () => {
    const m = rectMask(200, 150, { x: 60, y: 40, width: 40, height: 30 });
    const { layers } = await runFill({ image, mask: m, options: { feather: 0, grow: -3 } }, G, fakeRun(holeColorModel).run, 1);
    expect(layers[0]).toMatchObject({ x: 63, y: 43, width: 34, height: 24 });
    expect(layers[0]!.data.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
    const small = rectMask(200, 150, { x: 60, y: 40, width: 8, height: 8 });
    await expect(runFill({ image, mask: small, options: { grow: -4 } }, G, fakeRun(holeColorModel).run, 1))
      .rejects.toMatchObject({ code: 'MASK_EMPTY', message: expect.stringMatching(/vanished after shrinking it by 4 px/) });
  });

  it('gives the model more surroundings for a larger contextPadding', async () => {
    const big = patternImage(400, 400);
    const m = rectMask(400, 400, { x: 170, y: 170, width: 60, height: 60 });
    const fractions: number[] = [];
    for (const contextPadding of [0.25, 1.5]) {
      const { run, jobs } = fakeRun(holeColorModel);
      await runFill({ image: big, mask: m, options: { grow: 0, feather: 2, contextPadding } }, G, run, 1);
      fractions.push(jobs[0]!.holeFraction);
    }
    // Hole 60 px: a crop of ~60 + 2·15 px (0.25) vs ~60 + 2·90 px (1.5) around it.
    expect(fractions[0]).toBeGreaterThan(0.35);
    expect(fractions[1]).toBeLessThan(0.1);
  });

  it('returns a layer that encloses the mask, inside the image, with RGB 0 where alpha is 0', async () => {
    const { run } = fakeRun(holeColorModel);
    const { layers } = await runFill({ image, mask }, G, run, 1);
    const layer = layers[0]!;
    const box = maskBounds(mask)!;
    expect(containsRect(layer, box)).toBe(true);
    expect(containsRect({ x: 0, y: 0, width: 200, height: 150 }, layer)).toBe(true);
    for (let p = 0; p < layer.data.length; p += 4) {
      if (layer.data[p + 3] === 0) expect([...layer.data.subarray(p, p + 3)]).toEqual([0, 0, 0]);
    }
  });

  it('gives different variants inside the hole', async () => {
    const { run, jobs } = fakeRun(holeColorModel);
    const { layers } = await runFill({ image, mask, options: { colorMatch: false } }, G, run, 3);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.batch).toBe(3);
    const [a, b, c] = layers.map((l) => compositeLayer(image, l));
    const centre = (75 * 200 + 100) * 4;
    expect(a!.data.subarray(centre, centre + 3)).not.toEqual(b!.data.subarray(centre, centre + 3));
    expect(b!.data.subarray(centre, centre + 3)).not.toEqual(c!.data.subarray(centre, centre + 3));
    expect(a!.data[centre]).toBeGreaterThan(200); // variant 0 is red in the hole
  });

  it('gives an upscaled fill the grain of its surroundings, and a fill at full resolution none', async () => {
    // Grey 128 with strong pixel noise; the fake model fills the hole with one flat colour.
    const size = 256;
    const grainy = greyImage(size, size, 128);
    const draw = createNormalStream(3);
    for (let i = 0; i < size * size; i++) {
      const v = Math.round(128 + 20 * draw());
      grainy.data.set([v, v, v], i * 4);
    }
    /** Mean squared difference from the left/right neighbours' mean over the hole's inner part (red). */
    const spread = (img: RgbaImage, r: Rect): number => {
      let sum = 0;
      for (let y = r.y; y < r.y + r.height; y++) {
        for (let x = r.x; x < r.x + r.width; x++) {
          const p = (y * size + x) * 4;
          sum += ((img.data[p] ?? 0) - ((img.data[p - 4] ?? 0) + (img.data[p + 4] ?? 0)) / 2) ** 2;
        }
      }
      return sum / (r.width * r.height);
    };
    const big: Rect = { x: 64, y: 64, width: 128, height: 128 }; // crop ≈ 256 px, job 64: upscaled
    const bigFill = await runFill({ image: grainy, mask: rectMask(size, size, big) }, G, fakeRun(holeConstantModel([0.2, 0.2, 0.2])).run, 1);
    const inner: Rect = { x: 80, y: 80, width: 96, height: 96 };
    const ratio = spread(compositeLayer(grainy, bigFill.layers[0]!), inner) / spread(grainy, inner);
    expect(ratio).toBeGreaterThan(0.03);
    expect(ratio).toBeLessThan(0.5);
    const small: Rect = { x: 120, y: 120, width: 12, height: 12 }; // crop at most the working size
    const smallFill = await runFill({ image: grainy, mask: rectMask(size, size, small) }, G, fakeRun(holeConstantModel([0.2, 0.2, 0.2])).run, 1);
    expect(spread(compositeLayer(grainy, smallFill.layers[0]!), { x: 123, y: 123, width: 6, height: 6 })).toBe(0);
  });

  it('sends a working-size job with the hole marked, whatever the image size', async () => {
    const big = patternImage(3000, 2000);
    const small = rectMask(3000, 2000, { x: 2500, y: 300, width: 30, height: 20 });
    const { run, jobs } = fakeRun(holeColorModel);
    const { layers, canvas } = await runFill({ image: big, mask: small }, G, run, 2);
    expect(canvas).toEqual({ width: 3000, height: 2000 });
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.width % 8).toBe(0);
    expect(job.height % 8).toBe(0);
    expect(job.width * job.height).toBeLessThanOrEqual(1.25 * 64 * 64);
    expect(job.width * job.height).toBeGreaterThanOrEqual(0.75 * 64 * 64);
    expect(job.holeFraction).toBeGreaterThan(0.05);
    expect(job.holeFraction).toBeLessThan(0.6);
    for (const layer of layers) {
      expect(containsRect(layer, { x: 2500, y: 300, width: 30, height: 20 })).toBe(true);
      expect(layer.width).toBeLessThan(120);
      expect(layer.height).toBeLessThan(120);
    }
  });

  it('keeps the content being removed out of the known pixels the model sees', async () => {
    const img = greyImage(128, 128, 120);
    for (let y = 40; y < 80; y++) for (let x = 40; x < 80; x++) img.data.set([255, 0, 0, 255], (y * 128 + x) * 4);
    const m = rectMask(128, 128, { x: 40, y: 40, width: 40, height: 40 });
    const { run, jobs } = fakeRun(holeColorModel);
    await runFill({ image: img, mask: m, options: { grow: 0 } }, G, run, 1);
    const { cond, hole, width, height } = jobs[0]!;
    const plane = width * height;
    for (let i = 0; i < plane; i++) {
      if ((hole?.[i] ?? 0) > 0) continue;
      const r = ((cond[i] ?? 0) + 1) * 127.5;
      const g = ((cond[plane + i] ?? 0) + 1) * 127.5;
      expect(Math.abs(r - g)).toBeLessThan(12); // grey context, no red halo from the hole
    }
  });

  it('keeps the removed content out of the known pixels at a non-integer scale too (hole alpha 0 before the resize)', async () => {
    // 200 px → a 64-px job is a 3.1× reduction: no shrink-on-load shortcut hides a bleed here.
    const img = greyImage(200, 200, 120);
    for (let y = 73; y < 127; y++) for (let x = 73; x < 127; x++) img.data.set([255, 0, 0, 255], (y * 200 + x) * 4);
    const m = rectMask(200, 200, { x: 73, y: 73, width: 54, height: 54 });
    const { run, jobs } = fakeRun(holeColorModel);
    await runFill({ image: img, mask: m, options: { grow: 0, contextPadding: 1 } }, G, run, 1);
    const { cond, hole, width, height } = jobs[0]!;
    const plane = width * height;
    let worst = 0;
    for (let i = 0; i < plane; i++) {
      if ((hole?.[i] ?? 0) > 0) continue;
      const r = ((cond[i] ?? 0) + 1) * 127.5;
      const g = ((cond[plane + i] ?? 0) + 1) * 127.5;
      worst = Math.max(worst, Math.abs(r - g));
    }
    expect(worst).toBeLessThan(4);
  });

  it('grows the hole by half the default feather, 8 px per 1024 px of the long side (2048×512: 8 px, then 16 px of fade)', async () => {
    const wide = greyImage(2048, 512, 90);
    const m = rectMask(2048, 512, { x: 1000, y: 230, width: 40, height: 40 });
    const { layers } = await runFill({ image: wide, mask: m }, G, fakeRun(holeColorModel).run, 1);
    const layer = layers[0]!;
    // Right of the mask (its last column is x = 1039): grown by 8 → opaque through x = 1047.
    expect(alphaAt(layer, 1047, 250)).toBe(255);
    // The 16-px feather fades after the grown edge: still partly there 8 px on, gone well past 16.
    expect(alphaAt(layer, 1055, 250)).toBeGreaterThan(0);
    expect(alphaAt(layer, 1055, 250)).toBeLessThan(255);
    expect(alphaAt(layer, 1047 + 16 + 6, 250)).toBe(0);
  });

  it('grows the hole by an explicit grow however far it is from the marked pixels', async () => {
    const m = rectMask(200, 150, { x: 80, y: 60, width: 30, height: 20 });
    const { layers } = await runFill({ image, mask: m, options: { grow: 6, feather: 0 } }, G, fakeRun(holeColorModel).run, 1);
    expect(layers[0]).toMatchObject({ x: 74, y: 54, width: 42, height: 32 });
    // 6 px straight out from each side is inside the grown hole (its corners are round).
    for (const [x, y] of [[74, 70], [115, 70], [95, 54], [95, 85]] as const) expect(alphaAt(layers[0]!, x, y)).toBe(255);
  });

  it('matches colours against a ring as wide as the feather, not only the pixels touching the hole', async () => {
    // A 2-px dark outline hugs the hole; beyond it the photo is the grey the model paints.
    const { img, m } = outlinedHole(160, { x: 60, y: 60, width: 40, height: 40 }, 2);
    const { layers } = await runFill({ image: img, mask: m, options: { grow: 0, feather: 12 } }, G, fakeRun(GREY_100_MODEL).run, 1);
    const centre = compositeLayer(img, layers[0]!).data[(80 * 160 + 80) * 4] ?? 0;
    // A 12-px ring is mostly grey 100 (a small pull down); a 2-px ring would see only the outline (−24).
    expect(centre).toBeGreaterThan(88);
  });

  it('matches colours against a ring of at least two model pixels when the crop is upscaled a lot', async () => {
    // feather 2, but the 200-px hole's crop goes to a 64-px job: 2 px of crop are a third of a model pixel.
    const { img, m } = outlinedHole(800, { x: 300, y: 300, width: 200, height: 200 }, 3);
    const { layers } = await runFill({ image: img, mask: m, options: { grow: 0, feather: 2 } }, G, fakeRun(GREY_100_MODEL).run, 1);
    const centre = compositeLayer(img, layers[0]!).data[(400 * 800 + 400) * 4] ?? 0;
    // Ring ⌈2·crop/job⌉ ≈ 13 px: part outline, part grey (86 measured). A 2-px ring sees only the outline
    // (74); a ring over the whole crop sees almost only grey (96).
    expect(centre).toBeGreaterThan(80);
    expect(centre).toBeLessThan(92);
  });

  it('matches the generated colours to the surroundings by default', async () => {
    const img = greyImage(160, 160, 100);
    const m = circleMask(160, 160, 80, 80, 25);
    const bright = (140 / 127.5) - 1;
    const on = await runFill({ image: img, mask: m, options: { grow: 0 } }, G, fakeRun(holeConstantModel([bright, bright, bright])).run, 1);
    const off = await runFill(
      { image: img, mask: m, options: { grow: 0, colorMatch: false } },
      G,
      fakeRun(holeConstantModel([bright, bright, bright])).run,
      1,
    );
    const inner = createMask(160, 160);
    for (let i = 0; i < inner.data.length; i++) {
      const x = i % 160;
      const y = Math.floor(i / 160);
      inner.data[i] = (x - 80) ** 2 + (y - 80) ** 2 <= 15 * 15 ? 255 : 0;
    }
    const withMatch = meanInMask(compositeLayer(img, on.layers[0]!), inner, 0);
    const without = meanInMask(compositeLayer(img, off.layers[0]!), inner, 0);
    expect(without).toBeGreaterThan(135);
    // The 40-level cast is pulled back by the (clamped) 24-level correction.
    expect(withMatch).toBeLessThan(without - 20);
    expect(withMatch).toBeGreaterThan(100);
  });

  it('rejects a mask of another size, and an empty mask, with coded errors', async () => {
    const { run } = fakeRun(holeColorModel);
    await expect(runFill({ image, mask: createMask(100, 150) }, G, run, 1)).rejects.toMatchObject({
      code: 'MASK_SIZE_MISMATCH',
      message: 'the mask is 100×150 but the image is 200×150',
    });
    await expect(runFill({ image, mask: createMask(200, 100) }, G, run, 1)).rejects.toMatchObject({
      code: 'MASK_SIZE_MISMATCH', // the height alone differs
      message: 'the mask is 200×100 but the image is 200×150',
    });
    await expect(runFill({ image, mask: createMask(200, 150) }, G, run, 1)).rejects.toBeInstanceOf(DaemonError);
    await expect(runFill({ image, mask: createMask(200, 150) }, G, run, 1)).rejects.toMatchObject({
      code: 'MASK_EMPTY',
      message: expect.stringMatching(/no pixel ≥ \d+: nothing to fill/),
    });
    await expect(runFill({ image, mask }, G, run, 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('handles a mask touching the image corner and a mask covering everything', async () => {
    const { run, jobs } = fakeRun(holeColorModel);
    const corner = rectMask(200, 150, { x: 0, y: 0, width: 30, height: 30 });
    const a = await runFill({ image, mask: corner }, G, run, 1);
    expect(a.layers[0]!.x).toBe(0);
    expect(a.layers[0]!.y).toBe(0);
    const all = rectMask(200, 150, { x: 0, y: 0, width: 200, height: 150 });
    const b = await runFill({ image, mask: all }, G, run, 1);
    expect(b.layers[0]).toMatchObject({ x: 0, y: 0, width: 200, height: 150 });
    expect(jobs[1]!.holeFraction).toBe(1);
    expect(jobs.map((j) => j.label)).toEqual(['fill', 'fill']); // the progress line's name
  });
});
