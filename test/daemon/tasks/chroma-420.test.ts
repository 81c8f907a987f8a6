import { describe, expect, it } from 'vitest';
import { chroma420Constraint, chromaPlanes, halve, projectChroma420, unblur } from '../../../daemon/tasks/chroma-420.ts';
import { dct2, ijgTable } from '../../../daemon/tasks/jpeg-consistency.ts';
import { fixturePhoto, jpeg, scene } from './jpeg-images.ts';

/** [1, 6, 1]/8 along one axis with the end samples repeated: what unblur must undo. */
function blur(v: number[]): number[] {
  return v.map((x, i) => (v[Math.max(0, i - 1)]! + 6 * x + v[Math.min(v.length - 1, i + 1)]!) / 8);
}

describe('halve', () => {
  it('takes 2×2 means, and at an odd last row or column the mean of the pixels there', () => {
    // 3×3: the last column and row have 2 pixels per mean, the corner 1.
    const plane = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(halve(plane, 3, 3))).toEqual([3, 4.5, 7.5, 9]);
    expect(Array.from(halve(Float64Array.from([1, 3, 5, 7, 9, 11]), 2, 3))).toEqual([4, 10]); // 2 wide, 3 high
  });
});

describe('unblur', () => {
  it.each([1, 2, 3, 8, 13])('inverts the [1, 6, 1]/8 blur with repeated ends on %i samples, line by line', (count) => {
    const lines = [0, 1, 2].map((l) => Array.from({ length: count }, (_, i) => Math.sin(3 * i + l) * 40 + l));
    // Along rows (stride 1, lineStride count) …
    const rows = Float64Array.from(lines.flatMap(blur));
    unblur(rows, count, 1, 3, count);
    lines.flat().forEach((v, i) => expect(rows[i]).toBeCloseTo(v, 9));
    // … and along columns (the same lines stored as the columns of a count × 3 plane).
    const cols = new Float64Array(3 * count);
    lines.forEach((line, l) => blur(line).forEach((v, i) => (cols[i * 3 + l] = v)));
    unblur(cols, count, 3, 3, 1);
    lines.forEach((line, l) => line.forEach((v, i) => expect(cols[i * 3 + l]).toBeCloseTo(v, 9)));
  });
});

describe('chroma420Constraint and projectChroma420', () => {
  it('finds the 4:2:0 lattice of a JPEG at every quality from 5 to 35 (decoding noise leaves ~10 % of coefficients off it)', async () => {
    const photo = await fixturePhoto();
    for (const quality of [5, 10, 15, 20, 25, 26, 28, 30, 32, 34, 35]) {
      expect(chroma420Constraint(await jpeg(photo, quality, '4:2:0'), quality), `q${quality}`).toBeDefined();
    }
    expect(chroma420Constraint(photo, 30)).toBeUndefined(); // never a JPEG
  });

  it('finds no constraint on a JPEG without colour (no chroma coefficient to check)', async () => {
    const grey = scene(64, 48);
    for (let p = 0; p < grey.data.length; p += 4) grey.data.fill(grey.data[p]!, p + 1, p + 3);
    expect(chroma420Constraint(await jpeg(grey, 30), 30)).toBeUndefined();
  });

  // 63×47: odd, its last column and row are half samples of one pixel; the half planes (32×24) are
  // whole blocks. (Where they are not, the padded samples cannot move and one projection lands near
  // the set, not in it.)
  it.each([[64, 48], [63, 47]])('projects chroma into the JPEG\'s set (%i×%i): every coefficient of the 2×2 means within half a step', async (width, height) => {
    const photo = await jpeg(scene(width, height), 30);
    const constraint = chroma420Constraint(photo, 30)!;
    expect(constraint).toBeDefined();
    // Chroma far from the JPEG's: its own planes plus a pattern of ±30 levels.
    const planes = chromaPlanes((p, c) => photo.data[p * 4 + c]!, width * height);
    planes.forEach((plane, c) => plane.forEach((v, p) => (plane[p] = v + 30 * Math.sin(p * (c + 1.3)))));
    projectChroma420(planes, constraint);
    const steps = ijgTable(30, true);
    const hw = Math.ceil(width / 2);
    const hh = Math.ceil(height / 2);
    const block = new Float64Array(64);
    const tmp = new Float64Array(64);
    let checked = 0;
    planes.forEach((plane, c) => {
      const half = halve(plane, width, height);
      for (let by = 0; by < constraint.paddedHeight / 8; by++) {
        for (let bx = 0; bx < constraint.paddedWidth / 8; bx++) {
          for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = half[Math.min(by * 8 + y, hh - 1) * hw + Math.min(bx * 8 + x, hw - 1)]!;
          dct2(block, tmp);
          const ref = constraint.coefficients[c]!.subarray((by * constraint.paddedWidth / 8 + bx) * 64);
          for (let k = 0; k < 64; k++) {
            expect(Math.abs(block[k]! - ref[k]!), `plane ${c} block ${bx},${by} coefficient ${k}`).toBeLessThanOrEqual(steps[k]! / 2 + 1e-6);
            checked++;
          }
        }
      }
    });
    expect(checked).toBe(2 * 64 * (constraint.paddedWidth / 8) * (constraint.paddedHeight / 8));
  });
});
