import { describe, expect, it } from 'vitest';
import { dilateMask, erodeMask } from '../../../daemon/mask-morphology.ts';
import { chroma601, compositeLayer, createMask, luma601, lumaExact, maskBounds, ycbcrToRgb } from '../../../daemon/pixels.ts';
import { containsRect } from '../../../daemon/rect.ts';
import { contextCrop } from '../../../daemon/tasks/context-crop.ts';
import { assertGeometry, assertVariants, fitJobSize } from '../../../daemon/tasks/job-size.ts';
import { maskToHole, padReflect, reflectIndex, rgbaToTensor, tensorToRgba } from '../../../daemon/tensor-image.ts';
import { circleMask, patternImage, rectMask } from './test-images.ts';

const G = { workingSize: 64, sizeMultiple: 8 };

describe('mask morphology', () => {
  it('dilates and erodes round, by the exact Euclidean radius', () => {
    const dot = createMask(41, 41);
    dot.data[20 * 41 + 20] = 255;
    const d = dilateMask(dot, 10);
    expect(d.data[20 * 41 + 30]).toBe(255); // 10 px right
    expect(d.data[20 * 41 + 31]).toBe(0);
    expect(d.data[(20 + 7) * 41 + 27]).toBe(255); // √98 ≈ 9.9
    expect(d.data[(20 + 8) * 41 + 28]).toBe(0); // √128 ≈ 11.3: round, not square
    const disc = circleMask(41, 41, 20, 20, 12);
    const e = erodeMask(disc, 4);
    expect(maskBounds(e)).toEqual(maskBounds(circleMask(41, 41, 20, 20, 8)));
  });

  it('does not erode from the image border', () => {
    const full = rectMask(20, 10, { x: 0, y: 0, width: 20, height: 10 });
    expect(erodeMask(full, 3).data.every((v) => v === 255)).toBe(true);
  });
});

describe('maskToHole', () => {
  it('keeps a 1-px stroke when shrinking 8×, and marks nothing where the mask is empty', () => {
    const m = rectMask(256, 256, { x: 100, y: 0, width: 1, height: 256 });
    const hole = maskToHole(m, 32, 32);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) expect(hole[y * 32 + x]).toBe(x === 12 ? 1 : 0);
    }
  });
});

describe('fitJobSize', () => {
  it('keeps the aspect, rounds to the multiple and bounds the area', () => {
    expect(fitJobSize(1000, 1000, G)).toEqual({ width: 64, height: 64 });
    expect(fitJobSize(300, 200, G)).toEqual({ width: 80, height: 56 });
    for (const [w, h] of [[10000, 3], [7, 5000], [33, 17]] as const) {
      const j = fitJobSize(w, h, G);
      expect(j.width % 8 + (j.height % 8)).toBe(0);
      expect(j.width * j.height).toBeLessThanOrEqual(1.25 * 64 * 64);
    }
  });

  it('trims only the long side of a thin region, to the largest multiple within 1.25 × workingSize²', () => {
    // 5120 = 1.25 · 64²: 640 × 8 fits exactly (a bound reached, not passed), 648 × 8 would not.
    expect(fitJobSize(10000, 10, G)).toEqual({ width: 640, height: 8 });
    expect(fitJobSize(10, 10000, G)).toEqual({ width: 8, height: 640 });
  });
});

describe('assertGeometry', () => {
  it('refuses a geometry that is not integer workingSize ≥ sizeMultiple ≥ 1, and accepts its bounds', () => {
    for (const g of [
      { workingSize: 64.5, sizeMultiple: 8 }, { workingSize: 64, sizeMultiple: 8.5 }, { workingSize: 64, sizeMultiple: 0 },
      { workingSize: 7, sizeMultiple: 8 }, { workingSize: Number.NaN, sizeMultiple: 8 },
    ]) {
      expect(() => assertGeometry(g), JSON.stringify(g)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => assertGeometry({ workingSize: 8, sizeMultiple: 8 })).not.toThrow();
    expect(() => assertGeometry({ workingSize: 1, sizeMultiple: 1 })).not.toThrow();
    expect(() => assertGeometry({ workingSize: 7, sizeMultiple: 8 })).toThrow(
      'model geometry needs integer workingSize ≥ sizeMultiple ≥ 1, got 7 and 8',
    );
  });
});

describe('assertVariants', () => {
  it('refuses a variant count that is not a positive integer, saying which', () => {
    for (const v of [0, -1, 1.5, Number.NaN]) {
      expect(() => assertVariants(v), String(v)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `variants must be a positive integer, got ${v}` }),
      );
    }
    expect(() => assertVariants(1)).not.toThrow();
  });
});

describe('contextCrop', () => {
  it('is square-ish, inside the image, holds the hole and its band, and matches the job aspect', () => {
    const focus = { x: 900, y: 20, width: 80, height: 40 };
    const include = { x: 890, y: 10, width: 100, height: 60 };
    const { crop, job } = contextCrop({ focus, include, image: { width: 1000, height: 600 }, geometry: G, padding: 0.5 });
    expect(containsRect(crop, include)).toBe(true);
    expect(containsRect({ x: 0, y: 0, width: 1000, height: 600 }, crop)).toBe(true);
    expect(crop.width).toBe(crop.height);
    expect(crop.width / crop.height).toBeCloseTo(job.width / job.height, 1);
  });

  it('a crop cut by the image edge is widened along the free side to the job aspect (wide and tall images)', () => {
    // 1000×50: the padded square cannot be 80 tall, so the job is 80×48 and the crop grows to 83×50.
    const wide = contextCrop({ focus: { x: 480, y: 5, width: 40, height: 40 }, include: { x: 480, y: 5, width: 40, height: 40 }, image: { width: 1000, height: 50 }, geometry: G, padding: 0.5 });
    expect(wide.job).toEqual({ width: 80, height: 48 });
    expect(wide.crop).toMatchObject({ y: 0, width: 83, height: 50 });
    const tall = contextCrop({ focus: { x: 5, y: 480, width: 40, height: 40 }, include: { x: 5, y: 480, width: 40, height: 40 }, image: { width: 50, height: 1000 }, geometry: G, padding: 0.5 });
    expect(tall.job).toEqual({ width: 48, height: 80 });
    expect(tall.crop).toMatchObject({ x: 0, width: 50, height: 83 });
  });

  it('pads the focus by `padding` times its size on each side', () => {
    const focus = { x: 900, y: 900, width: 200, height: 100 };
    const crop = (padding: number) => contextCrop({ focus, include: focus, image: { width: 3000, height: 3000 }, geometry: G, padding }).crop;
    // 0.5: 200 + 2·100 = 400 wide, 100 + 2·50 = 200 tall → a 400-px square (the long side) around the focus.
    expect(crop(0.5)).toEqual({ x: 800, y: 750, width: 400, height: 400 });
    expect(crop(1)).toEqual({ x: 700, y: 650, width: 600, height: 600 });
  });

  it('takes at least the working size around a tiny hole', () => {
    const focus = { x: 500, y: 300, width: 4, height: 4 };
    const { crop } = contextCrop({ focus, include: focus, image: { width: 1000, height: 600 }, geometry: G, padding: 0.5 });
    expect(crop.width).toBeGreaterThanOrEqual(64);
    expect(crop.height).toBeGreaterThanOrEqual(64);
  });
});

describe('pixels and tensors', () => {
  it('round-trips RGBA through [-1, 1] tensors', () => {
    const img = patternImage(13, 7);
    const t = new Float32Array(3 * 13 * 7);
    rgbaToTensor(img, t);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...t)).toBeLessThanOrEqual(1);
    expect(tensorToRgba(t, 13, 7).data).toEqual(img.data);
  });

  it('reflects without repeating the edge', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => reflectIndex(i, 3))).toEqual([0, 1, 2, 1, 0, 1, 2]);
    const padded = padReflect(patternImage(5, 3), 8, 8);
    expect(padded.width * padded.height).toBe(64);
  });

  it('recombines luma and chroma, desaturating instead of clipping out of gamut', () => {
    const out = new Uint8Array(3);
    ycbcrToRgb(240, 100, -100, out, 0);
    expect(Math.abs(luma601(out[0]!, out[1]!, out[2]!) - 240)).toBeLessThanOrEqual(1);
    ycbcrToRgb(lumaExact(10, 200, 30), ...chroma601(10, 200, 30), out, 0);
    expect([...out]).toEqual([10, 200, 30]); // in gamut: exact inverse
  });

  it('composites straight alpha, leaving alpha-0 pixels bit-exact', () => {
    const base = patternImage(4, 4);
    const layer = { ...patternImage(2, 2, 7), x: 1, y: 1 };
    layer.data[3] = 0;
    const out = compositeLayer(base, layer);
    expect(out.data.subarray(20, 24)).toEqual(base.data.subarray(20, 24)); // (1,1): alpha 0
    expect(out.data.subarray(24, 28)).toEqual(layer.data.subarray(4, 8)); // (2,1): opaque
  });
});
