/**
 * Where the uncrop passes go. Pure geometry, computed before any model call: the known region only
 * ever grows by whole strips, so it can be simulated as numbers.
 *
 * Sides are done in the order left, right, top, bottom. Left and right passes span the original
 * rows; top and bottom passes then span the whole new width (their windows see the generated side
 * strips as known content, and create the corners). On each side the extension is generated in depth
 * steps outward; every window holds at most 50 % unknown pixels in its job, as in Palette's
 * repeated 50 % uncrops for panoramas, so the model always sees at least as much as it invents.
 */
import { DaemonError } from '../errors.ts';
import type { Rect } from '../rect.ts';
import { roundToMultiple, workingEdge } from './job-size.ts';
import { tileStarts } from './tiling.ts';
import type { ModelGeometry } from './types.ts';

export type Side = 'left' | 'right' | 'top' | 'bottom';

export const SIDES: readonly Side[] = ['left', 'right', 'top', 'bottom'];

export type Extension = Record<Side, number>;

export interface UncropWindow {
  side: Side;
  /** The window on the new canvas; the job is this region resized. */
  rect: Rect;
  jobWidth: number;
  jobHeight: number;
}

export interface UncropPlan {
  canvas: { width: number; height: number };
  /** Where the original goes on the new canvas. */
  original: Rect;
  windows: UncropWindow[];
}

/** Along a side, at most about this many windows per depth step when the extension is thin. */
const MAX_ALONG_WINDOWS = 4;

function floorToMultiple(v: number, m: number): number {
  return Math.max(m, Math.floor(v / m) * m);
}

/** The job's unknown rows (or columns) when the last `u` of `depth` canvas px are unknown. */
function unknownJobLines(depth: number, u: number, jobDepth: number): number {
  return jobDepth - Math.floor(((depth - u) * jobDepth) / depth + 1e-9);
}

interface SideSetup {
  /** Along-axis range of the strip (rows for left/right, columns for top/bottom). */
  a0: number;
  a1: number;
  /** Known depth behind the frontier, and the frontier's canvas coordinate. */
  known: number;
  frontier: number;
  /** +1 when the side grows toward higher coordinates (right, bottom), −1 otherwise. */
  dir: 1 | -1;
}

function sideSetup(side: Side, image: { width: number; height: number }, e: Extension, canvasWidth: number): SideSetup {
  switch (side) {
    case 'left':
      return { a0: e.top, a1: e.top + image.height, known: image.width, frontier: e.left, dir: -1 };
    case 'right':
      return { a0: e.top, a1: e.top + image.height, known: e.left + image.width, frontier: e.left + image.width, dir: 1 };
    case 'top':
      return { a0: 0, a1: canvasWidth, known: image.height, frontier: e.top, dir: -1 };
    case 'bottom':
      return { a0: 0, a1: canvasWidth, known: e.top + image.height, frontier: e.top + image.height, dir: 1 };
  }
}

function planSide(side: Side, setup: SideSetup, extension: number, g: ModelGeometry): UncropWindow[] {
  const m = g.sizeMultiple;
  const ws = g.workingSize;
  const alongLen = setup.a1 - setup.a0;
  // Canvas px per job px. Coarse enough that one window spans the side, or the extension fits in
  // one 50 % step (fewer passes); fine enough that the known half of a window fits in what is known;
  // never enlarging the canvas unless the image is that small.
  const s = Math.min(
    (2 * setup.known) / ws,
    Math.max(1, Math.min(alongLen / ws, Math.max((2 * extension) / ws, alongLen / (MAX_ALONG_WINDOWS * ws)))),
  );
  const alongWin = Math.min(alongLen, Math.max(1, Math.round(ws * s)));
  const jobAlong = roundToMultiple(alongWin / s, m);
  // A short side gets a deeper (non-square) job of about the same area: fewer passes.
  const jobDepthMax = Math.min(2 * workingEdge(g), floorToMultiple((ws * ws) / jobAlong, m));
  const depthMax = Math.max(2, Math.round(jobDepthMax * s));
  const starts = tileStarts(alongLen, alongWin, Math.round(alongWin / 4));

  const windows: UncropWindow[] = [];
  let known = setup.known;
  let frontier = setup.frontier;
  let left = extension;
  while (left > 0) {
    let u = Math.min(left, known, Math.floor(Math.min(depthMax, known + left) / 2));
    let depth = 0;
    let jobDepth = 0;
    for (;;) {
      if (u < 1) throw new DaemonError('INVALID_ARGUMENT', `cannot plan the ${side} uncrop: no room for a 50 % window`);
      depth = Math.min(depthMax, known + u);
      jobDepth = Math.min(jobDepthMax, roundToMultiple(depth / s, m));
      if (2 * unknownJobLines(depth, u, jobDepth) <= jobDepth) break;
      u--;
    }
    const d0 = setup.dir > 0 ? frontier + u - depth : frontier - u;
    for (const a of starts) {
      const along = { start: setup.a0 + a, length: alongWin };
      const horizontal = side === 'left' || side === 'right';
      windows.push({
        side,
        rect: horizontal
          ? { x: d0, y: along.start, width: depth, height: along.length }
          : { x: along.start, y: d0, width: along.length, height: depth },
        jobWidth: horizontal ? jobDepth : jobAlong,
        jobHeight: horizontal ? jobAlong : jobDepth,
      });
    }
    frontier += setup.dir * u;
    known += u;
    left -= u;
  }
  return windows;
}

export function planUncrop(image: { width: number; height: number }, e: Extension, g: ModelGeometry): UncropPlan {
  const canvas = { width: image.width + e.left + e.right, height: image.height + e.top + e.bottom };
  const windows: UncropWindow[] = [];
  for (const side of SIDES) {
    if (e[side] > 0) windows.push(...planSide(side, sideSetup(side, image, e, canvas.width), e[side], g));
  }
  return { canvas, original: { x: e.left, y: e.top, width: image.width, height: image.height }, windows };
}
