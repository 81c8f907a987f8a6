/**
 * The daemon against a real Triton Inference Server on loopback (npm run test:triton; .ci/run runs it).
 * models/serving/triton_server.py serves the tiny fixture model from the nvidia-pytriton wheel's
 * tritonserver; the daemon reaches it only through --executor kserve (KServeExecutor, binary tensors).
 *
 * It does not skip: without models/serving/.venv-triton it fails and says how to make it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, type RunArgs } from '../../daemon/cli/run-command.ts';
import { decodeImage, encodePng } from '../../daemon/imaging.ts';
import { KServeExecutor } from '../../daemon/kserve-executor.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { ModelRunner, type DenoiseInputs, type NchwTensor } from '../../daemon/model-runner.ts';
import { startServer, type RunningServer } from '../../daemon/server.ts';
import { startTriton, TRITON_PYTHON, type TritonProcess } from './triton-process.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');
const dir = mkdtempSync(join(tmpdir(), 'palette-triton-'));
const report: Record<string, unknown> = {};

let triton: TritonProcess | undefined;
let url = '';

async function writeInputs(): Promise<{ image: string; mask: string }> {
  const width = 96;
  const height = 72;
  const photo = new Uint8Array(width * height * 4);
  const hole = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      photo.set([(x * 5 + y * 3) % 256, x * 2, y * 3, 255], i);
      const v = x > 30 && x < 64 && y > 18 && y < 52 ? 255 : 0;
      hole.set([v, v, v, 255], i);
    }
  }
  const image = join(dir, 'photo.png');
  const mask = join(dir, 'mask.png');
  writeFileSync(image, await encodePng({ width, height, data: photo }));
  writeFileSync(mask, await encodePng({ width, height, data: hole }));
  return { image, mask };
}

const scan = (executor?: { kind: 'kserve'; urls: string[] }) =>
  ModelRegistry.scan({ root: join(dir, 'none'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1, ...(executor ? { executor } : {}) });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('--executor kserve against Triton Inference Server (nvidia-pytriton, loopback)', () => {
  let daemon: RunningServer | undefined;
  let remoteRegistry: ModelRegistry | undefined;

  beforeAll(async () => {
    const started = performance.now();
    triton = await startTriton({ modelDir: FIXTURE, threads: 1 });
    url = triton.url;
    report.tritonStartMs = Math.round(performance.now() - started);
  }, 150_000);

  afterAll(async () => {
    await daemon?.close();
    await remoteRegistry?.close();
    await triton?.stop();
    mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-output', 'triton-e2e.json'), JSON.stringify(report, null, 2) + '\n');
    console.log(`triton e2e: ${JSON.stringify(report)}`);
  }, 30_000);

  it('reads the served model as a Palette signature (γ as [B,1] under the dynamic batcher), and ε̂ matches onnxruntime-node', async () => {
    const remote = await KServeExecutor.open(FIXTURE, { url });
    const local = await ModelRunner.open(FIXTURE, { intraOpThreads: 1 });
    try {
      let max = 0;
      for (const [b, h, w] of [[1, 32, 32], [3, 24, 40], [20, 32, 32]] as const) { // 20 > max_batch_size 16: sent in parts
        const n = b * 3 * h * w;
        const dims = [b, 3, h, w] as const;
        const inputs: DenoiseInputs = {
          cond: { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), dims },
          yT: { data: Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11) * 1.5), dims },
          gamma: Float32Array.from({ length: b }, (_, i) => (i + 1) / (b + 1)),
        };
        const [r, l] = await Promise.all([remote.denoise(inputs), local.denoise(inputs)]);
        expect(r.dims).toEqual(dims);
        max = Math.max(max, maxAbsDiff(r.data, l.data));
      }
      report.epsMaxAbsDiffRandomInputs = max;
      expect(max).toBeLessThan(1e-4);
    } finally {
      await remote.close();
      await local.close();
    }
  });

  it('the same fill with the same seeds through the daemon on Triton and in-process gives the same variants', async () => {
    const { image, mask } = await writeInputs();
    const base = (out: string): RunArgs => ({ task: 'fill', image, mask, variants: 2, steps: 8, seed: 1234, sampler: 'ddim', out: join(dir, out) });

    // The daemon (socket, session, queue, scheduler) with its model calls on Triton; each ε̂ is also
    // computed locally on the very same inputs, to measure the float difference along the trajectory.
    remoteRegistry = scan({ kind: 'kserve', urls: [url] });
    const remoteModel = await remoteRegistry.runner('tiny-model');
    expect(remoteModel).toBeInstanceOf(KServeExecutor);
    const shadow = await ModelRunner.open(FIXTURE, { intraOpThreads: 1 });
    let epsMax = 0;
    let calls = 0;
    let remoteMs = 0;
    const send = remoteModel.denoise.bind(remoteModel);
    (remoteModel as { denoise: (x: DenoiseInputs) => Promise<NchwTensor> }).denoise = async (x) => {
      const t = performance.now();
      const eps = await send(x);
      remoteMs += performance.now() - t;
      calls++;
      epsMax = Math.max(epsMax, maxAbsDiff(eps.data, (await shadow.denoise(x)).data));
      return eps;
    };
    daemon = await startServer({ host: '127.0.0.1', port: 0, registry: remoteRegistry, log: () => undefined });
    const viaTriton = await runCommand({ ...base('triton'), connect: daemon.url }, scan, () => undefined);
    await shadow.close();

    const inProcess = await runCommand(base('local'), scan, () => undefined);
    expect(viaTriton).toHaveLength(2);
    expect(inProcess).toHaveLength(2);
    let pixelMax = 0;
    for (const [i, path] of inProcess.entries()) {
      const a = await decodeImage(readFileSync(path));
      const b = await decodeImage(readFileSync(viaTriton[i]!));
      expect([b.width, b.height]).toEqual([a.width, a.height]);
      pixelMax = Math.max(pixelMax, maxAbsDiff(a.data, b.data));
    }
    const summary = JSON.parse(readFileSync(join(dir, 'triton', 'result.json'), 'utf8')) as { seeds: number[]; timings: { sampleMs: number } };
    const local = JSON.parse(readFileSync(join(dir, 'local', 'result.json'), 'utf8')) as { seeds: number[]; timings: { sampleMs: number } };
    expect(summary.seeds).toEqual(local.seeds);
    Object.assign(report, {
      fill: { variants: 2, steps: 8, seeds: summary.seeds, modelCalls: calls },
      pixelMaxAbsDiff: pixelMax,
      epsMaxAbsDiffAlongSampling: epsMax,
      remoteCallMsMean: Math.round((remoteMs / Math.max(calls, 1)) * 10) / 10,
      // The Triton run's sampling time includes the local shadow call after each remote one.
      sampleMs: { tritonWithShadow: summary.timings.sampleMs, local: local.timings.sampleMs },
    });
    expect(calls).toBeGreaterThan(0);
    expect(pixelMax).toBeLessThanOrEqual(1);
    expect(epsMax).toBeLessThan(1e-4);
  });

  it('the repository `triton-repo` writes is valid Triton configuration (parsed by tritonclient\'s ModelConfig proto)', () => {
    const repo = join(dir, 'repo');
    const write = spawnSync(join(REPO_ROOT, 'models', 'training', '.venv', 'bin', 'python'), ['-m', 'palette_training', 'triton-repo', '--model', FIXTURE, '--out', repo],
      { cwd: join(REPO_ROOT, 'models', 'training'), encoding: 'utf8', timeout: 60_000 });
    expect(write.status, write.stderr).toBe(0);
    const parse = spawnSync(TRITON_PYTHON, ['-c', [
      'import json, sys',
      'from google.protobuf import text_format',
      'from tritonclient.grpc import model_config_pb2 as m',
      'out = []',
      'for path in sys.argv[1:]:',
      '    c = text_format.Parse(open(path).read(), m.ModelConfig())',
      '    out.append({"name": c.name, "backend": c.backend, "max": c.max_batch_size, "inputs": [[i.name, list(i.dims)] for i in c.input],',
      '                "gammaReshape": list(c.input[2].reshape.shape), "kind": m.ModelInstanceGroup.Kind.Name(c.instance_group[0].kind),',
      '                "preferred": list(c.dynamic_batching.preferred_batch_size)})',
      'print(json.dumps(out))',
    ].join('\n'), join(repo, 'tiny-model', 'config.pbtxt'), join(repo, 'tiny-model', 'configs', 'cpu.pbtxt')], { encoding: 'utf8', timeout: 60_000 });
    expect(parse.status, parse.stderr).toBe(0);
    const configs = JSON.parse(parse.stdout) as { kind: string }[];
    const common = { name: 'tiny-model', backend: 'onnxruntime', max: 16, inputs: [['cond', [3, -1, -1]], ['y_t', [3, -1, -1]], ['gamma', [1]]], gammaReshape: [], preferred: [4, 8, 16] };
    expect(configs).toEqual([{ ...common, kind: 'KIND_GPU' }, { ...common, kind: 'KIND_CPU' }]);
  });

  it('a daemon whose Triton went away fails the job with MODEL_FAILED, not a hang', async () => {
    await triton?.stop();
    const { image, mask } = await writeInputs();
    await expect(runCommand({ task: 'fill', image, mask, variants: 1, steps: 2, seed: 1, out: join(dir, 'gone'), connect: daemon!.url }, scan, () => undefined))
      .rejects.toMatchObject({ code: 'MODEL_FAILED' });
  });
});
