import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, sha256File } from '../../daemon/model-manifest.ts';
import { ModelRunner, type NchwTensor } from '../../daemon/model-runner.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

function filled(dims: [number, number, number, number], f: (i: number) => number): NchwTensor {
  const data = new Float32Array(dims[0] * dims[1] * dims[2] * dims[3]);
  for (let i = 0; i < data.length; i++) data[i] = f(i);
  return { data, dims };
}

describe('ModelRunner with the tiny fixture', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = await ModelRunner.open(FIXTURE, { intraOpThreads: 1 });
  });
  afterAll(async () => {
    await runner.close();
  });

  it('returns eps of the input shape for dynamic batch, height and width', async () => {
    for (const [b, h, w] of [[1, 32, 32], [3, 24, 40]] as const) {
      const dims: [number, number, number, number] = [b, 3, h, w];
      const eps = await runner.denoise({
        cond: filled(dims, (i) => Math.sin(i) * 0.5),
        yT: filled(dims, (i) => Math.cos(i * 0.7)),
        gamma: Float32Array.from({ length: b }, (_, i) => 0.1 + 0.2 * i),
      });
      expect(eps.dims).toEqual(dims);
      expect(eps.data.length).toBe(b * 3 * h * w);
      expect(eps.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('is a function of gamma (the noise level reaches the network)', async () => {
    const dims: [number, number, number, number] = [1, 3, 32, 32];
    const cond = filled(dims, (i) => Math.sin(i) * 0.5);
    const yT = filled(dims, (i) => Math.cos(i * 0.7));
    const a = await runner.denoise({ cond, yT, gamma: Float32Array.of(0.01) });
    const b = await runner.denoise({ cond, yT, gamma: Float32Array.of(0.99) });
    const again = await runner.denoise({ cond, yT, gamma: Float32Array.of(0.01) });
    expect(Array.from(again.data)).toEqual(Array.from(a.data));
    const diff = a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - (b.data[i] ?? 0))), 0);
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('rejects shapes the model cannot take with a coded error', async () => {
    const dims: [number, number, number, number] = [1, 3, 30, 32];
    await expect(
      runner.denoise({ cond: filled(dims, () => 0), yT: filled(dims, () => 0), gamma: Float32Array.of(0.5) }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('ModelRunner.open', () => {
  async function folderWith(onnxFile: Buffer): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'palette-runner-'));
    writeFileSync(join(dir, 'model.onnx'), onnxFile);
    const manifest = JSON.parse(readFileSync(join(FIXTURE, 'model.json'), 'utf8'));
    manifest.sha256 = await sha256File(join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
    return dir;
  }

  it('refuses a valid ONNX graph without the Palette inputs and output', async () => {
    const dir = await folderWith(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'not-palette.onnx')));
    await expect(ModelRunner.open(dir)).rejects.toMatchObject({
      code: 'MODEL_SIGNATURE_MISMATCH',
      message: expect.stringContaining('cond, y_t, gamma'),
    });
  });

  it('reports a file onnxruntime cannot parse', async () => {
    const dir = await folderWith(Buffer.from('not an onnx model'));
    await expect(ModelRunner.open(dir)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  });
});
