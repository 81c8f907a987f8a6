import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KServeExecutor, type KServeOptions } from '../../daemon/kserve-executor.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import type { DenoiseInputs } from '../../daemon/model-runner.ts';
import { failure, fakeInputs, FakeKServe, fakeNetwork, type FakeOptions, freePort } from './fake-kserve-server.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

const inputs = (b: number, h = 8, w = 12): DenoiseInputs => fakeInputs({ b, h, w, gamma: (i) => 0.1 * (i + 1) });
const expected = fakeNetwork;

let fake: FakeKServe | undefined;
let executor: KServeExecutor | undefined;
afterEach(async () => {
  await executor?.close();
  await fake?.close();
  executor = undefined;
  fake = undefined;
});

async function open(fakeOptions: FakeOptions = {}, options: Partial<KServeOptions> = {}): Promise<KServeExecutor> {
  fake = await FakeKServe.start(fakeOptions);
  // The fake's network is not the fixture's, so the weights probe is off here (and tested below).
  executor = await KServeExecutor.open(FIXTURE, { url: fake.url, retryDelayMs: 5, checkWeights: false, ...options });
  return executor;
}

describe('KServeExecutor', () => {
  it('runs ε̂ on the server with binary tensors, the local manifest and the folder name as model', async () => {
    const model = await open();
    expect(model.manifest.name).toBe('tiny-fixture');
    expect(model.modelName).toBe('tiny-model');
    expect(model.device).toBe('remote');
    const x = inputs(3);
    const eps = await model.denoise(x);
    expect(eps.dims).toEqual([3, 3, 8, 12]);
    expect(eps.data).toEqual(expected(x));
    expect(fake!.calls).toHaveLength(1);
    expect(fake!.calls[0]).toMatchObject({ binary: true, shapes: { cond: [3, 3, 8, 12], y_t: [3, 3, 8, 12], gamma: [3] } });
  });

  it('speaks JSON tensors when the binary extension is turned off', async () => {
    const model = await open({}, { binary: false });
    const x = inputs(2);
    expect((await model.denoise(x)).data).toEqual(expected(x));
    expect(fake!.calls[0]?.binary).toBe(false);
  });

  it('sends γ as [B,1] to a Triton batcher, and splits a batch over its max_batch_size in order', async () => {
    const model = await open({ gammaShape: [-1, 1], maxBatch: 2 });
    const x = inputs(5);
    expect((await model.denoise(x)).data).toEqual(expected(x));
    expect(fake!.calls.map((c) => c.shapes.gamma)).toEqual([[2, 1], [2, 1], [1, 1]]);
  });

  it('sends the token as a bearer, and says when the server wants one or refuses it', async () => {
    const model = await open({ token: 's3cret' }, { token: 's3cret' });
    await model.denoise(inputs(1));
    expect(fake!.calls[0]?.headers.authorization).toBe('Bearer s3cret');
    await expect(KServeExecutor.open(FIXTURE, { url: fake!.url })).rejects.toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('wants a token') });
    await expect(KServeExecutor.open(FIXTURE, { url: fake!.url, token: 'wrong' })).rejects.toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('refused the token') });
  });

  it('fails open with EXECUTOR_UNAVAILABLE when nothing listens, the server is not ready, or lacks the model', async () => {
    const port = await freePort();
    const down = await failure(KServeExecutor.open(FIXTURE, { url: `http://127.0.0.1:${port}` }));
    expect(down).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('is it running?') });

    fake = await FakeKServe.start({ model: 'other' });
    expect(await failure(KServeExecutor.open(FIXTURE, { url: fake.url }))).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('has no model tiny-model') });
    fake.ready = false;
    expect(await failure(KServeExecutor.open(FIXTURE, { url: fake.url, model: 'other' }))).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('not ready') });
  });

  it('refuses a server whose network answers model.json’s weights probe differently (other weights, same signature)', async () => {
    fake = await FakeKServe.start();
    const error = await failure(KServeExecutor.open(FIXTURE, { url: fake.url }));
    expect(error).toMatchObject({ code: 'MODEL_SIGNATURE_MISMATCH', message: expect.stringContaining('computes another network') });
    expect(fake.calls).toHaveLength(1); // the probe, [2,3,16,16]
    expect(fake.calls[0]!.shapes.cond).toEqual([2, 3, 16, 16]);
  });

  it('refuses a served model without the Palette signature, naming what it has', async () => {
    fake = await FakeKServe.start({ inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 6, -1, -1] }] });
    const error = await failure(KServeExecutor.open(FIXTURE, { url: fake.url }));
    expect(error).toMatchObject({ code: 'MODEL_SIGNATURE_MISMATCH', message: expect.stringContaining('input FP32 [-1,6,-1,-1]') });
  });

  it('retries a call after a dropped connection or a 503, and gives up after its retries', async () => {
    const model = await open({}, { retries: 2 });
    const x = inputs(1);
    fake!.failNext = { count: 1, dropConnection: true };
    expect((await model.denoise(x)).data).toEqual(expected(x));
    fake!.failNext = { count: 2, status: 503 };
    expect((await model.denoise(x)).data).toEqual(expected(x));
    expect(fake!.calls).toHaveLength(5);
    fake!.failNext = { count: 3, status: 503 };
    expect(await failure(model.denoise(x))).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('failed 3 times') });
  });

  it('does not retry a call the server rejects (400), and checks shapes before sending', async () => {
    const model = await open();
    fake!.failNext = { count: 1, status: 400 };
    expect(await failure(model.denoise(inputs(1)))).toMatchObject({ code: 'MODEL_RUN_FAILED', message: expect.stringContaining('400') });
    expect(fake!.calls).toHaveLength(1);
    const bad = inputs(1, 6, 8); // 6 is not a multiple of the fixture's size_multiple 4
    expect(await failure(model.denoise(bad))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(fake!.calls).toHaveLength(1);
  });

  it('is not alive after close and fails later calls', async () => {
    const model = await open();
    await model.close();
    expect(model.alive).toBe(false);
    expect(await failure(model.denoise(inputs(1)))).toMatchObject({ code: 'MODEL_RUN_FAILED' });
  });

  it('rejects a URL that is not http(s), and a CA file for plain http', async () => {
    await expect(KServeExecutor.open(FIXTURE, { url: 'grpc://x:8001' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(KServeExecutor.open(FIXTURE, { url: 'http://x:8000', caFile: '/nope.pem' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
