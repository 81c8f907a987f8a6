import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { ModelThread } from '../../daemon/model-thread.ts';
import { KServeExecutor } from '../../daemon/kserve-executor.ts';
import { FakeKServe } from './fake-kserve-server.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

describe('ModelRegistry', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  it('finds the model folder it was given and makes it the default', () => {
    expect(registry.models.map((m) => m.name)).toEqual(['tiny-model']);
    expect(registry.defaultModel).toBe('tiny-model');
    expect(() => registry.find('nope')).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
  });

  it('opens the model once, in a worker thread, for concurrent callers', async () => {
    const [a, b] = await Promise.all([registry.runner(undefined), registry.runner('tiny-model')]);
    expect(a).toBe(b);
    expect(a).toBeInstanceOf(ModelThread);
    expect(a.manifest.native_resolution).toBe(32);
  });

  it('replaces a model thread that died, and the old one fails its calls with MODEL_RUN_FAILED', async () => {
    const first = (await registry.runner('tiny-model')) as ModelThread;
    // What an onnxruntime crash looks like from here: the worker exits.
    await (first as unknown as { worker: Worker }).worker.terminate();
    await new Promise((r) => setTimeout(r, 10));
    expect(first.alive).toBe(false);
    const dims = [1, 3, 32, 32] as const;
    const data = new Float32Array(3 * 32 * 32);
    await expect(first.denoise({ cond: { data, dims }, yT: { data, dims }, gamma: Float32Array.of(0.5) }))
      .rejects.toMatchObject({ code: 'MODEL_RUN_FAILED' });
    const second = await registry.runner('tiny-model');
    expect(second).not.toBe(first);
    await expect(second.denoise({ cond: { data, dims }, yT: { data, dims }, gamma: Float32Array.of(0.5) })).resolves.toMatchObject({ dims });
  });
});

describe('ModelRegistry with --executor kserve', () => {
  it('opens the model on the inference server, with the local manifest, and reuses it', async () => {
    const fake = await FakeKServe.start();
    const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], executor: { kind: 'kserve', urls: [fake.url], checkWeights: false } });
    try {
      const runner = await registry.runner('tiny-model');
      expect(runner).toBeInstanceOf(KServeExecutor);
      expect(runner.manifest.native_resolution).toBe(32);
      expect(await registry.runner(undefined)).toBe(runner);
      const dims = [1, 3, 32, 32] as const;
      const data = new Float32Array(3 * 32 * 32).fill(1);
      await runner.denoise({ cond: { data, dims }, yT: { data, dims }, gamma: Float32Array.of(0.5) });
      expect(fake.calls).toHaveLength(1);
    } finally {
      await registry.close();
      await fake.close();
    }
  });
});
