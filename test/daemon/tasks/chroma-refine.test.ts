import { describe, expect, it } from 'vitest';
import { chroma420Constraint, chromaPlanes, projectChroma420 } from '../../../daemon/tasks/chroma-420.ts';
import { boxMean, chromaRefinement, chromaRefineRadius, refineChroma, type ChromaRefinement } from '../../../daemon/tasks/chroma-refine.ts';
import { estimateQuantization } from '../../../daemon/tasks/jpeg-consistency.ts';
import { runRestore } from '../../../daemon/tasks/restore.ts';
import type { RgbaImage } from '../../../daemon/tasks/types.ts';
import { fakeRun, identityModel } from './fake-run.ts';
import { fixturePhoto, jpeg, scene } from './jpeg-images.ts';

/** [3,H,W] in [-1, 1] from RGBA. */
function toPlanes(image: RgbaImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 4 + c]! / 127.5 - 1;
  return out;
}

function fromPlanes(planes: Float32Array, like: RgbaImage): RgbaImage {
  const n = like.width * like.height;
  const data = new Uint8Array(like.data);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.max(0, Math.min(255, Math.round((planes[c * n + p]! + 1) * 127.5)));
  return { width: like.width, height: like.height, data };
}

/** Mean |Cb − Cb′| + |Cr − Cr′| between two images, in 8-bit levels. */
function chromaError(a: RgbaImage, b: RgbaImage): number {
  const n = a.width * a.height;
  const [cbA, crA] = chromaPlanes((p, c) => a.data[p * 4 + c]!, n);
  const [cbB, crB] = chromaPlanes((p, c) => b.data[p * 4 + c]!, n);
  let sum = 0;
  for (let p = 0; p < n; p++) sum += Math.abs(cbA[p]! - cbB[p]!) + Math.abs(crA[p]! - crB[p]!);
  return sum / n;
}

function psnr(a: RgbaImage, b: RgbaImage): number {
  let se = 0;
  const n = a.width * a.height;
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) se += (a.data[p * 4 + c]! - b.data[p * 4 + c]!) ** 2;
  return 10 * Math.log10((255 * 255 * 3 * n) / se);
}

/** The photo's top 160×112 (half-resolution chroma 80×56: whole 8×8 blocks, no edge padding). */
async function wholeBlockPhoto(): Promise<RgbaImage> {
  const photo = await fixturePhoto();
  return { width: 160, height: 112, data: photo.data.slice(0, 160 * 112 * 4) };
}

async function q10(original: RgbaImage): Promise<{ image: RgbaImage; refinement: ChromaRefinement }> {
  const image = await jpeg(original, 10);
  const refinement = chromaRefinement(image, estimateQuantization(image));
  if (!refinement) throw new Error('no refinement for a 4:2:0 q10 JPEG');
  return { image, refinement };
}

describe('chromaRefineRadius', () => {
  it('caps the radius for small pictures (mostly downscaled, denser detail): 1/32 of the shorter side', async () => {
    const big = await jpeg(scene(320, 256), 10);
    expect(chromaRefinement(big, estimateQuantization(big))?.radius).toBe(8);
  });

  it('refines 4:2:0 chroma of low-quality JPEGs only: 8 px to q15, 6 at q20, 4 at q30, none at q50', async () => {
    const radii = [];
    for (const quality of [5, 10, 20, 30, 50]) radii.push(chromaRefineRadius(estimateQuantization(await jpeg(scene(192, 160), quality, '4:2:0'))));
    expect(radii).toEqual([8, 8, 6, 4, 0]);
  });

  it('stops above quality 35 and for chroma stored at full resolution, whatever the quality', () => {
    const tables = (quality: number | undefined, chromaLattice: boolean) => ({ steps: [new Float64Array(64), new Float64Array(64), new Float64Array(64)], quality, chromaLattice }) as Parameters<typeof chromaRefineRadius>[0];
    expect(chromaRefineRadius(tables(35, false))).toBe(4);
    expect(chromaRefineRadius(tables(36, false))).toBe(0);
    expect(chromaRefineRadius(tables(10, true))).toBe(0);
    expect(chromaRefineRadius(tables(undefined, false))).toBe(0);
  });
});

describe('boxMean', () => {
  it('is the mean of the pixels inside each (2r+1)² window, clipped at every edge', () => {
    const [width, height] = [7, 5];
    const src = Float32Array.from({ length: width * height }, (_, i) => Math.sin(i * 1.7) * 10 + i);
    for (const r of [1, 2, 4, 9]) {
      const out = new Float32Array(width * height);
      boxMean(src, width, height, r, new Float32Array(width * height), out);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let sum = 0;
          let n = 0;
          for (let v = Math.max(0, y - r); v <= Math.min(height - 1, y + r); v++) {
            for (let u = Math.max(0, x - r); u <= Math.min(width - 1, x + r); u++) {
              sum += src[v * width + u]!;
              n++;
            }
          }
          expect(out[y * width + x], `r ${r} at ${x},${y}`).toBeCloseTo(sum / n, 4);
        }
      }
    }
  });
});

describe('chromaRefinement', () => {
  it('applies to 4:2:0 JPEGs only: not to chroma at full resolution, nor to pictures that were never JPEGs', async () => {
    const photo = await fixturePhoto();
    const subsampled = await jpeg(photo, 10, '4:2:0');
    expect(chromaRefinement(subsampled, estimateQuantization(subsampled))?.radius).toBe(4); // 8, capped at 120/32
    const full = await jpeg(photo, 10, '4:4:4');
    const fullTables = estimateQuantization(full);
    expect(fullTables.chromaLattice).toBe(true);
    expect(chromaRefinement(full, fullTables)).toBeUndefined();
    expect(chromaRefinement(photo, estimateQuantization(photo))).toBeUndefined();
    const q40 = await jpeg(photo, 40, '4:2:0');
    expect(chroma420Constraint(q40, 40)).toBeDefined(); // on the 4:2:0 lattice, but …
    expect(chromaRefinement(q40, estimateQuantization(q40))).toBeUndefined(); // … above quality 35: radius 0
  });

  it("finds no 4:2:0 set once a JPEG's colour has been edited (the luminance still says q10)", async () => {
    const image = await jpeg(await fixturePhoto(), 10);
    const n = image.width * image.height;
    const edited = toPlanes(image);
    // Desaturate by 30 % keeping each pixel's luma: the chroma leaves the file's lattice.
    for (let p = 0; p < n; p++) {
      const y = 0.299 * edited[p]! + 0.587 * edited[n + p]! + 0.114 * edited[2 * n + p]!;
      for (let c = 0; c < 3; c++) edited[c * n + p] = y + 0.7 * (edited[c * n + p]! - y);
    }
    const editedImage = fromPlanes(edited, image);
    const tables = estimateQuantization(editedImage);
    expect(tables.quality).toBeGreaterThan(5);
    expect(chroma420Constraint(image, 10)).toBeDefined();
    expect(chromaRefinement(editedImage, tables)).toBeUndefined();
  });
});

describe('projectChroma420', () => {
  it('leaves the decoded JPEG where it is and is idempotent: grey chroma projected twice moves only once', async () => {
    const image = await jpeg(await wholeBlockPhoto(), 10);
    const n = image.width * image.height;
    const constraint = chroma420Constraint(image, 10)!;
    expect(constraint).toBeDefined();
    const own = chromaPlanes((p, c) => image.data[p * 4 + c]!, n);
    const copy = own.map((plane) => Float64Array.from(plane));
    projectChroma420(own, constraint);
    const moved = (a: Float64Array[], b: Float64Array[]) => Math.max(...a.map((plane, c) => Math.max(...plane.map((v, p) => Math.abs(v - b[c]![p]!)))));
    expect(moved(own, copy)).toBeLessThan(1.5); // decoding's rounding only
    const grey: [Float64Array, Float64Array] = [new Float64Array(n), new Float64Array(n)];
    projectChroma420(grey, constraint);
    const once = grey.map((plane) => Float64Array.from(plane));
    expect(moved(once, [new Float64Array(n), new Float64Array(n)])).toBeGreaterThan(10);
    projectChroma420(grey, constraint);
    expect(moved(grey, once)).toBeLessThan(1e-6);
  });
});

describe('refineChroma', () => {
  it("keeps every pixel's luminance and changes only the colour", async () => {
    const { image, refinement } = await q10(await fixturePhoto());
    const n = image.width * image.height;
    const planes = toPlanes(image);
    const before = Float32Array.from(planes);
    refineChroma(planes, image.width, image.height, refinement);
    let worstLuma = 0;
    let moved = 0;
    for (let p = 0; p < n; p++) {
      const luma = (x: Float32Array) => 0.299 * x[p]! + 0.587 * x[n + p]! + 0.114 * x[2 * n + p]!;
      worstLuma = Math.max(worstLuma, Math.abs(luma(planes) - luma(before)) * 127.5);
      moved = Math.max(moved, Math.abs(planes[p]! - before[p]!) * 127.5);
    }
    expect(worstLuma).toBeLessThan(1e-3);
    expect(moved).toBeGreaterThan(5);
  });

  it("pulls a q10 JPEG's bled colour back onto the luminance edges of a photo: closer to the original", async () => {
    const original = await fixturePhoto();
    const { image, refinement } = await q10(original);
    const planes = toPlanes(image);
    refineChroma(planes, image.width, image.height, refinement);
    const refined = fromPlanes(planes, image);
    expect(chromaError(refined, original)).toBeLessThan(0.99 * chromaError(image, original));
    expect(psnr(refined, original)).toBeGreaterThan(psnr(image, original) + 0.1);
  });
});

describe('restore refines subsampled chroma', () => {
  it("an identity model's restoration of a q10 JPEG has the original's colour closer than the JPEG, unless switched off", async () => {
    const original = await fixturePhoto();
    const image = await jpeg(original, 10);
    const G = { workingSize: 64, sizeMultiple: 8 };
    const refined = (await runRestore({ image }, G, fakeRun(identityModel).run, 1)).layers[0]!;
    const off = (await runRestore({ image, options: { chromaRefine: false } }, G, fakeRun(identityModel).run, 1)).layers[0]!;
    expect(chromaError(refined, original)).toBeLessThan(0.99 * chromaError(image, original));
    expect(psnr(refined, original)).toBeGreaterThan(psnr(off, original) + 0.1);
    expect(chromaError(off, image)).toBeLessThan(1);
    expect(chromaError(refined, image)).toBeGreaterThan(chromaError(off, image) + 0.3);
  });
});
