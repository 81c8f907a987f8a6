import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KServeExecutor } from '../../daemon/kserve-executor.ts';
import { KServePool } from '../../daemon/kserve-pool.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import type { DenoiseInputs, Denoiser } from '../../daemon/model-runner.ts';
import { ModelScheduler } from '../../daemon/model-scheduler.ts';
import { failure, fakeInputs, FakeKServe, fakeNetwork, type FakeOptions, freePort } from './fake-kserve-server.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

const inputs = (tag: number): DenoiseInputs => fakeInputs({ tag });
const expected = fakeNetwork;

let fakes: FakeKServe[] = [];
let pool: Denoiser | undefined;
const logs: string[] = [];
afterEach(async () => {
  await pool?.close();
  await Promise.all(fakes.map((f) => f.close()));
  pool = undefined;
  fakes = [];
  logs.length = 0;
});

async function servers(n: number, options: FakeOptions = {}): Promise<FakeKServe[]> {
  fakes = await Promise.all(Array.from({ length: n }, () => FakeKServe.start(options)));
  return fakes;
}

let clock = 0;
const openPool = async (urls: string[]) => {
  pool = await KServePool.open(FIXTURE, urls, { retries: 0, retryDelayMs: 1, downMs: 1000, now: () => clock, log: (l) => logs.push(l), checkWeights: false });
  return pool as KServePool;
};

describe('KServePool', () => {
  it('is the plain executor for one URL, and a pool of one call per server for several', async () => {
    const [a, b] = await servers(2);
    pool = await KServePool.open(FIXTURE, [a!.url], { checkWeights: false });
    expect(pool).toBeInstanceOf(KServeExecutor);
    await pool.close();
    const p = await openPool([a!.url, b!.url]);
    expect(p.concurrency).toBe(2);
    expect(p.device).toBe('remote');
    expect(p.manifest.name).toBe('tiny-fixture');
  });

  it('spreads calls in flight over the servers, each answer its own call’s', async () => {
    const [a, b] = await servers(2);
    const p = await openPool([a!.url, b!.url]);
    const xs = [inputs(1), inputs(2), inputs(3), inputs(4)];
    const answers = await Promise.all(xs.map((x) => p.denoise(x)));
    answers.forEach((eps, i) => expect(Array.from(eps.data)).toEqual(Array.from(expected(xs[i]!))));
    expect(a!.calls).toHaveLength(2);
    expect(b!.calls).toHaveLength(2);
  });

  for (const fault of [{ status: 503 }, { dropConnection: true }]) {
    it(`sends a call again to the next server when one ${fault.status ? 'answers 503' : 'drops the connection'}, and skips that one for a while`, async () => {
      clock = 0;
      const [a, b] = await servers(2);
      const p = await openPool([a!.url, b!.url]);
      b!.failNext = { count: 100, ...fault };
      const x = inputs(7);
      // Calls take turns at which server they try first, so within two calls one tries b and goes to a.
      for (let i = 0; i < 2; i++) expect(Array.from((await p.denoise(x)).data)).toEqual(Array.from(expected(x)));
      expect(p.status.map((n) => n.up)).toEqual([true, false]);
      expect(logs.join('\n')).toContain(`${b!.url} is down`);
      const triedB = b!.calls.length;
      expect(triedB).toBe(1);
      for (let i = 0; i < 4; i++) await p.denoise(x);
      expect(b!.calls).toHaveLength(triedB); // skipped while down
      expect(a!.calls).toHaveLength(6);
    });
  }

  it('does not send a call the server rejected (400) to another server', async () => {
    const [a, b] = await servers(2);
    const p = await openPool([a!.url, b!.url]);
    a!.failNext = { count: 1, status: 400 };
    b!.failNext = { count: 1, status: 400 };
    expect(await failure(p.denoise(inputs(1)))).toMatchObject({ code: 'MODEL_RUN_FAILED' });
    expect(a!.calls.length + b!.calls.length).toBe(1);
    expect(p.status.every((n) => n.up)).toBe(true);
  });

  it('starts with the servers that answer, takes a server back once it is up, and fails when all are down', async () => {
    clock = 0;
    const [a] = await servers(1);
    const port = await freePort();
    const later = `http://127.0.0.1:${port}`;
    const p = await openPool([a!.url, later]);
    expect(p.status.map((n) => n.up)).toEqual([true, false]);
    expect(logs.join('\n')).toContain(`${later} is down at start`);
    const x = inputs(3);
    await p.denoise(x);
    expect(a!.calls).toHaveLength(1);
    fakes.push(await FakeKServe.start({ port }));
    clock = 2000; // past downMs: the next call checks it again
    await p.denoise(x);
    await p.settled();
    expect(p.status.map((n) => n.up)).toEqual([true, true]);
    await Promise.all([p.denoise(x), p.denoise(x)]);
    expect(fakes[1]!.calls.length).toBeGreaterThan(0);
    await Promise.all(fakes.map((f) => f.close()));
    fakes = [];
    expect(await failure(p.denoise(x))).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('every inference server') });
  });

  it('refuses to start when no server answers, or when one serves another network', async () => {
    const ports = [await freePort(), await freePort()];
    expect(await failure(openPool(ports.map((p) => `http://127.0.0.1:${p}`)))).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('none of the 2') });
    const good = await FakeKServe.start();
    const other = await FakeKServe.start({ inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 6, -1, -1] }] });
    fakes = [good, other];
    expect(await failure(openPool([good.url, other.url]))).toMatchObject({ code: 'MODEL_SIGNATURE_MISMATCH' });
  });

  it('lets the model scheduler keep one call in flight per server', async () => {
    const [a, b] = await servers(2);
    const p = await openPool([a!.url, b!.url]);
    const s = new ModelScheduler();
    let inFlight = 0;
    let most = 0;
    const counting: Denoiser = {
      manifest: p.manifest, device: p.device, concurrency: p.concurrency, close: () => p.close(),
      denoise: async (x) => {
        most = Math.max(most, ++inFlight);
        try {
          return await p.denoise(x);
        } finally {
          inFlight--;
        }
      },
    };
    const jobs = ['A', 'B', 'C'].map(async (client, k) => {
      for (let step = 0; step < 4; step++) await s.denoise({ clientId: client, jobId: client }, counting, inputs(k));
    });
    await Promise.all(jobs);
    expect(most).toBe(2);
    expect(s.stats).toMatchObject({ calls: 12, merged: 0 });
  });
});
