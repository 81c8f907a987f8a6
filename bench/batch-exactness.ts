/**
 * `npm run bench:exactness`: does a sample's ε̂ depend on what else is in its batch? The measurement
 * behind `batch_invariant` in model.json and the cross-job batching that needs it (daemon/model-scheduler.ts).
 *
 * One probe sample is put at every position p of batches of 1..N (the other rows filled with other
 * pictures and γs) and its ε̂ compared bit for bit. Each distinct result gets a letter, A being the
 * sample alone: a row of all A is a batch size where merging is exact. On this machine's CPU
 * (onnxruntime 1.30) graphs exported before the batch-invariant γ embedding gave B for rows in full
 * blocks of 4 and A for the last B mod 4 rows (the SIMD and scalar paths of log/sin/cos); re-exported
 * (`python -m palette_training reexport`), every row gives A.
 *
 * Options: --model NAME|DIR (default: the default model), --size N (default the native resolution),
 * --max-batch N (default 9), --threads N (default 2), --gamma X (default 0.35).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, MODELS_DIR } from '../daemon/model-manifest.ts';
import { ModelRunner } from '../daemon/model-runner.ts';

const { values } = parseArgs({
  options: { model: { type: 'string' }, size: { type: 'string' }, 'max-batch': { type: 'string' }, threads: { type: 'string' }, gamma: { type: 'string' } },
});
const modelDir = values.model
  ? existsSync(join(resolve(values.model), 'model.json')) ? resolve(values.model) : join(MODELS_DIR, values.model)
  : join(MODELS_DIR, DEFAULT_MODEL);
const threads = Number(values.threads ?? 2);
const runner = await ModelRunner.open(modelDir, { device: 'cpu', intraOpThreads: threads });
const size = Number(values.size ?? runner.manifest.native_resolution);
const maxBatch = Number(values['max-batch'] ?? 9);
const probeGamma = Number(values.gamma ?? 0.35);
const per = 3 * size * size;

const picture = (seed: number, f: number) => Float32Array.from({ length: per }, (_, i) => Math.sin(i * f * (seed + 1) + seed));
const probe = { cond: picture(3, 0.013), yT: picture(10, 0.013) };
const digest = (a: Float32Array) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

/** ε̂ of the probe at row `p` of a batch of `b`. */
async function probeAt(b: number, p: number): Promise<Float32Array> {
  const cond = new Float32Array(b * per);
  const yT = new Float32Array(b * per);
  const gamma = new Float32Array(b);
  for (let j = 0; j < b; j++) {
    cond.set(j === p ? probe.cond : picture(j + 20, 0.021), j * per);
    yT.set(j === p ? probe.yT : picture(j + 40, 0.021), j * per);
    gamma[j] = j === p ? probeGamma : 0.1 * j + 0.03;
  }
  const dims = [b, 3, size, size] as const;
  const eps = await runner.denoise({ cond: { data: cond, dims }, yT: { data: yT, dims }, gamma });
  return eps.data.slice(p * per, (p + 1) * per);
}

const letters = new Map<string, string>();
const letter = (eps: Float32Array) => {
  const key = digest(eps);
  if (!letters.has(key)) letters.set(key, String.fromCharCode(65 + letters.size));
  return letters.get(key)!;
};
console.log(`${runner.manifest.name} at ${size}², ${threads} threads, probe γ ${probeGamma}: the probe's ε̂ at each row (A = alone)`);
for (let b = 1; b <= maxBatch; b++) {
  let row = '';
  for (let p = 0; p < b; p++) row += letter(await probeAt(b, p));
  console.log(`batch ${String(b).padStart(2)}: ${row}`);
}
await runner.close();
