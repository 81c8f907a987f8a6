/**
 * A fake RunModelJob for task tests: no model, a deterministic function of each variant's cond, and a
 * record of every job it was given.
 */
import type { ModelJob, RunModelJob } from '../../../daemon/tasks/types.ts';

export interface RecordedJob {
  width: number;
  height: number;
  batch: number;
  label: string;
  cond: Float32Array;
  hole?: Float32Array;
  /** Share of hole pixels (0 when there is no hole). */
  holeFraction: number;
}

/** Per variant: the [3,H,W] sample for that variant's cond. */
export type FakeModel = (cond: Float32Array, variant: number, job: ModelJob) => Float32Array;

export function fakeRun(model: FakeModel): { run: RunModelJob; jobs: RecordedJob[] } {
  const jobs: RecordedJob[] = [];
  const run: RunModelJob = async (job) => {
    const plane = job.width * job.height;
    const batch = job.cond.length / (3 * plane);
    let holes = 0;
    for (const v of job.hole ?? []) holes += v;
    jobs.push({
      width: job.width,
      height: job.height,
      batch,
      label: job.label,
      cond: job.cond,
      ...(job.hole ? { hole: job.hole } : {}),
      holeFraction: holes / plane,
    });
    return Array.from({ length: batch }, (_, b) => model(job.cond.subarray(b * 3 * plane, (b + 1) * 3 * plane), b, job));
  };
  return { run, jobs };
}

/** Returns x unchanged (a perfect "restoration"). */
export const identityModel: FakeModel = (cond) => cond.slice();

/**
 * Like a real inpainting sampler: known pixels are the clean cond, hole pixels a constant colour
 * per variant (variant 0 red-ish, 1 green-ish, 2 blue-ish, …).
 */
export const holeColorModel: FakeModel = (cond, variant, job) => {
  const out = cond.slice();
  const plane = job.width * job.height;
  const colour = [
    [0.6, -0.4, -0.4],
    [-0.4, 0.6, -0.4],
    [-0.4, -0.4, 0.6],
  ][variant % 3] ?? [0, 0, 0];
  for (let i = 0; i < plane; i++) {
    if ((job.hole?.[i] ?? 0) < 0.5) continue;
    for (let c = 0; c < 3; c++) out[c * plane + i] = (colour[c] ?? 0) + 0.05 * Math.floor(variant / 3);
  }
  return out;
};

/** A constant colour (in [-1, 1]) in the hole, the clean cond elsewhere. */
export function holeConstantModel(rgb: [number, number, number]): FakeModel {
  return (cond, _variant, job) => {
    const out = cond.slice();
    const plane = job.width * job.height;
    for (let i = 0; i < plane; i++) {
      if ((job.hole?.[i] ?? 0) < 0.5) continue;
      for (let c = 0; c < 3; c++) out[c * plane + i] = rgb[c] ?? 0;
    }
    return out;
  };
}
