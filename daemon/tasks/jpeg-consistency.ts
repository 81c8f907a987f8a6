/**
 * JPEG consistency for restoration: a decoded JPEG already fixes every 8×8 block's DCT coefficients
 * to within half a quantization step of the original photo's, so a restored image should never leave
 * that set (Yang et al.'s projection onto the quantization constraint set). The restore task applies
 * `projectOntoJpeg` to each sampling estimate and to the final image: the model may only add what
 * compression took away, never shift colours or move edges the JPEG still holds.
 *
 * The quantization tables are not in the pixels we get (the editor hands over decoded RGBA), so they are
 * estimated: a quantized coefficient of a decoded block sits within rounding noise of a multiple of its
 * step q, so for each frequency the largest q that explains most of the blocks' coefficients is q.
 * Frequencies the blocks never use (all ≈ 0, the usual case for high frequencies at low quality) take
 * the standard (IJG / Annex K) table scaled to the quality that fits the measured steps; when that
 * table is within 4 % of most measured steps (libjpeg's, Pillow's, sharp's default), it is the file's
 * and replaces all 64 (a few measured steps fit noise), otherwise (mozjpeg's tables, other encoders')
 * the measured steps stay. Chroma that
 * shows no lattice (subsampled 4:2:0, as most JPEGs are) keeps the input's coefficients: with nothing
 * known about its quantization, the safe choice is the input's colour. Luminance with no lattice at all
 * (not a JPEG, or resized since) gets the quality-75 table: mild clean-up, block means kept.
 *
 * Colour: JFIF's full-range BT.601 Y'CbCr, samples level-shifted by 128, the orthonormal 8×8 DCT-II
 * (equal to JPEG's FDCT). The block grid starts at the image's top-left pixel, as the encoder's did.
 */
import { chroma601, lumaExact } from '../pixels.ts';
import type { Rect } from '../rect.ts';
import type { RgbaImage } from './types.ts';

const B = 8;
const COEFFICIENTS = B * B;

/** c(u)·cos((2x+1)uπ/16), row u, column x: the orthonormal 1-D DCT-II of length 8. */
const BASIS = (() => {
  const m = new Float64Array(COEFFICIENTS);
  for (let u = 0; u < B; u++) {
    const cu = u === 0 ? Math.sqrt(1 / B) : Math.sqrt(2 / B);
    for (let x = 0; x < B; x++) m[u * B + x] = cu * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * B));
  }
  return m;
})();

/** The standard tables of JPEG's Annex K (row = vertical frequency), luminance then chrominance. */
const ANNEX_K_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const ANNEX_K_CHROMA = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array<number>(32).fill(99),
];

/** The IJG library's table for a quality 1…100 (libjpeg's jpeg_set_quality, baseline: steps ≤ 255). */
export function ijgTable(quality: number, chroma: boolean): Float64Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  // libjpeg's jpeg_quality_scaling divides in integers: 5000 / 28 is 178, not 178.57 (which moved the
  // larger steps of qualities 26–49 by one and hid their 4:2:0 chroma lattice).
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  const base = chroma ? ANNEX_K_CHROMA : ANNEX_K_LUMA;
  return Float64Array.from(base, (t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
}

/** Quantization steps per channel (Y', Cb, Cr) and frequency (row-major, 64 each). */
export interface JpegQuantization {
  steps: [Float64Array, Float64Array, Float64Array];
  /**
   * The IJG quality that fits the measured luminance steps, when one does: its table exactly (then the
   * steps above are that table), or within 10 % (another encoder's table: an equivalent quality).
   */
  quality?: number;
  /**
   * Whether the chroma showed its own lattice (stored at full resolution, 4:4:4). false: subsampled
   * (4:2:0, most JPEGs), so its steps above keep the input and chroma-refine.ts may refine it.
   */
  chromaLattice: boolean;
}

/** 2-D DCT of an 8×8 block in place (row-major, 64; `tmp` 64): rows (horizontal frequencies), then columns. */
export function dct2(block: Float64Array, tmp: Float64Array): void {
  transform(block, tmp, false);
}

export function idct2(block: Float64Array, tmp: Float64Array): void {
  transform(block, tmp, true);
}

function transform(block: Float64Array, tmp: Float64Array, inverse: boolean): void {
  // Pass 1 along x (within each row), pass 2 along y (within each column); the inverse uses BASISᵀ.
  for (let y = 0; y < B; y++) {
    for (let u = 0; u < B; u++) {
      let s = 0;
      for (let x = 0; x < B; x++) s += (inverse ? BASIS[x * B + u]! : BASIS[u * B + x]!) * block[y * B + x]!;
      tmp[y * B + u] = s;
    }
  }
  for (let x = 0; x < B; x++) {
    for (let v = 0; v < B; v++) {
      let s = 0;
      for (let y = 0; y < B; y++) s += (inverse ? BASIS[y * B + v]! : BASIS[v * B + y]!) * tmp[y * B + x]!;
      block[v * B + x] = s;
    }
  }
}

/** RGB in 0…255 → level-shifted Y'CbCr (JFIF: pixels.ts's full-range BT.601 luma and chroma). */
function toYcc(r: number, g: number, b: number, out: Float64Array, i: number): void {
  const [cb, cr] = chroma601(r, g, b);
  out[i] = lumaExact(r, g, b) - 128;
  out[COEFFICIENTS + i] = cb;
  out[2 * COEFFICIENTS + i] = cr;
}

/**
 * The three level-shifted Y'CbCr planes of the 8×8 block whose top-left pixel is (bx, by), read from
 * `pixel(x, y, c)` (0…255); pixels past the image edge repeat the last row or column, as an encoder pads.
 */
function readBlock(
  pixel: (x: number, y: number, c: number) => number,
  bx: number,
  by: number,
  width: number,
  height: number,
  out: Float64Array,
): void {
  for (let y = 0; y < B; y++) {
    const py = Math.min(by + y, height - 1);
    for (let x = 0; x < B; x++) {
      const px = Math.min(bx + x, width - 1);
      toYcc(pixel(px, py, 0), pixel(px, py, 1), pixel(px, py, 2), out, y * B + x);
    }
  }
}

/** Coefficients of the three planes of a block (3×64, in place), using `tmp` (64). */
function blockCoefficients(planes: Float64Array, tmp: Float64Array): void {
  for (let c = 0; c < 3; c++) dct2(planes.subarray(c * COEFFICIENTS, (c + 1) * COEFFICIENTS), tmp);
}

const MAX_STEP = 255;
const MIN_LATTICE_STEP = 4; // below this, rounding noise hides the lattice (and such a step barely matters)
const INFORMATIVE = 2.5; // |coefficient| above decoding noise
const MIN_INFORMATIVE = 16;
const FIT_FRACTION = 0.85;
const SAMPLES_PER_FREQUENCY = 4096;
const ASSUMED_QUALITY = 75;

/**
 * Within decoding noise of a multiple of q: the decoder's IDCT and 8-bit rounding add about ±1, and
 * clipping at 0 and 255 (dark or bright blocks) moves a coefficient by up to a tenth of a large step.
 */
function latticeTolerance(q: number): number {
  return Math.max(1.5, 0.1 * q);
}

const MIN_NONZERO = 8;
const SUBSTANTIAL = 8; // |coefficient| no decoding noise reaches

/**
 * The largest step q ≥ 4 such that ≥ 85 % of the informative values lie within noise of a multiple of
 * q (zero included), and so do ≥ 85 % of the ≥ 8 that quantize to a non-zero multiple; 0 if the
 * frequency is unused (fewer than 8 values beyond noise: its step cannot be seen); 1 if it is used and
 * no q fits (not quantized coarser than rounding, or not a JPEG: keep the input). Exported for its tests.
 */
export function latticeStep(values: number[]): number {
  const informative = values.filter((v) => Math.abs(v) >= INFORMATIVE);
  if (informative.length < MIN_INFORMATIVE) return 0;
  if (informative.filter((v) => Math.abs(v) >= SUBSTANTIAL).length < MIN_NONZERO) return 0;
  for (let q = MAX_STEP; q >= MIN_LATTICE_STEP; q--) {
    const tol = latticeTolerance(q);
    let nonzero = 0;
    let nonzeroFits = 0;
    let fits = 0;
    const multiples = new Set<number>();
    for (const v of informative) {
      const multiple = Math.round(v / q);
      const fit = Math.abs(v - q * multiple) <= tol;
      if (fit) fits++;
      if (multiple !== 0) {
        nonzero++;
        if (fit) nonzeroFits++;
        if (fit) multiples.add(multiple);
      }
    }
    // Two different multiples at least: one value repeated (a flat image's DC) fits any divisor of it.
    const lattice = multiples.size >= 2 && nonzero >= MIN_NONZERO;
    if (lattice && nonzeroFits >= FIT_FRACTION * nonzero && fits >= FIT_FRACTION * informative.length) {
      return refineStep(informative, q);
    }
  }
  return 1;
}

/**
 * The tolerance lets steps a little above the true one fit too (84 for 80): of the steps within 20 %
 * below the largest fitting one, the one whose multiples lie closest to the values (median residual).
 */
function refineStep(values: number[], largest: number): number {
  let best = { q: largest, residual: Infinity };
  for (let q = largest; q >= Math.max(MIN_LATTICE_STEP, Math.ceil(largest / 1.2)); q--) {
    const residuals = values.filter((v) => Math.round(v / q) !== 0).map((v) => Math.abs(v - q * Math.round(v / q))).sort((a, b) => a - b);
    const residual = residuals[Math.floor(residuals.length / 2)] ?? Infinity;
    if (residual < best.residual) best = { q, residual };
  }
  return best.q;
}

const CLOSE = 0.04; // |log(measured / table)|
const RECOGNISED = 0.55; // of the measured steps within CLOSE of a table

/** How well the IJG table of one quality matches the measured steps (fitQuality). */
export interface QualityFit {
  quality: number;
  /**
   * How many of the measured frequencies (steps ≥ 4) there were, how many of them the table gives
   * exactly, and how many within 4 % (measured steps of a real JPEG often come out 1–3 % low).
   */
  used: number;
  exact: number;
  close: number;
  /** The median |log(measured / table)| over them. */
  error: number;
}

/**
 * The IJG quality whose table best matches the measured steps, if it matches well. Best: the most
 * frequencies measured exactly (neighbouring qualities differ by one step at a few frequencies only),
 * then the smallest median log error, then the highest quality; well: that median under 0.1 (±10 %). The median, because a few
 * frequencies measure wrong (a step fitted to clipping noise); a standard table is then right at all 64.
 * Exported for its tests.
 */
export function fitQuality(measured: Float64Array, chroma: boolean): QualityFit | undefined {
  let best: QualityFit | undefined;
  const used = Array.from(measured.keys()).filter((k) => measured[k]! >= MIN_LATTICE_STEP);
  if (used.length < 4) return undefined;
  for (let quality = 1; quality <= 100; quality++) {
    const table = ijgTable(quality, chroma);
    const exact = used.filter((k) => measured[k] === table[k]).length;
    const errors = used.map((k) => Math.abs(Math.log(measured[k]!) - Math.log(table[k]!))).sort((x, y) => x - y);
    const error = errors[Math.floor(errors.length / 2)]!;
    // A tie goes to the higher quality: its smaller steps at the frequencies nobody measured keep the
    // restoration closer to the input (qualities 49–51 share the four lowest luminance steps).
    if (!best || exact > best.exact || (exact === best.exact && error <= best.error)) {
      best = { quality, used: used.length, exact, close: errors.filter((e) => e <= CLOSE).length, error };
    }
  }
  return best && best.error < 0.1 ? best : undefined;
}

/** Whether at least `minimum` frequencies measured a step of 8 or more: a JPEG's grid, not noise. Exported for its tests. */
export function showsLattice(measured: Float64Array, minimum: number): boolean {
  return measured.filter((q) => q >= 8).length >= minimum;
}

/**
 * Estimates the quantization of a decoded JPEG from its pixels (alpha ignored). Never throws: an image
 * with no visible lattice gets steps of 1 everywhere (the projection then keeps the input).
 */
export function estimateQuantization(image: RgbaImage): JpegQuantization {
  const { width, height, data } = image;
  const bw = Math.floor(width / B);
  const bh = Math.floor(height / B);
  const samples: number[][] = Array.from({ length: 3 * COEFFICIENTS }, () => []);
  const planes = new Float64Array(3 * COEFFICIENTS);
  const tmp = new Float64Array(COEFFICIENTS);
  const pixel = (x: number, y: number, c: number): number => data[(y * width + x) * 4 + c]!;
  // Spread the sampled blocks over the whole image: a stride so that at most ~SAMPLES blocks are read.
  const stride = Math.max(1, Math.floor((bw * bh) / SAMPLES_PER_FREQUENCY));
  for (let i = 0; i < bw * bh; i += stride) {
    readBlock(pixel, (i % bw) * B, Math.floor(i / bw) * B, width, height, planes);
    blockCoefficients(planes, tmp);
    for (let k = 0; k < 3 * COEFFICIENTS; k++) samples[k]!.push(planes[k]!);
  }
  const measured = [0, 1, 2].map((c) => Float64Array.from({ length: COEFFICIENTS }, (_, k) => latticeStep(samples[c * COEFFICIENTS + k]!)));
  const fit = fitQuality(measured[0]!, false);
  const quality = fit?.quality;
  // 4:4:4 chroma shows its lattice; 4:2:0 chroma, upsampled, at most at a few low frequencies.
  const chromaHasLattice = showsLattice(measured[1]!, 3) && showsLattice(measured[2]!, 3);
  const lumaHasLattice = showsLattice(measured[0]!, 4);
  // Recognised: the table is within 4 % of most measured steps (64–100 % of them for every libjpeg
  // JPEG tried: three pictures, 160×120 to 640×480, qualities 5–95, 4:2:0 and 4:4:4). A quality that
  // only comes within 10 % at the median (mozjpeg's other tables: at most 43 %) is not the file's
  // table, so its steps only fill in the frequencies that were never measured.
  const recognised = fit !== undefined && fit.close >= RECOGNISED * fit.used;
  const steps = measured.map((m, c) => {
    if (quality !== undefined && (c === 0 || chromaHasLattice)) {
      const table = ijgTable(quality, c > 0);
      // A standard table, recognised, is exact at every frequency (measured steps can be fitted to noise).
      if (recognised) return table;
      return Float64Array.from(m, (q, k) => (q === 0 ? table[k]! : q));
    }
    // No JPEG grid in the luminance (not a JPEG, or resized since): allow what a typical quality-75
    // JPEG would hide, so the model can still clean up mild artefacts without moving block means.
    if (c === 0 && !lumaHasLattice) return ijgTable(ASSUMED_QUALITY, false);
    // 0 = an unused frequency: with no table to go by, keep the input there (step 1).
    return Float64Array.from(m, (q) => (q > 0 ? q : 1));
  }) as [Float64Array, Float64Array, Float64Array];
  return quality === undefined ? { steps, chromaLattice: chromaHasLattice } : { steps, quality, chromaLattice: chromaHasLattice };
}

/**
 * Estimates ([B,3,h,w] in [-1, 1]) of part of an image, projected in place onto the JPEG constraint:
 * each block's coefficients clamped to the input's ± tightness·q/2 (+ ½ for the decoder's rounding).
 */
export interface JpegProjector {
  (x0: Float32Array): void;
}

export interface ProjectionTarget {
  /** The decoded JPEG. */
  input: RgbaImage;
  quantization: JpegQuantization;
  /** 1 = the whole quantization interval; smaller keeps closer to the input. */
  tightness: number;
  /** The image region the estimate covers: its top-left width×height of each [3,h,w] item. */
  region: Rect;
  /** The estimate's row width and height (≥ region; a tile padded to the model's multiple). */
  estimateWidth: number;
  estimateHeight: number;
  /**
   * Blocks the region only partly covers: 'skip' (a tile) leaves them to the final projection of the
   * whole image; 'pad' (the region MUST be the whole image) projects the blocks cut by the image edge
   * with their missing pixels repeated, as the encoder padded them.
   */
  partialBlocks: 'skip' | 'pad';
}

export function jpegProjector(target: ProjectionTarget): JpegProjector {
  const { input, quantization, tightness, region, estimateWidth: ew, estimateHeight: eh } = target;
  const half = quantization.steps.map((s) => Float64Array.from(s, (q) => (tightness * q) / 2 + 0.5));
  const inputPixel = (x: number, y: number, c: number): number => input.data[(y * input.width + x) * 4 + c]!;
  // The blocks of the image grid to project, with the input's coefficients computed once.
  const blocks: { bx: number; by: number; reference: Float64Array }[] = [];
  const tmp = new Float64Array(COEFFICIENTS);
  const right = region.x + region.width;
  const bottom = region.y + region.height;
  for (let by = Math.ceil(region.y / B) * B; by < bottom; by += B) {
    for (let bx = Math.ceil(region.x / B) * B; bx < right; bx += B) {
      // With 'pad' the region is the whole image, so a block not inside it is cut by the image edge.
      if (!(bx + B <= right && by + B <= bottom) && target.partialBlocks === 'skip') continue;
      const reference = new Float64Array(3 * COEFFICIENTS);
      readBlock(inputPixel, bx, by, input.width, input.height, reference);
      blockCoefficients(reference, tmp);
      blocks.push({ bx, by, reference });
    }
  }
  const planes = new Float64Array(3 * COEFFICIENTS);
  return (x0: Float32Array) => {
    const plane = ew * eh;
    const items = x0.length / (3 * plane);
    for (let b = 0; b < items; b++) {
      const base = b * 3 * plane;
      // Estimate pixel (image x, y) in 0…255; reads past the region repeat its last row or column.
      const lx = (x: number): number => Math.min(x - region.x, region.width - 1);
      const ly = (y: number): number => Math.min(y - region.y, region.height - 1);
      const pixel = (x: number, y: number, c: number): number => (x0[base + c * plane + ly(y) * ew + lx(x)]! + 1) * 127.5;
      for (const { bx, by, reference } of blocks) {
        readBlock(pixel, bx, by, right, bottom, planes);
        blockCoefficients(planes, tmp);
        for (let c = 0; c < 3; c++) {
          const h = half[c]!;
          for (let k = 0; k < COEFFICIENTS; k++) {
            const i = c * COEFFICIENTS + k;
            const lo = reference[i]! - h[k]!;
            const hi = reference[i]! + h[k]!;
            const v = planes[i]!;
            planes[i] = v < lo ? lo : v > hi ? hi : v;
          }
          idct2(planes.subarray(c * COEFFICIENTS, (c + 1) * COEFFICIENTS), tmp);
        }
        writeBlock(x0, base, plane, ew, planes, bx - region.x, by - region.y, Math.min(B, right - bx), Math.min(B, bottom - by));
      }
    }
  };
}

/** Y'CbCr planes of a block → RGB (about [-1, 1]) at (ox, oy) of one [3,h,w] item (w×h pixels of it). */
function writeBlock(x0: Float32Array, base: number, plane: number, ew: number, planes: Float64Array,
  ox: number, oy: number, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * B + x;
      const yy = planes[i]! + 128;
      const cb = planes[COEFFICIENTS + i]!;
      const cr = planes[2 * COEFFICIENTS + i]!;
      const p = base + (oy + y) * ew + ox + x;
      // pixels.ts's ycbcrToRgb is not used: it writes clamped bytes and pulls chroma toward grey.
      // Not clipped to [-1, 1] either: clipping would move the block off the set again; the 8-bit
      // result is clamped once at the end, and the samplers' next estimate is clipped as usual.
      x0[p] = (yy + 1.402 * cr) / 127.5 - 1;
      x0[plane + p] = (yy - 0.344136 * cb - 0.714136 * cr) / 127.5 - 1;
      x0[2 * plane + p] = (yy + 1.772 * cb) / 127.5 - 1;
    }
  }
}
