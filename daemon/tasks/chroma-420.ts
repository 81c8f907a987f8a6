/**
 * The JPEG constraint on subsampled (4:2:0) chroma. An IJG encoder averages each 2×2 block of Cb and
 * Cr, then DCT-quantizes the half-resolution planes in 8×8 blocks (16×16 pixels); the decoder
 * dequantizes and upsamples with libjpeg's "fancy" triangle filter (¾, ¼ per axis). So the decoded
 * chroma fixes, for every 16×16 patch, the half-resolution coefficients to within half a step — the
 * colour counterpart of jpeg-consistency.ts's luminance set, which cannot see it at full resolution.
 *
 * Reading the constraint back: the 2×2 mean of the triangle-upsampled plane is the half-resolution
 * plane blurred by [1, 6, 1]/8 per axis (edges repeated); undoing that blur (a tridiagonal solve per
 * row and column) and a DCT give coefficients within decoding noise (a few levels) of multiples of the IJG
 * chroma steps, which are snapped to them. When they do not sit on that lattice (another subsampling,
 * non-IJG tables, or colour edited since decoding) there is no constraint, and nothing is refined.
 */
import { chroma601 } from '../pixels.ts';
import { dct2, idct2, ijgTable } from './jpeg-consistency.ts';
import type { RgbaImage } from './types.ts';

const B = 8;
const COEFFICIENTS = B * B;
/** Steps this fine are lost in decoding noise: their coefficients are not constrained (nor checked). */
const MIN_CHECKED_STEP = 8;
/**
 * How far from a multiple of its step a coefficient may sit and still count as on the lattice: the
 * decoder's 8-bit rounding and RGB clamping, amplified by the unblur, put real JPEGs' coefficients up
 * to ~5 off (median 1.6 at q10 with sharp's mozjpeg and libjpeg-turbo's decoder); a coefficient off
 * the lattice lands this close by chance with probability 0.3 or less.
 */
const latticeTolerance = (step: number) => Math.max(2, 0.15 * step);
/**
 * The share of checked coefficients that must sit on the lattice, halfway between what was measured:
 * real JPEGs (Pillow's libjpeg and sharp's, 160×120 to 320×256) 0.87–0.94 from quality 5 to 40; the
 * same photo never compressed 0.26, a q10 JPEG desaturated by 30 % 0.10. The former 0.9 missed
 * qualities 26–34 and skipped their refinement, which brings the colour closer there as at q10–25.
 */
const LATTICE_FRACTION = 0.75;

/** A full-resolution chroma plane. */
export type Plane = Float32Array | Float64Array;

export interface Chroma420Constraint {
  width: number;
  height: number;
  /** Half-resolution planes, padded to whole 8×8 blocks (edges repeated, as the encoder pads). */
  halfWidth: number;
  halfHeight: number;
  paddedWidth: number;
  paddedHeight: number;
  steps: Float64Array;
  /** Quantized coefficients of each half-resolution block, Cb then Cr: [blocks × 64] each. */
  coefficients: [Float64Array, Float64Array];
}

/** 2×2 means of a width×height plane (an odd last row or column averages the pixels it has). Exported for its tests. */
export function halve(plane: Plane, width: number, height: number): Float64Array {
  const hw = Math.ceil(width / 2);
  const hh = Math.ceil(height / 2);
  const out = new Float64Array(hw * hh);
  for (let y = 0; y < hh; y++) {
    for (let x = 0; x < hw; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const fx = 2 * x + dx;
          const fy = 2 * y + dy;
          if (fx < width && fy < height) {
            sum += plane[fy * width + fx]!;
            n++;
          }
        }
      }
      out[y * hw + x] = sum / n;
    }
  }
  return out;
}

/**
 * Solves (blur ∗ a = m) in place along one axis for every line: blur = [1, 6, 1]/8 with the end
 * samples repeated (so the end rows of the matrix are [7, 1]/8 and [1, 7]/8). Thomas algorithm.
 * Line l's sample i is m[l·lineStride + i·stride]. Exported for its tests.
 */
export function unblur(m: Float64Array, count: number, stride: number, lines: number, lineStride: number): void {
  const c = new Float64Array(count);
  const d = new Float64Array(count);
  for (let line = 0; line < lines; line++) {
    const at = (i: number) => line * lineStride + i * stride;
    if (count === 1) continue; // blur of one sample repeated is the sample
    for (let i = 0; i < count; i++) {
      const diag = i === 0 || i === count - 1 ? 7 / 8 : 6 / 8;
      const below = i === 0 ? 0 : 1 / 8;
      const above = i === count - 1 ? 0 : 1 / 8;
      const denom = diag - below * (i > 0 ? c[i - 1]! : 0);
      c[i] = above / denom;
      d[i] = (m[at(i)]! - below * (i > 0 ? d[i - 1]! : 0)) / denom;
    }
    for (let i = count - 1; i >= 0; i--) m[at(i)] = d[i]! - c[i]! * (i < count - 1 ? m[at(i + 1)]! : 0);
  }
}

/** The 8×8 block (bx, by) of a half plane, edges repeated past it. */
function readHalfBlock(half: Float64Array, hw: number, hh: number, bx: number, by: number, out: Float64Array): void {
  for (let y = 0; y < B; y++) {
    const row = Math.min(by * B + y, hh - 1) * hw;
    for (let x = 0; x < B; x++) out[y * B + x] = half[row + Math.min(bx * B + x, hw - 1)]!;
  }
}

/** Cb and Cr planes (centred on 0) of an RGBA image or of [3,H,W] planes in [-1, 1]. */
export function chromaPlanes(rgb: (p: number, c: number) => number, n: number): [Float64Array, Float64Array] {
  const cb = new Float64Array(n);
  const cr = new Float64Array(n);
  for (let p = 0; p < n; p++) [cb[p], cr[p]] = chroma601(rgb(p, 0), rgb(p, 1), rgb(p, 2));
  return [cb, cr];
}

/**
 * The 4:2:0 constraint of a decoded IJG JPEG of this quality, or undefined if its chroma does not
 * sit on that lattice (then the chroma was not stored that way, or was changed since).
 */
export function chroma420Constraint(image: RgbaImage, quality: number): Chroma420Constraint | undefined {
  const { width, height, data } = image;
  const halfWidth = Math.ceil(width / 2);
  const halfHeight = Math.ceil(height / 2);
  const blocksX = Math.ceil(halfWidth / B);
  const blocksY = Math.ceil(halfHeight / B);
  const steps = ijgTable(quality, true);
  const planes = chromaPlanes((p, c) => data[p * 4 + c]!, width * height);
  const coefficients = planes.map(() => new Float64Array(blocksX * blocksY * COEFFICIENTS)) as [Float64Array, Float64Array];
  const block = new Float64Array(COEFFICIENTS);
  const tmp = new Float64Array(COEFFICIENTS);
  let checked = 0;
  let onLattice = 0;
  planes.forEach((plane, c) => {
    const half = halve(plane, width, height);
    unblur(half, halfWidth, 1, halfHeight, halfWidth); // along x, per row
    unblur(half, halfHeight, halfWidth, halfWidth, 1); // along y, per column
    for (let by = 0; by < blocksY; by++) {
      for (let bx = 0; bx < blocksX; bx++) {
        readHalfBlock(half, halfWidth, halfHeight, bx, by, block);
        dct2(block, tmp);
        const out = coefficients[c]!.subarray((by * blocksX + bx) * COEFFICIENTS);
        for (let k = 0; k < COEFFICIENTS; k++) {
          const q = steps[k]!;
          const snapped = q * Math.round(block[k]! / q);
          // Only coefficients that quantized to non-zero say anything about the lattice (0 fits all).
          if (q >= MIN_CHECKED_STEP && snapped !== 0) {
            checked++;
            if (Math.abs(block[k]! - snapped) <= latticeTolerance(q)) onLattice++;
          }
          out[k] = q >= MIN_CHECKED_STEP ? snapped : block[k]!;
        }
      }
    }
  });
  if (checked < 16 || onLattice < LATTICE_FRACTION * checked) return undefined;
  return { width, height, halfWidth, halfHeight, paddedWidth: blocksX * B, paddedHeight: blocksY * B, steps, coefficients };
}

/**
 * Projects full-resolution Cb and Cr planes (in place) onto the constraint: each half-resolution
 * block's coefficients of their 2×2 means clamped to the JPEG's ± half a step, and the change spread
 * evenly over each 2×2 block (the smallest change that moves the 2×2 mean where it must go).
 */
export function projectChroma420(planes: [Plane, Plane], constraint: Chroma420Constraint): void {
  const { width, height, halfWidth: hw, halfHeight: hh, steps } = constraint;
  const blocksX = constraint.paddedWidth / B;
  const blocksY = constraint.paddedHeight / B;
  const block = new Float64Array(COEFFICIENTS);
  const tmp = new Float64Array(COEFFICIENTS);
  planes.forEach((plane, c) => {
    const half = halve(plane, width, height);
    const reference = constraint.coefficients[c]!;
    for (let by = 0; by < blocksY; by++) {
      for (let bx = 0; bx < blocksX; bx++) {
        readHalfBlock(half, hw, hh, bx, by, block);
        dct2(block, tmp);
        const ref = reference.subarray((by * blocksX + bx) * COEFFICIENTS);
        let changed = false;
        for (let k = 0; k < COEFFICIENTS; k++) {
          const h = steps[k]! / 2;
          const v = block[k]!;
          const clamped = Math.min(ref[k]! + h, Math.max(ref[k]! - h, v));
          block[k] = clamped - v;
          if (clamped !== v) changed = true;
        }
        if (!changed) continue;
        idct2(block, tmp); // the change, in half-resolution samples
        for (let y = 0; y < B; y++) {
          for (let x = 0; x < B; x++) {
            const delta = block[y * B + x]!;
            for (let dy = 0; dy < 2; dy++) {
              for (let dx = 0; dx < 2; dx++) {
                const fx = 2 * (bx * B + x) + dx;
                const fy = 2 * (by * B + y) + dy;
                if (fx < width && fy < height) plane[fy * width + fx] = plane[fy * width + fx]! + delta;
              }
            }
          }
        }
      }
    }
  });
}
