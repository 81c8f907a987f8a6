import { describe, expect, it } from 'vitest';
import { runChecked } from '../../../daemon/tasks/run-job.ts';
import type { ModelJob, RunModelJob } from '../../../daemon/tasks/types.ts';

const G = { workingSize: 64, sizeMultiple: 8 };

function job(width: number, height: number, items: number, extra: Partial<ModelJob> = {}): ModelJob {
  return {
    cond: new Float32Array(items * 3 * width * height), width, height, label: 'fill',
    region: { canvas: { x: 0, y: 0, width, height } }, ...extra,
  };
}

/** Answers `count` samples of `length` values (default: what the job asks for). */
function answering(count?: number, length?: number): RunModelJob & { calls: number } {
  const run = Object.assign(async (j: ModelJob) => {
    run.calls++;
    const n = count ?? j.cond.length / (3 * j.width * j.height);
    return Array.from({ length: n }, () => new Float32Array(length ?? 3 * j.width * j.height));
  }, { calls: 0 });
  return run;
}

describe('runChecked', () => {
  it('passes a well-formed job through and returns its samples', async () => {
    const run = answering();
    const out = await runChecked(run, job(16, 8, 2), 2, G);
    expect(out).toHaveLength(2);
    expect(run.calls).toBe(1);
  });

  it('refuses before any model call a side that is not a multiple, a cond of the wrong length or a hole of the wrong size', async () => {
    const bad: [string, ModelJob, number][] = [
      ['width 12', job(12, 8, 1), 1],
      ['height 12', job(8, 12, 1), 1],
      ['cond for 1 item, 2 asked', job(8, 8, 1), 2],
      ['hole of 63 values', job(8, 8, 1, { hole: new Float32Array(63) }), 1],
    ];
    for (const [name, j, variants] of bad) {
      const run = answering();
      await expect(runChecked(run, j, variants, G), name).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('job "fill"') });
      if (!j.hole) {
        await expect(runChecked(run, j, variants, G), name).rejects.toMatchObject({
          message: `job "fill" is ${j.width}×${j.height} with cond of ${j.cond.length} values; needs multiples of 8 and ${variants}×3×H×W values`,
        });
      }
      expect(run.calls, name).toBe(0);
    }
    // groups × variants items: 3 groups of 2 need 6 items
    const grouped = job(8, 8, 6, { groups: [0, 1, 2].map(() => ({ canvas: { x: 0, y: 0, width: 8, height: 8 } })) });
    await expect(runChecked(answering(), grouped, 2, G)).resolves.toHaveLength(6);
    await expect(runChecked(answering(), grouped, 3, G)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses an answer with too few samples, or a sample of the wrong length, as MODEL_RUN_FAILED', async () => {
    await expect(runChecked(answering(1), job(8, 8, 2), 2, G)).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED', message: expect.stringContaining('expected 2 of 192') });
    await expect(runChecked(answering(2, 191), job(8, 8, 2), 2, G)).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED' });
    const oneShort: RunModelJob = async (j) => [new Float32Array(3 * j.width * j.height), new Float32Array(5)]; // only the second is short
    await expect(runChecked(oneShort, job(8, 8, 2), 2, G)).rejects.toMatchObject({
      code: 'MODEL_RUN_FAILED',
      message: 'job "fill" returned 2 samples of lengths [192, 5]; expected 2 of 192',
    });
  });
});
