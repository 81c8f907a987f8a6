import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../daemon/model-manifest.ts';
import type { DenoiseInputs, Denoiser, NchwTensor } from '../../daemon/model-runner.ts';
import { ModelScheduler } from '../../daemon/model-scheduler.ts';

/** A model whose calls finish when the test says, recording which call ran (by the γ it carries). */
class FakeModel implements Denoiser {
  readonly manifest = { name: 'fake' } as ModelManifest;
  readonly device = 'cpu' as const;
  readonly ran: number[] = [];
  private finishers: Array<() => void> = [];
  fail = false;

  denoise(inputs: DenoiseInputs): Promise<NchwTensor> {
    this.ran.push(inputs.gamma[0] ?? -1);
    if (this.fail) return Promise.reject(new Error('model broke'));
    return new Promise((resolve) => this.finishers.push(() => resolve({ data: inputs.yT.data, dims: inputs.yT.dims })));
  }

  /** Finishes the running call (there is at most one). */
  async finish(): Promise<void> {
    this.finishers.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  }

  async close(): Promise<void> {}
}

function inputs(tag: number, batch = 1, size = 8): DenoiseInputs {
  const dims = [batch, 3, size, size] as const;
  const data = new Float32Array(batch * 3 * size * size);
  return { cond: { data, dims }, yT: { data, dims }, gamma: new Float32Array(batch).fill(tag) };
}

describe('ModelScheduler', () => {
  it('runs one call at a time and a newcomer’s call right after the one running', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler();
    const a = { clientId: 'A', jobId: 'a' };
    const pending = [s.denoise(a, model, inputs(1)), s.denoise(a, model, inputs(2)), s.denoise(a, model, inputs(3))];
    expect(model.ran).toEqual([1]);
    pending.push(s.denoise({ clientId: 'B', jobId: 'b' }, model, inputs(10)));
    for (let i = 0; i < 4; i++) await model.finish();
    await Promise.all(pending);
    expect(model.ran).toEqual([1, 10, 2, 3]); // B is not behind A's two waiting calls
    expect(s.stats).toEqual({ calls: 4, waiting: 0 });
  });

  it('shares model work by pixels: a 1-variant job gets about 8 calls per call of an 8-variant job', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler();
    // Each job sends its next call when its previous one is answered, like the sampling loop.
    const loop = async (client: string, tag: number, batch: number, calls: number) => {
      for (let i = 0; i < calls; i++) await s.denoise({ clientId: client, jobId: client }, model, inputs(tag, batch));
    };
    const big = loop('big', 8, 8, 4);
    const small = loop('small', 1, 1, 16);
    for (let i = 0; i < 20; i++) await model.finish();
    await Promise.all([big, small]);
    const bigCallsBeforeSmallDone = model.ran.slice(0, model.ran.lastIndexOf(1)).filter((t) => t === 8).length;
    expect(model.ran[0]).toBe(8);
    expect(model.ran[1]).toBe(1); // the small job waits one call, not the big job
    expect(bigCallsBeforeSmallDone).toBeLessThanOrEqual(3); // 16 small calls = 2 big calls' pixels
  });

  it('gives an idle client no banked credit: it comes back at the current virtual time', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler();
    const a = { clientId: 'A', jobId: 'a' };
    const b = { clientId: 'B', jobId: 'b' };
    const first = s.denoise(b, model, inputs(100));
    await model.finish();
    await first;
    // A has run 5 calls alone (its 6th is running); then B returns: it alternates with A rather
    // than running its 3 calls in a row on credit from the time it was idle.
    const aCalls = Array.from({ length: 8 }, (_, i) => s.denoise(a, model, inputs(i)));
    for (let i = 0; i < 5; i++) await model.finish();
    const bCalls = Array.from({ length: 3 }, (_, i) => s.denoise(b, model, inputs(200 + i)));
    for (let i = 0; i < 6; i++) await model.finish();
    await Promise.all([...aCalls, ...bCalls]);
    expect(model.ran.slice(6)).toEqual([5, 200, 6, 201, 7, 202]);
  });

  it('takes a cancelled job’s waiting call out of the line at once, rejecting it with the abort reason', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler();
    const running = s.denoise({ clientId: 'A', jobId: 'a' }, model, inputs(1));
    const controller = new AbortController();
    const waiting = s.denoise({ clientId: 'B', jobId: 'b' }, model, inputs(2), controller.signal);
    controller.abort(new Error('cancelled by client'));
    await expect(waiting).rejects.toThrow('cancelled by client');
    expect(s.stats.waiting).toBe(0);
    await model.finish();
    await running;
    expect(model.ran).toEqual([1]);
    await expect(s.denoise({ clientId: 'B', jobId: 'b' }, model, inputs(3), controller.signal)).rejects.toThrow('cancelled by client');
  });

  it('rejects only the call whose model call failed and goes on with the next', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler();
    model.fail = true;
    const bad = s.denoise({ clientId: 'A', jobId: 'a' }, model, inputs(1));
    await expect(bad).rejects.toThrow('model broke');
    model.fail = false;
    const good = s.denoise({ clientId: 'A', jobId: 'a' }, model, inputs(2));
    await model.finish();
    await expect(good).resolves.toMatchObject({ dims: [1, 3, 8, 8] });
  });

  it('forJob gives the job the model’s manifest with its calls routed through the scheduler', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler();
    const calls = s.forJob({ clientId: 'A', jobId: 'a' })(model);
    expect(calls.manifest).toBe(model.manifest);
    const eps = calls.denoise(inputs(7));
    expect(s.stats.calls).toBe(1);
    await model.finish();
    await eps;
    expect(model.ran).toEqual([7]);
  });
});
