/**
 * planUncrop's promises, checked by simulating the plan on a canvas of booleans (known or not) rather
 * than by re-deriving its arithmetic: every window inside the canvas, at most 50 % unknown both on the
 * canvas and in its job, the unknown part always the outer end of the window, each pass adding new
 * pixels, everything known at the end, jobs at the working size, sides in their documented order.
 */
import { describe, expect, it } from 'vitest';
import { planUncrop, type Extension, type Side, type UncropPlan, type UncropWindow } from '../../../daemon/tasks/uncrop-plan.ts';
import type { ModelGeometry } from '../../../daemon/tasks/types.ts';
import { ext } from './test-images.ts';

const G64: ModelGeometry = { workingSize: 64, sizeMultiple: 8 };
const G128: ModelGeometry = { workingSize: 128, sizeMultiple: 16 };

const horizontal = (side: Side) => side === 'left' || side === 'right';
/** Depth (across the side) and along-axis lengths of a window, on the canvas and in its job. */
function axes(w: UncropWindow) {
  return horizontal(w.side)
    ? { depth: w.rect.width, along: w.rect.height, jobDepth: w.jobWidth, jobAlong: w.jobHeight }
    : { depth: w.rect.height, along: w.rect.width, jobDepth: w.jobHeight, jobAlong: w.jobWidth };
}

/**
 * Walks the plan's windows in order over a known/unknown canvas, as runUncrop does (each window sees
 * what the earlier ones generated), and returns per window its unknown lines and unknown pixels.
 * The unknown lines must be the outermost: a line counted from the window's inner edge (nearest the
 * original) holds unknown pixels only if every line beyond it does too. A window overlapping its
 * neighbour along the side has those lines partly known: that is the overlap, not a gap.
 */
function simulate(plan: UncropPlan): Array<{ lines: number; pixels: number }> {
  const { width, height } = plan.canvas;
  const known = new Uint8Array(width * height);
  const o = plan.original;
  for (let y = o.y; y < o.y + o.height; y++) known.fill(1, y * width + o.x, y * width + o.x + o.width);
  const seen: Array<{ lines: number; pixels: number }> = [];
  for (const w of plan.windows) {
    const { x, y, width: rw, height: rh } = w.rect;
    expect(x >= 0 && y >= 0 && x + rw <= width && y + rh <= height, `${w.side} window inside the canvas`).toBe(true);
    const { depth, along } = axes(w);
    const unknownIn = (i: number): number => {
      let n = 0;
      for (let a = 0; a < along; a++) {
        const [px, py] =
          w.side === 'right' ? [x + i, y + a] : w.side === 'left' ? [x + rw - 1 - i, y + a]
          : w.side === 'bottom' ? [x + a, y + i] : [x + a, y + rh - 1 - i];
        if (known[py * width + px] !== 1) n++;
      }
      return n;
    };
    let lines = 0;
    let pixels = 0;
    for (let i = 0; i < depth; i++) {
      const n = unknownIn(i);
      if (n > 0) lines++;
      else expect(lines, `${w.side} window: line ${i} known after unknown ones`).toBe(0);
      pixels += n;
    }
    seen.push({ lines, pixels });
    for (let py = y; py < y + rh; py++) known.fill(1, py * width + x, py * width + x + rw);
  }
  expect(known.every((k) => k === 1), 'the whole canvas known after the last window').toBe(true);
  return seen;
}

/** The job lines that hold any unknown canvas line: the job is the window resized, depth lines onto jobDepth. */
function unknownJobLines(w: UncropWindow, unknownCanvasLines: number): number {
  const { depth, jobDepth } = axes(w);
  let n = 0;
  for (let j = 0; j < jobDepth; j++) if (((j + 1) * depth) / jobDepth > depth - unknownCanvasLines + 1e-9) n++;
  return n;
}

const CASES: Array<[string, { width: number; height: number }, Extension, ModelGeometry]> = [
  ['right 50 %', { width: 120, height: 80 }, ext({ right: 60 }), G64],
  ['all four sides', { width: 120, height: 80 }, ext({ left: 10, right: 30, top: 20, bottom: 5 }), G64],
  ['3× the image to the right', { width: 120, height: 80 }, ext({ right: 360 }), G64],
  ['a thin strip on a wide image', { width: 300, height: 20 }, ext({ right: 300, top: 7 }), G64],
  ['a 9 × 9 image grown on every side', { width: 9, height: 9 }, ext({ left: 30, right: 1, top: 2, bottom: 40 }), G64],
  ['3 px at the bottom of a large image', { width: 400, height: 300 }, ext({ bottom: 3 }), G64],
  ['a photo doubled in width at 128', { width: 640, height: 480 }, ext({ left: 320, right: 320 }), G128],
  ['a portrait extended upward at 128', { width: 300, height: 500 }, ext({ top: 700 }), G128],
  ['a 12-megapixel photo extended 1500 px', { width: 3000, height: 2000 }, ext({ right: 1500, bottom: 200 }), G64],
];

describe('planUncrop', () => {
  it.each(CASES)('%s: windows inside the canvas, outer end unknown, each pass new pixels, everything known after', (_, image, e, g) => {
    const plan = planUncrop(image, e, g);
    expect(plan.canvas).toEqual({ width: image.width + e.left + e.right, height: image.height + e.top + e.bottom });
    expect(plan.original).toEqual({ x: e.left, y: e.top, ...image });
    const unknown = simulate(plan);
    unknown.forEach(({ lines, pixels }, i) => {
      const w = plan.windows[i]!;
      // Every pass adds pixels: a window over known pixels only would be a wasted model call.
      expect(pixels, `window ${i} (${w.side}) adds pixels`).toBeGreaterThan(0);
      expect(2 * lines, `window ${i} (${w.side}) at most 50 % unknown lines on the canvas`).toBeLessThanOrEqual(axes(w).depth);
    });
  });

  it.each(CASES)('%s: jobs at most 50 % unknown, multiples of the model\'s size, about workingSize²', (_, image, e, g) => {
    const plan = planUncrop(image, e, g);
    const unknown = simulate(plan);
    plan.windows.forEach((w, i) => {
      const { jobDepth } = axes(w);
      expect(2 * unknownJobLines(w, unknown[i]!.lines), `window ${i} (${w.side}) job at most 50 % unknown`).toBeLessThanOrEqual(jobDepth);
      expect(w.jobWidth % g.sizeMultiple).toBe(0);
      expect(w.jobHeight % g.sizeMultiple).toBe(0);
      expect(w.jobWidth * w.jobHeight).toBeLessThanOrEqual(1.25 * g.workingSize ** 2);
      // Not much smaller either, unless the image itself is smaller than the working size.
      if (Math.min(image.width, image.height) >= g.workingSize) expect(w.jobWidth * w.jobHeight).toBeGreaterThanOrEqual(0.25 * g.workingSize ** 2);
    });
  });

  it('does the sides in the order left, right, top, bottom, top and bottom spanning the new width (the corners)', () => {
    const e = ext({ left: 40, right: 40, top: 30, bottom: 30 });
    const plan = planUncrop({ width: 120, height: 80 }, e, G64);
    const order = plan.windows.map((w) => w.side).filter((s, i, all) => s !== all[i - 1]);
    expect(order).toEqual(['left', 'right', 'top', 'bottom']);
    for (const w of plan.windows) {
      if (horizontal(w.side)) expect([w.rect.y, w.rect.y + w.rect.height]).toEqual([30, 110]); // the original rows
    }
    const top = plan.windows.filter((w) => w.side === 'top');
    expect(Math.min(...top.map((w) => w.rect.x))).toBe(0);
    expect(Math.max(...top.map((w) => w.rect.x + w.rect.width))).toBe(200);
  });

  it('covers a side with few windows: one along a side that fits, overlapping windows along a long one', () => {
    // 80 rows fit one window (a 64 × 64 job at 1.25 canvas px per job px, 80 px deep): 40 px is one pass.
    expect(planUncrop({ width: 120, height: 80 }, ext({ right: 40 }), G64).windows).toHaveLength(1);
    // 2000 rows and a thin 100-px extension: a few windows along the side, each overlapping the next.
    const plan = planUncrop({ width: 3000, height: 2000 }, ext({ right: 100 }), G64);
    const along = plan.windows.map((w) => [w.rect.y, w.rect.y + w.rect.height] as const).sort((a, b) => a[0] - b[0]);
    expect(along.length).toBeGreaterThan(1);
    expect(along.length).toBeLessThanOrEqual(8);
    for (let i = 1; i < along.length; i++) expect(along[i]![0]).toBeLessThan(along[i - 1]![1]);
  });

  it('never samples the canvas finer than 1:1 unless the image is smaller than the working size', () => {
    for (const [image, e] of [
      [{ width: 3000, height: 2000 }, ext({ right: 1500 })],
      [{ width: 640, height: 480 }, ext({ left: 100, top: 100 })],
    ] as const) {
      for (const w of planUncrop(image, e, G64).windows) {
        const { depth, along, jobDepth, jobAlong } = axes(w);
        // Rounding to multiples of 8 may enlarge by a few px, never by whole factors.
        expect(jobDepth).toBeLessThanOrEqual(depth + G64.sizeMultiple);
        expect(jobAlong).toBeLessThanOrEqual(along + G64.sizeMultiple);
      }
    }
  });

  it('enlarges a tiny image to the working scale rather than running 8-px jobs', () => {
    // 9 known px carry at most 9 new ones a pass: 40 px take three passes, each job ≥ 3× the canvas.
    const plan = planUncrop({ width: 9, height: 9 }, ext({ right: 40 }), G64);
    expect(plan.windows).toHaveLength(3);
    for (const w of plan.windows) {
      expect(w.jobHeight / w.rect.height).toBeGreaterThan(3);
      expect(w.jobWidth / w.rect.width).toBeGreaterThan(3);
    }
  });

  it.each(CASES)('%s: each job is its window resized at one scale (no stretching)', (_, image, e, g) => {
    for (const w of planUncrop(image, e, g).windows) {
      const { depth, along, jobDepth, jobAlong } = axes(w);
      // Up to one size multiple of rounding on the shorter job side.
      const tolerance = g.sizeMultiple / Math.min(jobDepth, jobAlong);
      expect(Math.abs(depth / jobDepth / (along / jobAlong) - 1)).toBeLessThanOrEqual(tolerance);
    }
  });

  it('takes the fewest passes the 50 % rule allows: each pass half a window deep, the window as deep as its job', () => {
    // 80 rows: one window along the side, a 64 × 64 job at 1.25 canvas px per job px, so 80 px deep and
    // 40 new px a pass: 60 px in 2 passes, 360 px in 9.
    expect(planUncrop({ width: 120, height: 80 }, ext({ right: 60 }), G64).windows).toHaveLength(2);
    expect(planUncrop({ width: 120, height: 80 }, ext({ right: 360 }), G64).windows).toHaveLength(9);
    // 480 rows at 128: 480-px-deep windows, 240 new px a pass: 320 px on each side in 2 passes.
    const wide = planUncrop({ width: 640, height: 480 }, ext({ left: 320, right: 320 }), G128);
    expect(wide.windows.map((w) => `${w.side} ${w.rect.width}`)).toEqual(['left 480', 'left 480', 'right 480', 'right 480']);
  });
});
