import { describe, expect, it } from 'vitest';
import { runColorize } from '../../../daemon/tasks/colorize.ts';
import { runFill } from '../../../daemon/tasks/fill.ts';
import { mirrorFill, smoothFill } from '../../../daemon/tasks/prefill.ts';
import type { ModelJob, ModelGeometry, RunModelJob } from '../../../daemon/tasks/types.ts';
import { runUncrop } from '../../../daemon/tasks/uncrop.ts';
import { circleMask, greyImage, patternImage } from './test-images.ts';

const G: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };

/** [3,H,W] with channel c's value at (x, y) given by f. */
function tensor(width: number, height: number, f: (x: number, y: number, c: number) => number): Float32Array {
  const out = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[(c * height + y) * width + x] = f(x, y, c);
  return out;
}

function holeWhere(width: number, height: number, inHole: (x: number, y: number) => boolean): Float32Array {
  const hole = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) hole[y * width + x] = inHole(x, y) ? 1 : 0;
  return hole;
}

describe('smoothFill', () => {
  const W = 24;
  const H = 16;
  const box = (x: number, y: number) => x >= 6 && x < 18 && y >= 4 && y < 12;

  it('keeps every known pixel and fills a hole in a flat image with that colour', () => {
    const flat = tensor(W, H, (_x, _y, c) => [0.25, -0.5, 0.75][c] ?? 0);
    const values = flat.slice();
    const hole = holeWhere(W, H, box);
    for (let i = 0; i < W * H; i++) if (hole[i]) for (let c = 0; c < 3; c++) values[c * W * H + i] = 9; // old content
    const out = smoothFill(values, hole, W, H);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(flat[i] ?? 0, 5);
  });

  it('interpolates between the two sides of a hole: values stay between them and rise left to right', () => {
    const ramp = tensor(W, H, (x) => (x < 12 ? -1 : 1));
    const hole = holeWhere(W, H, (x) => x >= 6 && x < 18);
    const out = smoothFill(ramp, hole, W, H);
    const row = Array.from({ length: W }, (_, x) => out[8 * W + x] ?? 0);
    for (let x = 0; x < W; x++) {
      expect(row[x]).toBeGreaterThanOrEqual(-1 - 1e-6);
      expect(row[x]).toBeLessThanOrEqual(1 + 1e-6);
    }
    expect(row[7]).toBeLessThan(row[16] ?? 0);
    expect(row[7]).toBeLessThan(0);
    expect(row[16]).toBeGreaterThan(0);
    for (let x = 0; x < 6; x++) expect(row[x]).toBe(-1); // known pixels unchanged
  });

  it('is mirror-symmetric: a hole and surroundings symmetric left–right and top–bottom fill symmetrically (cell centres at 2j + 0.5 on every level)', () => {
    // Any shift of the upsampling coordinates or a missing clamp at an edge breaks the symmetry.
    for (const n of [16, 32]) {
      const f = (x: number, y: number, c: number) => Math.sin(0.7 * Math.min(x, n - 1 - x) + c) * Math.cos(0.4 * Math.min(y, n - 1 - y));
      const values = tensor(n, n, f);
      const hole = holeWhere(n, n, (x, y) => Math.hypot(x - (n - 1) / 2, y - (n - 1) / 2) < n / 3 || x < 2 || x >= n - 2);
      const out = smoothFill(values, hole, n, n);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < n; y++) {
          for (let x = 0; x < n; x++) {
            const v = out[(c * n + y) * n + x] ?? NaN;
            expect(Math.abs(v - (out[(c * n + y) * n + (n - 1 - x)] ?? NaN))).toBeLessThan(1e-5);
            expect(Math.abs(v - (out[(c * n + (n - 1 - y)) * n + x] ?? NaN))).toBeLessThan(1e-5);
          }
        }
      }
    }
  });

  it('treats rows and columns alike: the fill of a transposed image is the transposed fill', () => {
    const n = 16;
    const f = (x: number, y: number, c: number) => Math.sin(0.3 * x + 0.9 * y + c);
    const inHole = (x: number, y: number) => x >= 3 && x < 11 && y >= 5 && y < 14;
    const out = smoothFill(tensor(n, n, f), holeWhere(n, n, inHole), n, n);
    const outT = smoothFill(tensor(n, n, (x, y, c) => f(y, x, c)), holeWhere(n, n, (x, y) => inHole(y, x)), n, n);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) expect(outT[(c * n + x) * n + y]).toBeCloseTo(out[(c * n + y) * n + x] ?? NaN, 5);
    }
  });

  it('fills a hole pixel mostly from its nearest known pixels (the finest level that reaches them)', () => {
    // One-pixel hole in a 16×16 image: 1 left of it, −1 everywhere else. Its fill leans to the side it touches.
    const n = 16;
    const values = tensor(n, n, (x) => (x <= 4 ? 1 : -1));
    const out = smoothFill(values, holeWhere(n, n, (x, y) => x === 5 && y === 8), n, n);
    const v = out[8 * n + 5] ?? NaN;
    expect(v).toBeGreaterThan(-1);
    expect(v).toBeLessThan(1);
    const far = smoothFill(tensor(n, n, (x) => (x <= 1 ? 1 : -1)), holeWhere(n, n, (x, y) => x === 5 && y === 8), n, n)[8 * n + 5] ?? NaN;
    expect(v).toBeGreaterThan(far); // the bright column 1 px away weighs more than one 4 px away
  });

  it('gives mid-grey when nothing is known, and the input when there is no hole', () => {
    const values = tensor(8, 8, (x, y) => (x + y) / 16);
    expect([...smoothFill(values, new Float32Array(64).fill(1), 8, 8)].every((v) => v === 0)).toBe(true);
    expect(smoothFill(values, new Float32Array(64), 8, 8)).toEqual(values);
  });

  it('leaves its input alone and counts a hole value of exactly 0.5 as known', () => {
    const values = tensor(8, 8, (x, y) => (x + y) / 16);
    const before = values.slice();
    const hole = holeWhere(8, 8, (x) => x >= 4);
    smoothFill(values, hole, 8, 8);
    smoothFill(values, new Float32Array(64).fill(1), 8, 8);
    expect(values).toEqual(before); // the caller's cond is not rewritten
    mirrorFill(values, hole, 8, 8, 'right');
    expect(values).toEqual(before);
    const half = new Float32Array(64).fill(0.5); // a soft edge's middle: known, so nothing to fill
    expect(smoothFill(values, half, 8, 8)).toEqual(values);
  });

  it('fills the one hole pixel of a 2×2 image with the mean of the three known ones', () => {
    const values = new Float32Array([0.1, 0.2, 0.3, 9, 0, 0, 0, 0, 0.4, 0.5, 0.6, 9]); // R, G, B planes
    const out = smoothFill(values, new Float32Array([0, 0, 0, 1]), 2, 2);
    expect(out[3]).toBeCloseTo(0.2, 6);
    expect(out[7]).toBeCloseTo(0, 6);
    expect(out[11]).toBeCloseTo(0.5, 6);
  });
});

describe('mirrorFill', () => {
  const W = 16;
  const H = 8;
  const values = tensor(W, H, (x, y, c) => x * 0.05 + y * 0.01 + c);

  it('reflects the known columns across a right-side frontier', () => {
    const hole = holeWhere(W, H, (x) => x >= 8);
    const out = mirrorFill(values, hole, W, H, 'right');
    for (let y = 0; y < H; y++) {
      for (let d = 1; d < 8; d++) expect(out[y * W + 7 + d]).toBe(values[y * W + 7 - d]); // pixel 7+d takes 7−d
      expect(out[y * W + 3]).toBe(values[y * W + 3]);
    }
  });

  it('reflects across a left and a top frontier too', () => {
    const left = mirrorFill(values, holeWhere(W, H, (x) => x < 4), W, H, 'left');
    for (let d = 1; d <= 4; d++) expect(left[2 * W + 4 - d]).toBe(values[2 * W + 4 + d]);
    const top = mirrorFill(values, holeWhere(W, H, (_x, y) => y < 3), W, H, 'top');
    for (let d = 1; d <= 3; d++) expect(top[(3 - d) * W + 5]).toBe(values[(3 + d) * W + 5]);
    expect(top[2 * W * H + (3 - 1) * W + 5]).toBe(values[2 * W * H + (3 + 1) * W + 5]); // every channel
  });

  it('reflects a short known run far from the edge back and forth, and copies a single known pixel', () => {
    // Known: the last two columns (6, 7); a left frontier 6 columns deep takes 7, 6, 7, 6, 7, 6 going left.
    const w = 8;
    const v = tensor(w, 2, (x, y) => x + 10 * y);
    const out = mirrorFill(v, holeWhere(w, 2, (x) => x < 6), w, 2, 'left');
    expect(Array.from(out.subarray(0, w))).toEqual([6, 7, 6, 7, 6, 7, 6, 7]);
    const single = mirrorFill(v, holeWhere(w, 2, (x) => x !== 3), w, 2, 'left'); // only column 3 known
    expect(Array.from(single.subarray(w, 2 * w))).toEqual(Array(w).fill(13));
  });

  it('repeats the reflection when the hole is deeper than the known part', () => {
    const hole = holeWhere(W, H, (x) => x >= 3);
    const out = mirrorFill(values, hole, W, H, 'right');
    // known 0..2: the mirror runs 1, 0, 1, 2, 1, 0, …
    expect([3, 4, 5, 6, 7].map((x) => out[x])).toEqual([1, 0, 1, 2, 1].map((x) => values[x]));
  });

  it('fills lines with no known pixel smoothly instead of leaving the old content', () => {
    const hole = holeWhere(W, H, (x, y) => x >= 8 || y < 2); // rows 0–1 have nothing known
    const before = values.slice();
    for (let i = 0; i < 2 * W; i++) before[i] = 99;
    const out = mirrorFill(before, hole, W, H, 'right');
    for (let i = 0; i < 2 * W; i++) {
      expect(out[i]).toBeLessThan(1);
      expect(out[i]).toBeGreaterThan(0);
    }
  });
});

/** A RunModelJob that records each job and returns its start (or its cond without one). */
function recordingRun(): { run: RunModelJob; jobs: ModelJob[] } {
  const jobs: ModelJob[] = [];
  const run: RunModelJob = async (job) => {
    jobs.push(job);
    const item = 3 * job.width * job.height;
    const source = job.start ?? job.cond;
    const items = job.cond.length / item;
    return Array.from({ length: items }, (_, b) => source.slice(b * item, (b + 1) * item));
  };
  return { run, jobs };
}

describe('the tasks give the sampler a start for strength below 1', () => {
  it('fill: the known pixels of x, and the hole pre-filled from its surroundings (not x\'s old content)', async () => {
    const image = greyImage(120, 90, 200);
    for (let p = 0; p < image.data.length; p += 4) if (Math.hypot((p / 4) % 120 - 60, Math.floor(p / 4 / 120) - 45) < 15) image.data[p] = 0;
    const { run, jobs } = recordingRun();
    await runFill({ image, mask: circleMask(120, 90, 60, 45, 15) }, G, run, 2);
    const job = jobs[0]!;
    const plane = job.width * job.height;
    expect(job.start).toBeDefined();
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < plane; i++) {
      const red = job.start![i] ?? 0;
      if ((job.hole?.[i] ?? 0) > 0.5) {
        sum += red;
        n++;
      } else {
        expect(red).toBe(job.cond[i]);
        lo = Math.min(lo, red);
        hi = Math.max(hi, red);
      }
    }
    // Inside the known pixels' range (resizing rings a little at the hole's edge), about the grey, never the black disc.
    for (let i = 0; i < plane; i++) {
      if ((job.hole?.[i] ?? 0) <= 0.5) continue;
      expect(job.start![i]).toBeGreaterThanOrEqual(lo - 1e-6);
      expect(job.start![i]).toBeLessThanOrEqual(hi + 1e-6);
    }
    expect(n).toBeGreaterThan(100);
    expect(Math.abs(sum / n - ((200 / 255) * 2 - 1))).toBeLessThan(0.1); // the black disc would be −1
    expect(job.start!.subarray(3 * plane)).toEqual(job.start!.subarray(0, 3 * plane)); // every variant
  });

  it('uncrop: each pass starts from its known side mirrored outward', async () => {
    const image = patternImage(64, 64);
    const { run, jobs } = recordingRun();
    await runUncrop({ image, extend: { left: 0, right: 32, top: 0, bottom: 0 } }, G, run, 1);
    const job = jobs[0]!;
    const { width, height } = job;
    let first = width;
    for (let x = 0; x < width; x++) if ((job.hole?.[x] ?? 0) > 0.5) { first = x; break; }
    expect(first).toBeLessThan(width);
    for (let y = 0; y < height; y++) {
      expect(job.start![y * width + first]).toBe(job.cond[y * width + first - 2]);
      expect(job.start![y * width + first - 1]).toBe(job.cond[y * width + first - 1]);
    }
  });

  it('colorize: the layer\'s current pixels, colour included', async () => {
    const image = greyImage(64, 64, 128);
    for (let p = 0; p < image.data.length; p += 4) image.data[p] = 255; // a reddish layer
    const { run, jobs } = recordingRun();
    await runColorize({ image }, G, run, 1);
    const job = jobs[0]!;
    const plane = job.width * job.height;
    expect(job.start![0]).toBeCloseTo(1, 2); // red stays red in the start
    expect(job.start![plane]).toBeCloseTo(128 / 127.5 - 1, 1); // greyImage has ±4 levels of texture
    expect(job.cond[0]).toBeCloseTo(job.cond[plane] ?? 0, 5); // while x is grey
  });
});
