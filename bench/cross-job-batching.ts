/**
 * `npm run bench` (second part): cross-job batching against one model call at a time, side by side
 * in one run, for each executor (medians of repetitions that take turns, so machine noise hits all alike).
 *
 * 4 clients each start a 2-variant fill at the same moment, through the daemon's ModelScheduler and
 * job runner (hole noise per seed, the sampler, the model as `palette serve` runs it), at the model's
 * fill working size with its default sampler. Reported: total throughput (jobs/s and model pixels/s:
 * variants × H × W × steps over the wall time), each client's wait (start to done), model calls sent,
 * and how far the batched variants are from the unbatched ones (merged calls are not bit-exact on the
 * CPU, daemon/model-scheduler.ts).
 *
 * Executors (EXECUTORS below): `local`, onnxruntime in a worker thread; `kserve`, KServeExecutor against
 * Triton Inference Server on loopback (models/serving/triton_server.py, started and stopped here; its
 * onnxruntime gets the same --threads). By default both run, kserve only when the Triton venv exists
 * (bash models/serving/setup-triton-venv.sh). Options: --model NAME|DIR (default: the default model),
 * --executors local,kserve, --clients N, --variants N, --steps N, --size N, --reps N, --threads N.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createJobRunner } from '../daemon/job-runner.ts';
import { KServeExecutor } from '../daemon/kserve-executor.ts';
import { DEFAULT_MODEL, MODELS_DIR, REPO_ROOT, type ModelManifest } from '../daemon/model-manifest.ts';
import type { Denoiser } from '../daemon/model-runner.ts';
import { ModelScheduler } from '../daemon/model-scheduler.ts';
import { ModelThread } from '../daemon/model-thread.ts';
import type { SamplerName } from '../daemon/sampling/types.ts';
import type { ModelJob } from '../daemon/tasks/types.ts';
import { startTriton, TRITON_PYTHON, tritonVenvExists } from '../test/triton/triton-process.ts';

export interface ExecutorOptions {
  threads: number;
}

/** How each executor opens the model in `dir`; close() releases everything it started. */
export const EXECUTORS: Record<string, (dir: string, options: ExecutorOptions) => Promise<Denoiser>> = {
  // As the daemon runs it: onnxruntime on the CPU in a worker thread (daemon/model-registry.ts).
  local: (dir, { threads }) => ModelThread.open(dir, { device: 'cpu', intraOpThreads: threads }),
  // As `palette serve --executor kserve` runs it, against a Triton of our own on loopback.
  kserve: async (dir, { threads }) => {
    const triton = await startTriton({ modelDir: dir, threads });
    let remote: KServeExecutor;
    try {
      remote = await KServeExecutor.open(dir, { url: triton.url });
    } catch (error) {
      await triton.stop();
      throw error;
    }
    return {
      manifest: remote.manifest,
      device: remote.device,
      denoise: (inputs) => remote.denoise(inputs),
      close: async () => {
        await remote.close();
        await triton.stop();
      },
    };
  },
};

const { values } = parseArgs({
  options: {
    model: { type: 'string' }, executors: { type: 'string' }, executor: { type: 'string' }, clients: { type: 'string' },
    variants: { type: 'string' }, steps: { type: 'string' }, size: { type: 'string' }, reps: { type: 'string' }, threads: { type: 'string' },
  },
});
const modelDir = values.model
  ? existsSync(join(resolve(values.model), 'model.json')) ? resolve(values.model) : join(MODELS_DIR, values.model)
  : existsSync(join(MODELS_DIR, DEFAULT_MODEL, 'model.json')) ? join(MODELS_DIR, DEFAULT_MODEL) : join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');
const asked = values.executors ?? values.executor;
let executorNames = asked ? asked.split(',').map((x) => x.trim()).filter(Boolean) : Object.keys(EXECUTORS);
for (const name of executorNames) {
  if (!EXECUTORS[name]) throw new Error(`unknown executor ${name} (known: ${Object.keys(EXECUTORS).join(', ')})`);
}
if (executorNames.includes('kserve') && !tritonVenvExists()) {
  if (asked) throw new Error(`--executors kserve needs ${TRITON_PYTHON}: run bash models/serving/setup-triton-venv.sh`);
  console.log(`\ncross-job batching: kserve (Triton) SKIPPED: no ${TRITON_PYTHON}; run bash models/serving/setup-triton-venv.sh to include it`);
  executorNames = executorNames.filter((n) => n !== 'kserve');
}
const clients = Number(values.clients ?? 4);
const variants = Number(values.variants ?? 2);
const reps = Number(values.reps ?? 3);
const threads = Number(values.threads ?? 2);

// All executors are open for the whole run, so their repetitions can take turns. Each is closed on
// the way out, also after a failure (the kserve one stops its Triton).
const models = new Map<string, Denoiser>();
const closeAll = () => Promise.all([...models.values()].map((m) => m.close()));
process.once('SIGINT', () => void closeAll().finally(() => process.exit(130)));
try {
  for (const name of executorNames) models.set(name, await EXECUTORS[name]!(modelDir, { threads }));
} catch (error) {
  await closeAll();
  throw error;
}
const first = models.values().next().value as Denoiser;
const size = Number(values.size ?? fillSize(first.manifest));
const sampler: SamplerName = first.manifest.sampler?.name ?? 'ddim';
const steps = Number(values.steps ?? first.manifest.sampler?.steps ?? 20);

/** The size `palette serve` samples a fill at: the manifest's inpaint working size. */
function fillSize(manifest: ModelManifest): number {
  return manifest.working_sizes?.inpaint ?? manifest.native_resolution;
}

/** Client c's fill: its own picture, a centred hole, seeds of its own. */
function fillJob(client: number): ModelJob {
  const plane = size * size;
  const cond = new Float32Array(variants * 3 * plane).map((_, i) => Math.sin((i % (3 * plane)) * 0.37 + client) * 0.8);
  const hole = new Float32Array(plane).map((_, p) => (Math.abs((p % size) - size / 2) < size / 4 && Math.abs(Math.floor(p / size) - size / 2) < size / 4 ? 1 : 0));
  return { cond, height: size, width: size, hole, label: `client ${client}`, region: { canvas: { x: 0, y: 0, width: size, height: size } } };
}

interface Run {
  wallMs: number;
  /** Per client, start to done. */
  waitMs: number[];
  calls: number;
  variants: Float32Array[][];
}

async function concurrentFills(model: Denoiser, batching: boolean): Promise<Run> {
  const scheduler = new ModelScheduler({ batching });
  const t0 = performance.now();
  const waitMs: number[] = [];
  const results = await Promise.all(Array.from({ length: clients }, async (_, c) => {
    const seeds = Array.from({ length: variants }, (_, v) => 100 * c + v + 1);
    const calls = scheduler.forJob({ clientId: `client-${c}`, jobId: `job-${c}` })(model);
    const run = createJobRunner(calls, { sampler, steps, eta: 0, seeds, maxBatch: 8 }, { previewIntervalMs: 0 }, new AbortController().signal);
    const out = await run(fillJob(c));
    waitMs[c] = performance.now() - t0;
    return out;
  }));
  return { wallMs: performance.now() - t0, waitMs, calls: scheduler.stats.calls, variants: results };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

type Mode = 'batched' | 'sequential';
const configs = executorNames.flatMap((name) => (['sequential', 'batched'] as const).map((mode) => ({ name, mode })));
const runs = new Map(configs.map((c) => [`${c.name} ${c.mode}`, [] as Run[]]));
try {
  // Warm-up: first-call allocations, thread pools, Triton's first requests.
  for (const name of executorNames) await concurrentFills(models.get(name)!, false);
  for (let r = 0; r < reps; r++) {
    // Rotate which goes first, so a drift in machine speed does not favour one.
    for (let k = 0; k < configs.length; k++) {
      const { name, mode } = configs[(r + k) % configs.length]!;
      runs.get(`${name} ${mode}`)!.push(await concurrentFills(models.get(name)!, mode === 'batched'));
    }
  }
} finally {
  await closeAll();
}

const pixelsPerRun = clients * variants * size * size * steps;
// Other work on the machine shows here: a load above the cores makes the runs disagree.
const load = loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`\ncross-job batching: ${clients} clients × ${variants}-variant fill at ${size}², model ${first.manifest.name} ` +
  `(${threads} threads), ${sampler} ${steps} steps, median of ${reps} runs taking turns; load average ${load} on ${cpus().length} cores`);
console.log('| executor | model calls | wall s | jobs/s | Mpixel/s | ' + Array.from({ length: clients }, (_, c) => `client ${c + 1} wait s`).join(' | ') + ' |');
console.log('|---|---|---:|---:|---:|' + '---:|'.repeat(clients));
for (const { name, mode } of configs) {
  const rs = runs.get(`${name} ${mode}`)!;
  const wall = median(rs.map((r) => r.wallMs));
  const waits = Array.from({ length: clients }, (_, c) => (median(rs.map((r) => r.waitMs[c] ?? NaN)) / 1000).toFixed(2));
  const calls = median(rs.map((r) => r.calls));
  const label = mode === 'batched' ? `merged across jobs (${calls} calls)` : `one at a time (${calls} calls)`;
  const all = rs.map((r) => (r.wallMs / 1000).toFixed(1)).join(', ');
  const where = `${name} (${models.get(name)!.device})`;
  console.log(`| ${where} | ${label} | ${(wall / 1000).toFixed(2)} (runs: ${all}) | ${((clients * 1000) / wall).toFixed(3)} | ${(pixelsPerRun / wall / 1000).toFixed(3)} | ${waits.join(' | ')} |`);
}

const to8 = (x: number) => Math.round((Math.min(1, Math.max(-1, x)) + 1) * 127.5);
/** Max |Δ| in floats and in 8 bits between two runs' variants (same seeds), and how many 8-bit values differ. */
function compare(a: Run, b: Run): string {
  let maxFloat = 0;
  let max8bit = 0;
  let bitsDiffer = 0;
  let values8 = 0;
  a.variants.forEach((job, j) => job.forEach((v, k) => v.forEach((x, i) => {
    const y = b.variants[j]![k]![i]!;
    maxFloat = Math.max(maxFloat, Math.abs(x - y));
    max8bit = Math.max(max8bit, Math.abs(to8(x) - to8(y)));
    if (to8(x) !== to8(y)) bitsDiffer++;
    values8++;
  })));
  return `max |Δ| ${maxFloat.toExponential(2)} in [-1,1], max ${max8bit} in 8 bits (${bitsDiffer} of ${values8} 8-bit values differ)`;
}
const firstRun = (name: string, mode: Mode) => runs.get(`${name} ${mode}`)![0]!;
console.log('');
for (const name of executorNames) {
  const wall = (mode: Mode) => median(runs.get(`${name} ${mode}`)!.map((r) => r.wallMs));
  console.log(`${name}: throughput ×${(wall('sequential') / wall('batched')).toFixed(2)} with merging; ` +
    `batched vs one-at-a-time variants (same seeds): ${compare(firstRun(name, 'batched'), firstRun(name, 'sequential'))}`);
}
if (executorNames.includes('kserve') && executorNames.includes('local')) {
  console.log(`kserve vs local, one at a time (same seeds): ${compare(firstRun('kserve', 'sequential'), firstRun('local', 'sequential'))}`);
}
