#!/usr/bin/env -S npx tsx
/**
 * `palette` command line.
 *
 *   palette serve [--port 7860] [--host 127.0.0.1] [--device auto|cpu|cuda|webgpu] [--model NAME|DIR]
 *                 [--token T] [--threads N] [--allow-origin URL]... [--allow-host NAME]... [--batching]
 *                 [--executor local|kserve --kserve-url http://HOST:PORT [--kserve-url ...] [--kserve-model NAME] [--kserve-token T] [--kserve-ca CA.pem]]
 *   palette run --task fill|colorize|uncrop|restore --image IN [--mask MASK.png] [--extend left=0.5,top=128]
 *               [--mask-mode threshold|strength] --variants N --steps S --seed K --sampler NAME [--strength S] [--working-size PX] --out DIR [--model NAME|DIR] [--connect ws://HOST:PORT]
 *   palette models [--check]            list installed models; --check also runs each once
 *   palette check-model DIR [--size N] [--batch B]
 *                                       load one model folder, run it once, print the result as JSON
 *   palette --help                      the usage, on stdout
 *
 * The grammar and the exit codes are in command-line.ts.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { DaemonError } from '../errors.ts';
import { DEFAULT_MODEL, listModelFolders, readManifest } from '../model-manifest.ts';
import { ModelRegistry, type ExecutorChoice } from '../model-registry.ts';
import { ModelRunner, type DevicePreference, type NchwTensor } from '../model-runner.ts';
import { createUniformStream } from '../sampling/random.ts';
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from '../server.ts';
import { errorCode, executorChoice, exitCodeFor, parseCommandLine, USAGE } from './command-line.ts';
import { runCommand } from './run-command.ts';

/** Varied, reproducible inputs in [-1, 1] from the samplers' seeded generator. */
function randomTensor(dims: [number, number, number, number], seed: number): NchwTensor {
  const uniform = createUniformStream(seed);
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => uniform() * 2 - 1);
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

function integer(value: string | undefined, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new DaemonError('INVALID_ARGUMENT', `--${name} must be an integer, got "${value}"`);
  return n;
}

function device(value: string | undefined): DevicePreference {
  const d = value ?? 'auto';
  if (d !== 'auto' && d !== 'cpu' && d !== 'cuda' && d !== 'webgpu') {
    throw new DaemonError('INVALID_ARGUMENT', `--device must be auto, cpu, cuda or webgpu, got "${d}"`);
  }
  return d;
}

/** --model NAME picks an installed model; --model DIR adds a model folder from anywhere. */
function openRegistry(model: string | undefined, dev: DevicePreference, threads: number | undefined, executor: ExecutorChoice): ModelRegistry {
  const isDir = model !== undefined && existsSync(resolve(model, 'model.json'));
  return ModelRegistry.scan({
    device: dev,
    executor,
    ...(threads !== undefined ? { intraOpThreads: threads } : {}),
    log: (line) => console.error(`palette: ${line}`),
    ...(isDir ? { extraDirs: [resolve(model)] } : model !== undefined ? { defaultModel: model } : {}),
  });
}

async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv);
  if (line.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { values, positionals } = line;
  switch (line.command) {
    case 'serve': {
      const executor = executorChoice(values);
      const registry = openRegistry(values.model, device(values.device), integer(values.threads, 'threads'), executor);
      // A remote server that is down or serves another network should stop `serve` now, not the first job.
      if (executor.kind === 'kserve') await registry.runner(undefined);
      const token = values.token ?? process.env.PALETTE_TOKEN;
      const server = await startServer({
        host: values.host ?? DEFAULT_HOST,
        port: integer(values.port, 'port', DEFAULT_PORT) ?? DEFAULT_PORT,
        registry,
        ...(token ? { token } : {}),
        ...(values['allow-origin'] ? { allowOrigins: values['allow-origin'] } : {}),
        ...(values['allow-host'] ? { allowHosts: values['allow-host'] } : {}),
        ...(values.batching ? { batching: true } : {}),
      });
      const page = server.url.replace(/^ws/, 'http');
      console.log(`palette daemon listening on ${server.url} (default model: ${registry.defaultModel ?? 'none'}${server.scheduler.batching ? ', cross-job batching on' : ''})`);
      console.log(`standalone editor: ${page}/   health: ${page}/health`);
      const stop = () => void server.close().then(() => registry.close()).then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return new Promise<number>(() => undefined); // runs until a signal
    }
    case 'run': {
      if (!values.task || !values.image || !values.out) throw new DaemonError('INVALID_ARGUMENT', `run needs --task, --image and --out\n${USAGE}`);
      const written = await runCommand({
        task: values.task,
        image: values.image,
        ...(values.mask ? { mask: values.mask } : {}),
        ...(values['mask-mode'] ? { maskMode: values['mask-mode'] } : {}),
        ...(values.extend ? { extend: values.extend } : {}),
        // Restore defaults to one variant: its result stays consistent with the JPEG, variants barely differ.
        variants: integer(values.variants, 'variants') ?? (values.task === 'restore' ? 1 : 4),
        ...(values.steps ? { steps: integer(values.steps, 'steps') } : {}),
        ...(values.seed ? { seed: integer(values.seed, 'seed') } : {}),
        ...(values.sampler ? { sampler: values.sampler } : {}),
        ...(values.strength ? { strength: Number(values.strength) } : {}),
        ...(values['working-size'] ? { workingSize: integer(values['working-size'], 'working-size') } : {}),
        ...(values.model ? { model: existsSync(resolve(values.model, 'model.json')) ? basename(resolve(values.model)) : values.model } : {}),
        out: values.out,
        ...(values.connect ? { connect: values.connect } : {}),
        ...((values.token ?? process.env.PALETTE_TOKEN) ? { token: values.token ?? process.env.PALETTE_TOKEN } : {}),
      }, () => openRegistry(values.model, device(values.device), integer(values.threads, 'threads'), executorChoice(values)), (l) => console.error(l));
      console.log(`wrote ${written.length} variants and result.json to ${values.out}`);
      return 0;
    }
    case 'models':
      await listModels(values.check ?? false);
      return 0;
    case 'check-model': {
      const dir = positionals[0];
      if (!dir) throw new DaemonError('INVALID_ARGUMENT', `check-model needs a model folder\n${USAGE}`);
      const size = values.size === undefined ? undefined : Number(values.size);
      console.log(JSON.stringify(await checkModel(dir, size, Number(values.batch ?? 1))));
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`palette: ${errorCode(error)}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(exitCodeFor(error));
  },
);
