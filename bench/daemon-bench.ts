/**
 * `npm run bench`: the daemon's own costs, measured side by side in one run (medians of several
 * alternating repetitions, so machine noise hits every variant alike).
 *
 *   1. per-step overhead of the sampling loop (sampler + job runner + progress events) against bare
 *      model calls (ModelRunner.denoise, a thin wrapper over session.run) for the same number of steps;
 *   2. a batch of 4 variants against 4 sequential single-variant runs;
 *   3. the cost of previews (every step, and the default 250 ms) against none.
 *
 * Options: --model NAME|DIR (default: the default model, else the test fixture), --steps N, --reps N,
 * --threads N.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createJobRunner } from '../daemon/job-runner.ts';
import { DEFAULT_MODEL, MODELS_DIR, REPO_ROOT } from '../daemon/model-manifest.ts';
import { ModelRunner } from '../daemon/model-runner.ts';
import { PreviewEncoder } from '../daemon/generate.ts';
import type { ModelJob } from '../daemon/tasks/types.ts';

const { values } = parseArgs({
  options: { model: { type: 'string' }, steps: { type: 'string' }, reps: { type: 'string' }, threads: { type: 'string' } },
});
const steps = Number(values.steps ?? 20);
const reps = Number(values.reps ?? 5);
const threads = Number(values.threads ?? 2);
const modelDir = values.model
  ? existsSync(join(resolve(values.model), 'model.json')) ? resolve(values.model) : join(MODELS_DIR, values.model)
  : existsSync(join(MODELS_DIR, DEFAULT_MODEL, 'model.json')) ? join(MODELS_DIR, DEFAULT_MODEL) : join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

const runner = await ModelRunner.open(modelDir, { device: 'cpu', intraOpThreads: threads });
const size = runner.manifest.native_resolution;
const plane = size * size;

function job(variants: number): ModelJob {
  const cond = new Float32Array(variants * 3 * plane);
  for (let i = 0; i < cond.length; i++) cond[i] = Math.sin(i * 0.37) * 0.8;
  const hole = new Float32Array(plane);
  for (let i = 0; i < plane; i++) hole[i] = (i % size) > size / 4 && (i % size) < (3 * size) / 4 ? 1 : 0;
  return { cond, height: size, width: size, hole, label: 'bench', region: { canvas: { x: 0, y: 0, width: size, height: size } } };
}

async function bareCalls(variants: number): Promise<number> {
  const dims = [variants, 3, size, size] as const;
  const y = new Float32Array(variants * 3 * plane).fill(0.1);
  const cond = job(variants).cond;
  const gamma = new Float32Array(variants).fill(0.5);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) await runner.denoise({ cond: { data: cond, dims }, yT: { data: y, dims }, gamma });
  return performance.now() - t0;
}

async function daemonLoop(variants: number, maxBatch: number, previewIntervalMs: number): Promise<number> {
  const seeds = Array.from({ length: variants }, (_, i) => i + 1);
  // What the daemon does per preview (daemon/generate.ts): 8-bit copy, WebP encode at 256 px, within budget.
  const previews = new PreviewEncoder(256, 'webp', variants, () => undefined);
  const run = createJobRunner(runner, { sampler: 'ddim', steps, eta: 0, seeds, maxBatch }, {
    previewIntervalMs,
    onProgress: () => undefined,
    onPreview: (p) => previews.offer(p),
  }, new AbortController().signal);
  const t0 = performance.now();
  await run(job(variants));
  await previews.flush();
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const cases: Array<[string, () => Promise<number>]> = [
  ['bare model calls, 1 variant', () => bareCalls(1)],
  ['daemon loop, 1 variant, no previews', () => daemonLoop(1, 1, 0)],
  ['daemon loop, 1 variant, preview every step', () => daemonLoop(1, 1, 1)],
  ['daemon loop, 1 variant, preview every 250 ms', () => daemonLoop(1, 1, 250)],
  ['4 variants as one batch', () => daemonLoop(4, 4, 0)],
  ['4 variants one after another', () => daemonLoop(4, 1, 0)],
];
const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
await daemonLoop(1, 1, 0); // warm-up: first-call allocations and thread pool start
for (let r = 0; r < reps; r++) {
  for (const [name, fn] of cases) times.get(name)!.push(await fn());
}
await runner.close();

const m = (name: string) => median(times.get(name)!);
console.log(`model ${runner.manifest.name} (${runner.manifest.parameters.toLocaleString('en')} parameters) at ${size}×${size}, ` +
  `${steps} steps, ${threads} threads, median of ${reps} alternating runs`);
console.log('| case | median ms | ms per step | ratio |');
console.log('|---|---:|---:|---:|');
const bare = m('bare model calls, 1 variant');
const loop = m('daemon loop, 1 variant, no previews');
const row = (name: string, ref: number, refName: string) =>
  console.log(`| ${name} | ${m(name).toFixed(1)} | ${(m(name) / steps).toFixed(2)} | ${(m(name) / ref).toFixed(3)} × ${refName} |`);
row('bare model calls, 1 variant', bare, 'bare');
row('daemon loop, 1 variant, no previews', bare, 'bare');
row('daemon loop, 1 variant, preview every step', loop, 'no previews');
row('daemon loop, 1 variant, preview every 250 ms', loop, 'no previews');
row('4 variants one after another', m('4 variants one after another'), 'sequential');
row('4 variants as one batch', m('4 variants one after another'), 'sequential');
console.log(`\nper-step overhead of the loop: ${((loop - bare) / steps).toFixed(2)} ms (${(((loop - bare) / bare) * 100).toFixed(1)} %)`);
