import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, DEFAULT_MAX_BATCH_PIXELS } from '../../daemon/job-runner.ts';
import { REPO_ROOT, type ModelManifest } from '../../daemon/model-manifest.ts';
import type { DenoiseInputs, Denoiser, NchwTensor } from '../../daemon/model-runner.ts';
import { ModelScheduler } from '../../daemon/model-scheduler.ts';
import { ModelThread } from '../../daemon/model-thread.ts';
import type { ModelJob } from '../../daemon/tasks/types.ts';

/**
 * A model whose calls finish when the test says. It records each call's γs (the tests tag calls by
 * γ) and answers ε = 2·y_t + γ per sample, so every sample's answer shows whose it is.
 */
class FakeModel implements Denoiser {
  readonly manifest: ModelManifest;
  constructor(batchInvariant = true) {
    this.manifest = { name: 'fake', batch_invariant: batchInvariant } as ModelManifest;
  }
  readonly device = 'cpu' as const;
  /** The first γ of each model call. */
  readonly ran: number[] = [];
  /** Every γ of each model call. */
  readonly batches: number[][] = [];
  private finishers: Array<() => void> = [];
  fail = false;

  denoise(inputs: DenoiseInputs): Promise<NchwTensor> {
    this.ran.push(inputs.gamma[0] ?? -1);
    this.batches.push(Array.from(inputs.gamma));
    if (this.fail) return Promise.reject(new Error('model broke'));
    const per = inputs.yT.data.length / inputs.gamma.length;
    const data = inputs.yT.data.map((v, i) => 2 * v + (inputs.gamma[Math.floor(i / per)] ?? NaN));
    return new Promise((resolve) => this.finishers.push(() => resolve({ data, dims: inputs.yT.dims })));
  }

  /** Finishes the running call (there is at most one), and lets the scheduler start the next. */
  async finish(): Promise<void> {
    if (this.finishers.length === 0) await turns();
    this.finishers.shift()?.();
    await turns();
  }

  async close(): Promise<void> {}
}

/**
 * Two event-loop turns: with batching on the scheduler starts a call from a setImmediate after the
 * last answer's microtasks (or a call's arrival), so by then it has started.
 */
async function turns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}

function inputs(tag: number, batch = 1, size = 8): DenoiseInputs {
  const dims = [batch, 3, size, size] as const;
  const data = new Float32Array(batch * 3 * size * size);
  return { cond: { data, dims }, yT: { data, dims }, gamma: new Float32Array(batch).fill(tag) };
}

describe('ModelScheduler, one call at a time (batching: false)', () => {
  it('runs one call at a time and a newcomer’s call right after the one running', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: false });
    const a = { clientId: 'A', jobId: 'a' };
    const pending = [s.denoise(a, model, inputs(1)), s.denoise(a, model, inputs(2)), s.denoise(a, model, inputs(3))];
    expect(model.ran).toEqual([1]);
    pending.push(s.denoise({ clientId: 'B', jobId: 'b' }, model, inputs(10)));
    for (let i = 0; i < 4; i++) await model.finish();
    await Promise.all(pending);
    expect(model.ran).toEqual([1, 10, 2, 3]); // B is not behind A's two waiting calls
    expect(s.stats).toEqual({ calls: 4, merged: 0, waiting: 0 });
  });

  it('shares model work by pixels: a 1-variant job gets about 8 calls per call of an 8-variant job', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: false });
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
    const s = new ModelScheduler({ batching: false });
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
    const s = new ModelScheduler({ batching: false });
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
    const s = new ModelScheduler({ batching: false });
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
    const s = new ModelScheduler({ batching: false });
    const calls = s.forJob({ clientId: 'A', jobId: 'a' })(model);
    expect(calls.manifest).toBe(model.manifest);
    const eps = calls.denoise(inputs(7));
    expect(s.stats.calls).toBe(1);
    await model.finish();
    await eps;
    expect(model.ran).toEqual([7]);
  });
});

/** Inputs whose y_t says whose they are: sample k of call `tag` holds tag + k/10 everywhere, γ = tag + k/10. */
function tagged(tag: number, batch = 1, size = 8): DenoiseInputs {
  const dims = [batch, 3, size, size] as const;
  const per = 3 * size * size;
  const yT = new Float32Array(batch * per).map((_, i) => tag + Math.floor(i / per) / 10);
  const gamma = new Float32Array(batch).map((_, k) => tag + k / 10);
  return { cond: { data: new Float32Array(batch * per), dims }, yT: { data: yT, dims }, gamma };
}

/** What FakeModel answers for `tagged(tag, batch, size)` when it runs alone. */
function expectedEps(tag: number, batch = 1, size = 8): number[] {
  const { yT, gamma } = tagged(tag, batch, size);
  const per = 3 * size * size;
  return Array.from(yT.data.map((v, i) => 2 * v + gamma[Math.floor(i / per)]!));
}

const ticket = (client: string) => ({ clientId: client, jobId: client });

describe('ModelScheduler, cross-job batching', () => {
  it('merges the waiting calls of several jobs into one model call and gives each its own ε̂', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const calls = [s.denoise(ticket('A'), model, tagged(10, 2)), s.denoise(ticket('B'), model, tagged(20)), s.denoise(ticket('C'), model, tagged(30, 3))] as const;
    await model.finish();
    await blocker;
    expect(model.batches).toHaveLength(2);
    expect(model.batches[1]!.length).toBe(6); // 2 + 1 + 3 samples, one call
    await model.finish();
    const [a, b, c] = await Promise.all(calls);
    expect(a.dims).toEqual([2, 3, 8, 8]);
    expect(Array.from(a.data)).toEqual(expectedEps(10, 2));
    expect(Array.from(b.data)).toEqual(expectedEps(20));
    expect(c.dims).toEqual([3, 3, 8, 8]);
    expect(Array.from(c.data)).toEqual(expectedEps(30, 3));
    expect(s.stats).toEqual({ calls: 2, merged: 3, waiting: 0 });
  });

  it('merges the next steps of jobs answered together, with no waiting between calls', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    // Like the sampling loop: each job sends its next call from the microtasks after its answer,
    // a few awaits deep (job runner → sampler → step), later than the scheduler's own settling.
    const loop = async (client: string, tag: number) => {
      for (let i = 0; i < 3; i++) {
        await s.denoise(ticket(client), model, tagged(tag + i));
        for (let hop = 0; hop < 5; hop++) await Promise.resolve();
      }
    };
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const jobs = [loop('A', 10), loop('B', 20), loop('C', 30)];
    for (let i = 0; i < 4; i++) await model.finish();
    await Promise.all([blocker, ...jobs]);
    expect(model.batches.map((g) => g.length)).toEqual([1, 3, 3, 3]);
  });

  it('lets a client add more than one call, in the order its calls came', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const calls = [s.denoise({ clientId: 'A', jobId: 'a1' }, model, tagged(10)), s.denoise({ clientId: 'A', jobId: 'a2' }, model, tagged(11)),
      s.denoise(ticket('B'), model, tagged(20))];
    await model.finish();
    await model.finish();
    await Promise.all([blocker, ...calls]);
    expect(model.batches[1]).toEqual([10, 20, 11]); // tag order: A's first, B (a newcomer), then A's second
  });

  it('never merges calls of another [3,H,W] or another model; a call left out runs right after', async () => {
    const model = new FakeModel();
    const other = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const calls = [
      s.denoise(ticket('A'), model, tagged(10)),
      s.denoise(ticket('B'), model, tagged(20, 1, 16)),
      s.denoise(ticket('C'), other, tagged(30)),
      s.denoise(ticket('D'), model, tagged(40)),
      s.denoise(ticket('E'), model, tagged(50, 1, 16)),
    ];
    await model.finish(); // the blocker
    expect(model.batches[1]).toEqual([10, 40]);
    await model.finish();
    expect(model.batches[2]).toEqual([20, 50]); // B's tag was the smallest left: next, with E's 16²
    await model.finish();
    expect(other.batches).toEqual([[30]]);
    await other.finish();
    const eps = await Promise.all([blocker, ...calls]);
    expect(Array.from(eps[2]!.data)).toEqual(expectedEps(20, 1, 16));
    expect(Array.from(eps[5]!.data)).toEqual(expectedEps(50, 1, 16));
  });

  it('never merges past the memory bound, the job runner’s 8 × 256² by default', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true, maxBatchPixels: 3 * 8 * 8 });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const calls = [10, 20, 30, 40, 50].map((tag, i) => s.denoise(ticket(`c${i}`), model, tagged(tag, i === 1 ? 2 : 1)));
    for (let i = 0; i < 4; i++) await model.finish();
    await Promise.all([blocker, ...calls]);
    // 10 (1) + 20 (2) fill 3 samples; 30, 40, 50 the next; the bound is in pixels, never exceeded.
    expect(model.batches.slice(1).map((g) => g.map((t) => Math.round(t * 10) / 10))).toEqual([[10, 20, 20.1], [30, 40, 50]]);

    expect(DEFAULT_MAX_BATCH_PIXELS).toBe(8 * 256 * 256);
    const big = new FakeModel();
    const d = new ModelScheduler({ batching: true });
    const first = d.denoise(ticket('Z'), big, tagged(1, 1, 256));
    await turns();
    const nine = Array.from({ length: 9 }, (_, i) => d.denoise(ticket(`c${i}`), big, tagged(10 + i, 1, 256)));
    for (let i = 0; i < 3; i++) await big.finish();
    await Promise.all([first, ...nine]);
    expect(big.batches.map((g) => g.length)).toEqual([1, 8, 1]);
  });

  it('charges each client its own pixels, not the merged call’s: fair shares as without batching', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const loop = async (client: string, tag: number, size: number, calls: number) => {
      for (let i = 0; i < calls; i++) await s.denoise(ticket(client), model, tagged(tag, 1, size));
    };
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    // A and B (8²) merge; C's 16² call costs 4 of theirs and cannot join them.
    const jobs = [loop('A', 10, 8, 12), loop('B', 20, 8, 12), loop('C', 30, 16, 3)];
    for (let i = 0; i < 16; i++) await model.finish(); // Z, 12 × AB, 3 × C
    await Promise.all([blocker, ...jobs]);
    const order = model.batches.slice(1).map((g) => g.map((t) => (t >= 30 ? 'C' : t >= 20 ? 'B' : 'A')).join(''));
    // Once C has started, A and B get 4 calls each per C call (4 × 64 = 256 pixels, C's one call):
    // the shares of one call at a time. Charged the merged call's 128, they would get 2.
    expect(order.slice(0, 11)).toEqual(['AB', 'C', 'AB', 'AB', 'AB', 'C', 'AB', 'AB', 'AB', 'AB', 'C']);
  });

  it('rejects an aborted caller at once, waiting or inside a running merged call, and answers the others', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const running = new AbortController();
    const waiting = new AbortController();
    const a = s.denoise(ticket('A'), model, tagged(10), running.signal);
    const b = s.denoise(ticket('B'), model, tagged(20));
    const c = s.denoise(ticket('C'), model, tagged(30), waiting.signal);
    waiting.abort(new Error('C cancelled'));
    await expect(c).rejects.toThrow('C cancelled');
    await model.finish();
    expect(model.batches[1]).toEqual([10, 20]); // C left the line before the merge
    running.abort(new Error('A cancelled'));
    await expect(a).rejects.toThrow('A cancelled'); // before the model answers
    await model.finish();
    await blocker;
    expect(Array.from((await b).data)).toEqual(expectedEps(20));
    expect(s.stats.waiting).toBe(0);
  });

  it('rejects every caller of a merged call that failed, and goes on with the next', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const merged = [s.denoise(ticket('A'), model, tagged(10)), s.denoise(ticket('B'), model, tagged(20))];
    const failed = Promise.all(merged.map((call) => expect(call).rejects.toThrow('model broke')));
    model.fail = true;
    await model.finish();
    await blocker;
    await failed;
    expect(model.batches[1]).toEqual([10, 20]);
    model.fail = false;
    const next = s.denoise(ticket('A'), model, tagged(11));
    await model.finish();
    expect(Array.from((await next).data)).toEqual(expectedEps(11));
  });

  it('runs malformed inputs alone, so only their caller gets the model’s error', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const blocker = s.denoise(ticket('Z'), model, tagged(1));
    await turns(); // the blocker runs alone; the calls below wait together
    const bad = tagged(10);
    const calls = [s.denoise(ticket('A'), model, { ...bad, gamma: Float32Array.of(10, 10) }), s.denoise(ticket('B'), model, tagged(20)),
      s.denoise(ticket('C'), model, tagged(30))];
    for (let i = 0; i < 3; i++) await model.finish();
    await Promise.all([blocker, ...calls]);
    expect(model.batches.slice(1)).toEqual([[10, 10], [20, 30]]);
  });

  it('starts jobs that come together with one shared call', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: true });
    const calls = [10, 20, 30].map((tag) => s.denoise(ticket(`c${tag}`), model, tagged(tag)));
    await model.finish();
    await Promise.all(calls);
    expect(model.batches).toEqual([[10, 20, 30]]);
  });

  it('with batching: false, sends one call at a time', async () => {
    const model = new FakeModel();
    const s = new ModelScheduler({ batching: false });
    const calls = [10, 20, 30].map((tag) => s.denoise(ticket(`c${tag}`), model, tagged(tag)));
    for (let i = 0; i < 3; i++) await model.finish();
    await Promise.all(calls);
    expect(model.batches).toEqual([[10], [20], [30]]);
  });

  it('never merges the calls of a model that is not batch-invariant, even with batching on', async () => {
    const model = new FakeModel(false);
    const s = new ModelScheduler({ batching: true });
    const calls = [10, 20, 30].map((tag) => s.denoise(ticket(`c${tag}`), model, tagged(tag)));
    for (let i = 0; i < 3; i++) await model.finish();
    await Promise.all(calls);
    expect(model.batches).toEqual([[10], [20], [30]]);
    expect(s.stats).toMatchObject({ calls: 3, merged: 0 });
  });
});

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

function fillJob(variants: number, size = 32): ModelJob {
  const cond = new Float32Array(variants * 3 * size * size).map((_, i) => Math.sin(i % (3 * size * size)) * 0.5);
  const hole = new Float32Array(size * size).map((_, i) => (i % size > 10 && i % size < 20 ? 1 : 0));
  return { cond, height: size, width: size, hole, label: 'test', region: { canvas: { x: 0, y: 0, width: size, height: size } } };
}

describe('ModelScheduler with the real model (tiny fixture in a ModelThread)', () => {
  let thread: ModelThread;
  beforeAll(async () => {
    thread = await ModelThread.open(FIXTURE, { intraOpThreads: 1 });
  });
  afterAll(async () => thread.close());

  const job = (s: ModelScheduler, client: string, seeds: number[], sampler: 'ddim' | 'dpmpp-2m' = 'ddim') =>
    createJobRunner(s.forJob(ticket(client))(thread), { sampler, steps: 6, eta: 0, seeds, maxBatch: 8 }, { previewIntervalMs: 0 },
      new AbortController().signal)(fillJob(seeds.length));

  it('gives a job bit-identical variants alone and beside other jobs (batching off, the default)', async () => {
    const alone = await job(new ModelScheduler({ batching: false }), 'A', [5, 6]);
    const s = new ModelScheduler();
    const [beside] = await Promise.all([job(s, 'A', [5, 6]), job(s, 'B', [1, 2, 3]), job(s, 'C', [9], 'dpmpp-2m')]);
    expect(s.stats).toMatchObject({ calls: 18, merged: 0 });
    expect(beside.map((v) => Array.from(v))).toEqual(alone.map((v) => Array.from(v)));
  });

  it('with batching on, merges the jobs’ calls and gives each job bit-identical variants to its run alone', async () => {
    const s = new ModelScheduler({ batching: true });
    const [merged, other, third] = await Promise.all([job(s, 'A', [5, 6]), job(s, 'B', [1, 2, 3]), job(s, 'C', [9], 'dpmpp-2m')]);
    expect(s.stats).toMatchObject({ calls: 6, merged: 18 }); // each step of the 3 jobs, one call
    const off = new ModelScheduler({ batching: false });
    const alone = [await job(off, 'A', [5, 6]), await job(off, 'B', [1, 2, 3]), await job(off, 'C', [9], 'dpmpp-2m')];
    expect(thread.manifest.batch_invariant).toBe(true);
    const bits = (variants: Float32Array[]) => variants.map((v) => Array.from(v));
    expect(bits(merged)).toEqual(bits(alone[0]!));
    expect(bits(other)).toEqual(bits(alone[1]!));
    expect(bits(third)).toEqual(bits(alone[2]!));
    expect(Array.from(merged[0]!)).not.toEqual(Array.from(merged[1]!)); // still each seed's own variant
  });
});
