/**
 * The one door from tasks to the model: checks every job against the model's geometry before it is
 * sent and every answer before it is used, so a shape bug fails here with a readable error instead
 * of as a garbled layer.
 */
import { DaemonError } from '../errors.ts';
import type { ModelGeometry, ModelJob, RunModelJob } from './types.ts';

export async function runChecked(
  run: RunModelJob,
  job: ModelJob,
  variants: number,
  g: ModelGeometry,
): Promise<Float32Array[]> {
  const plane = job.width * job.height;
  const m = g.sizeMultiple;
  const items = (job.groups?.length ?? 1) * variants;
  if (job.width % m !== 0 || job.height % m !== 0 || job.cond.length !== items * 3 * plane) {
    throw new DaemonError(
      'INVALID_ARGUMENT',
      `job "${job.label}" is ${job.width}×${job.height} with cond of ${job.cond.length} values; ` +
        `needs multiples of ${m} and ${items}×3×H×W values`,
    );
  }
  if (job.hole && job.hole.length !== plane) {
    throw new DaemonError('INVALID_ARGUMENT', `job "${job.label}" has a hole of ${job.hole.length} values, not H×W`);
  }
  const samples = await run(job);
  if (samples.length !== items || samples.some((s) => s.length !== 3 * plane)) {
    throw new DaemonError(
      'MODEL_RUN_FAILED',
      `job "${job.label}" returned ${samples.length} samples of lengths [${samples.map((s) => s.length).join(', ')}]; ` +
        `expected ${items} of ${3 * plane}`,
    );
  }
  return samples;
}
