import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest, REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRunner } from '../../daemon/model-runner.ts';
import { manifestProbe, PROBE_TOLERANCE, probeInputs, probeMismatch, type WeightsProbe } from '../../daemon/weights-probe.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

async function answer(dir: string, probe: WeightsProbe) {
  const runner = await ModelRunner.open(dir, { device: 'cpu', intraOpThreads: 1 });
  try {
    return await runner.denoise(probeInputs(probe));
  } finally {
    await runner.close();
  }
}

describe('weights probe', () => {
  it('is met by the network it was made from: the daemon builds the export’s input (Python) value for value', async () => {
    const probe = manifestProbe(readManifest(FIXTURE).manifest)!;
    expect(probe).toMatchObject({ side: 16, batch: 2, stride: 16 });
    expect(probe.eps).toHaveLength((2 * 3 * 16 * 16) / 16);
    expect(probeMismatch(probe, await answer(FIXTURE, probe))).toBeLessThan(1e-5);
  });

  it('tells another export of the same network apart by far more than the tolerance (palette-small-v4 against v5)', async () => {
    const probe = manifestProbe(readManifest(join(REPO_ROOT, 'models', 'palette-small-v5')).manifest)!;
    expect(probeMismatch(probe, await answer(join(REPO_ROOT, 'models', 'palette-small-v5'), probe))).toBeLessThan(1e-5);
    expect(probeMismatch(probe, await answer(join(REPO_ROOT, 'models', 'palette-small-v4'), probe))).toBeGreaterThan(5 * PROBE_TOLERANCE);
  });

  it('counts a missing or non-finite answer as a mismatch', () => {
    const probe: WeightsProbe = { side: 2, batch: 1, gamma: [0.5], stride: 4, eps: [1, 2, 3] };
    const tensor = (values: number[]) => ({ data: Float32Array.from(values), dims: [1, 3, 2, 2] as const });
    expect(probeMismatch(probe, tensor([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]))).toBe(0);
    expect(probeMismatch(probe, tensor([1, 0, 0, 0, 2, 0, 0, 0, 3.3, 0, 0, 0]))).toBeCloseTo(0.1, 5);
    expect(probeMismatch(probe, tensor([1, 0, 0, 0, NaN, 0, 0, 0, 3, 0, 0, 0]))).toBe(Infinity);
    expect(probeMismatch(probe, tensor([1, 0, 0, 0, 2]))).toBe(Infinity);
  });
});
