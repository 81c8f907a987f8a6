/**
 * `npm run bench` (second part): cross-job batching against one model call at a time, side by side
 * in one run (medians of alternating repetitions, so machine noise hits both alike).
 *
 * 4 clients each start a 2-variant fill at the same moment, through the daemon's ModelScheduler and
 * job runner (hole noise per seed, the sampler, the model in a worker thread as `palette serve` runs
 * it), at the model's fill working size with its default sampler. Reported: total throughput (jobs/s
 * and model pixels/s: variants × H × W × steps over the wall time), each client's wait (start to
 * done), model calls sent, and how far the batched variants are from the unbatched ones (merged
 * calls are not bit-exact on the CPU, daemon/model-scheduler.ts).
 *
 * The executor is a function that opens a Denoiser (EXECUTORS below), so another one (a remote
 * KServe/Triton executor) is one more entry. Options: --model NAME|DIR (default: the default model),
 * --executor NAME (default local), --clients N, --variants N, --steps N, --size N, --reps N, --threads N.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createJobRunner } from '../daemon/job-runner.ts';
import { DEFAULT_MODEL, MODELS_DIR, REPO_ROOT, type ModelManifest } from '../daemon/model-manifest.ts';
import type { Denoiser } from '../daemon/model-runner.ts';
import { ModelScheduler } from '../daemon/model-scheduler.ts';
import { ModelThread } from '../daemon/model-thread.ts';
import type { SamplerName } from '../daemon/sampling/types.ts';
import type { ModelJob } from '../daemon/tasks/types.ts';

export interface ExecutorOptions {
  threads: number;
}

/** How each executor opens the model in `dir`; add a remote one here. */
export const EXECUTORS: Record<string, (dir: string, options: ExecutorOptions) => Promise<Denoiser>> = {
  // As the daemon runs it: onnxruntime on the CPU in a worker thread (daemon/model-registry.ts).
  local: (dir, { threads }) => ModelThread.open(dir, { device: 'cpu', intraOpThreads: threads }),
};

const { values } = parseArgs({
  options: {
    model: { type: 'string' }, executor: { type: 'string' }, clients: { type: 'string' }, variants: { type: 'string' },
    steps: { type: 'string' }, size: { type: 'string' }, reps: { type: 'string' }, threads: { type: 'string' },
  },
});
const modelDir = values.model
  ? existsSync(join(resolve(values.model), 'model.json')) ? resolve(values.model) : join(MODELS_DIR, values.model)
  : existsSync(join(MODELS_DIR, DEFAULT_MODEL, 'model.json')) ? join(MODELS_DIR, DEFAULT_MODEL) : join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');
const executorName = values.executor ?? 'local';
const open = EXECUTORS[executorName];
if (!open) throw new Error(`unknown executor ${executorName} (known: ${Object.keys(EXECUTORS).join(', ')})`);
const clients = Number(values.clients ?? 4);
const variants = Number(values.variants ?? 2);
const reps = Number(values.reps ?? 3);
const threads = Number(values.threads ?? 2);

const model = await open(modelDir, { threads });
const size = Number(values.size ?? fillSize(model.manifest));
const sampler: SamplerName = model.manifest.sampler?.name ?? 'ddim';
const steps = Number(values.steps ?? model.manifest.sampler?.steps ?? 20);

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

async function concurrentFills(batching: boolean): Promise<Run> {
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

await concurrentFills(false); // warm-up: first-call allocations and thread pool start
const runs: Record<'batched' | 'sequential', Run[]> = { batched: [], sequential: [] };
for (let r = 0; r < reps; r++) {
  // Alternate which goes first, so a drift in machine speed does not favour one.
  const order = r % 2 === 0 ? (['batched', 'sequential'] as const) : (['sequential', 'batched'] as const);
  for (const mode of order) runs[mode].push(await concurrentFills(mode === 'batched'));
}
await model.close();

const pixelsPerRun = clients * variants * size * size * steps;
// Other work on the machine shows here: a load above the cores makes the runs disagree.
const load = loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`\ncross-job batching: ${clients} clients × ${variants}-variant fill at ${size}², model ${model.manifest.name} ` +
  `(${executorName}, ${model.device}, ${threads} threads), ${sampler} ${steps} steps, median of ${reps} alternating runs; ` +
  `load average ${load} on ${cpus().length} cores`);
console.log('| model calls | wall s | jobs/s | Mpixel/s | ' + Array.from({ length: clients }, (_, c) => `client ${c + 1} wait s`).join(' | ') + ' |');
console.log('|---|---:|---:|---:|' + '---:|'.repeat(clients));
for (const mode of ['sequential', 'batched'] as const) {
  const rs = runs[mode];
  const wall = median(rs.map((r) => r.wallMs));
  const waits = Array.from({ length: clients }, (_, c) => (median(rs.map((r) => r.waitMs[c] ?? NaN)) / 1000).toFixed(2));
  const label = mode === 'batched' ? `merged across jobs (${median(rs.map((r) => r.calls))} calls)` : `one at a time (${median(rs.map((r) => r.calls))} calls)`;
  const all = rs.map((r) => (r.wallMs / 1000).toFixed(1)).join(', ');
  console.log(`| ${label} | ${(wall / 1000).toFixed(2)} (runs: ${all}) | ${((clients * 1000) / wall).toFixed(3)} | ${(pixelsPerRun / wall / 1000).toFixed(3)} | ${waits.join(' | ')} |`);
}
const speedup = median(runs.sequential.map((r) => r.wallMs)) / median(runs.batched.map((r) => r.wallMs));
let maxFloat = 0;
let max8bit = 0;
let bitsDiffer = 0;
let values8 = 0;
const a = runs.batched[0]!.variants;
const b = runs.sequential[0]!.variants;
const to8 = (x: number) => Math.round((Math.min(1, Math.max(-1, x)) + 1) * 127.5);
a.forEach((job, j) => job.forEach((v, k) => v.forEach((x, i) => {
  const y = b[j]![k]![i]!;
  maxFloat = Math.max(maxFloat, Math.abs(x - y));
  max8bit = Math.max(max8bit, Math.abs(to8(x) - to8(y)));
  if (to8(x) !== to8(y)) bitsDiffer++;
  values8++;
})));
console.log(`\nthroughput ×${speedup.toFixed(2)} with merging; batched vs one-at-a-time variants (same seeds): max |Δ| ${maxFloat.toExponential(2)} in [-1,1], ` +
  `max ${max8bit} in 8 bits (${bitsDiffer} of ${values8} 8-bit values differ)`);
