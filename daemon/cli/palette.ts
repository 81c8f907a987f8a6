#!/usr/bin/env -S npx tsx
/**
 * `palette` command line.
 *
 *   palette models [--check]            list installed models (models/<name>/model.json); --check also
 *                                       loads each with onnxruntime-node and times one denoise call
 *   palette check-model DIR [--size N] [--batch B]
 *                                       load one model folder, run it once, print the result as JSON
 *
 * The daemon (`palette serve`) and `palette run` come with the daemon engine (issue 3).
 */
import { parseArgs } from 'node:util';
import { basename } from 'node:path';
import { DaemonError } from '../errors.ts';
import { DEFAULT_MODEL, listModelFolders, readManifest } from '../model-manifest.ts';
import { ModelRunner, type NchwTensor } from '../model-runner.ts';

function randomTensor(dims: [number, number, number, number], seed: number): NchwTensor {
  // A small LCG: the check only needs varied, reproducible inputs in [-1, 1].
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state / 2 ** 32) * 2 - 1;
  }
  return { data, dims };
}

async function checkModel(dir: string, size?: number, batch = 1) {
  const runner = await ModelRunner.open(dir, { intraOpThreads: 2 });
  try {
    const s = size ?? runner.manifest.native_resolution;
    const dims: [number, number, number, number] = [batch, 3, s, s];
    const started = performance.now();
    const eps = await runner.denoise({
      cond: randomTensor(dims, 1),
      yT: randomTensor(dims, 2),
      gamma: Float32Array.from({ length: batch }, (_, i) => 0.5 / (i + 1)),
    });
    const ms = performance.now() - started;
    return { name: runner.manifest.name, dims: eps.dims, finite: eps.data.every(Number.isFinite), ms: Math.round(ms) };
  } finally {
    await runner.close();
  }
}

async function listModels(check: boolean): Promise<void> {
  const folders = listModelFolders();
  if (folders.length === 0) {
    console.log('No models installed under models/. Train and export one: see models/README.md.');
    return;
  }
  for (const dir of folders) {
    const { manifest } = readManifest(dir);
    const mark = basename(dir) === DEFAULT_MODEL ? ' (default)' : '';
    console.log(
      `${basename(dir)}${mark}: ${manifest.name} ${manifest.version}, ${manifest.parameters.toLocaleString('en')} parameters, ` +
        `${manifest.native_resolution}px (multiple of ${manifest.size_multiple}), tasks ${manifest.tasks.join('/')}, ` +
        `${manifest.training.steps} steps / ${manifest.training.samples_seen.toLocaleString('en')} samples seen`,
    );
    if (check) {
      const result = await checkModel(dir);
      console.log(`  onnxruntime-node: eps [${result.dims.join(',')}], finite ${result.finite}, ${result.ms} ms per call`);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { check: { type: 'boolean', default: false }, size: { type: 'string' }, batch: { type: 'string' } },
  });
  switch (command) {
    case 'models':
      await listModels(values.check ?? false);
      return 0;
    case 'check-model': {
      const dir = positionals[0];
      if (!dir) throw new DaemonError('INVALID_ARGUMENT', 'usage: palette check-model DIR [--size N] [--batch B]');
      const size = values.size === undefined ? undefined : Number(values.size);
      console.log(JSON.stringify(await checkModel(dir, size, Number(values.batch ?? 1))));
      return 0;
    }
    default:
      console.error('usage: palette models [--check] | palette check-model DIR [--size N] [--batch B]');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const code = error instanceof DaemonError ? error.code : 'INTERNAL';
    console.error(`palette: ${code}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
