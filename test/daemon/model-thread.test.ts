import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRunner, type NchwTensor } from '../../daemon/model-runner.ts';
import { ModelThread } from '../../daemon/model-thread.ts';
import { worstTimerGap } from '../reliability/harness.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

function filled(dims: [number, number, number, number], f: (i: number) => number): NchwTensor {
  const data = new Float32Array(dims[0] * dims[1] * dims[2] * dims[3]);
  for (let i = 0; i < data.length; i++) data[i] = f(i);
  return { data, dims };
}

describe('ModelThread', () => {
  let thread: ModelThread;
  let local: ModelRunner;
  beforeAll(async () => {
    [thread, local] = await Promise.all([ModelThread.open(FIXTURE, { intraOpThreads: 1 }), ModelRunner.open(FIXTURE, { intraOpThreads: 1 })]);
  });
  afterAll(async () => {
    await Promise.all([thread.close(), local.close()]);
  });

  it('gives the same eps as the model in this thread, and leaves the caller its arrays', async () => {
    const dims: [number, number, number, number] = [2, 3, 32, 32];
    const inputs = { cond: filled(dims, (i) => Math.sin(i) * 0.5), yT: filled(dims, (i) => Math.cos(i * 0.7)), gamma: Float32Array.of(0.2, 0.7) };
    const [there, here] = await Promise.all([thread.denoise(inputs), local.denoise(inputs)]);
    expect(there.dims).toEqual(dims);
    expect(Array.from(there.data)).toEqual(Array.from(here.data));
    expect(inputs.cond.data.length).toBe(2 * 3 * 32 * 32); // not detached by the transfer
    expect(inputs.yT.data[1]).toBeCloseTo(Math.cos(0.7), 6);
    expect(thread.manifest.name).toBe(local.manifest.name);
    expect(thread.device).toBe('cpu');
  });

  it('keeps the event loop free while the model runs', async () => {
    const dims: [number, number, number, number] = [8, 3, 64, 64];
    const inputs = { cond: filled(dims, () => 0.1), yT: filled(dims, () => 0.3), gamma: new Float32Array(8).fill(0.5) };
    const started = performance.now();
    const { worstGapMs } = await worstTimerGap(async () => {
      for (let i = 0; i < 3; i++) await thread.denoise(inputs);
    });
    const callMs = (performance.now() - started) / 3;
    console.log(`model call ${callMs.toFixed(0)} ms, worst 5 ms-timer gap ${worstGapMs.toFixed(0)} ms`);
    expect(worstGapMs).toBeLessThan(Math.max(50, callMs / 2));
  });

  it('rejects bad shapes with the runner’s coded error, and keeps working', async () => {
    const dims: [number, number, number, number] = [1, 3, 30, 32];
    await expect(thread.denoise({ cond: filled(dims, () => 0), yT: filled(dims, () => 0), gamma: Float32Array.of(0.5) }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const ok: [number, number, number, number] = [1, 3, 32, 32];
    await expect(thread.denoise({ cond: filled(ok, () => 0), yT: filled(ok, () => 0), gamma: Float32Array.of(0.5) })).resolves.toBeDefined();
    expect(thread.alive).toBe(true);
  });

  it('fails to open a folder that is not a model with the runner’s code', async () => {
    await expect(ModelThread.open(join(REPO_ROOT, 'test', 'fixtures'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' }); // no model.json there
  });
});
