/**
 * `palette run`: one generation from files to files, in-process or through a running daemon
 * (`--connect ws://HOST:PORT`). Both paths send the same GenerateRequest and write the same files:
 *   DIR/variant-<i>.png   the full composited image (the layer over the original, on the new canvas)
 *   DIR/result.json       seeds, model, sampler, steps, timings
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import { DaemonClient } from '../../shared/daemon-client.ts';
import type { ExtendAmount, ExtendSpec, FillMaskMode, GenerateRequest, ResultMessage, Sampler, Task } from '../../shared/protocol.ts';
import { DEFAULT_LIMITS, SAMPLERS, TASKS } from '../../shared/protocol.ts';
import { resolveExtend, validateGenerateRequest } from '../../shared/validate.ts';
import { DaemonError } from '../errors.ts';
import { generate } from '../generate.ts';
import { decodeImage, decodeMask, encodePng } from '../imaging.ts';
import type { ModelRegistry } from '../model-registry.ts';
import { compositeLayer, createRgba } from '../pixels.ts';
import { pasteRgba } from '../tensor-image.ts';

export interface RunArgs {
  task: string;
  image: string;
  mask?: string;
  /** fill: how the mask's values are read (see FillOptions.maskMode). */
  maskMode?: string;
  extend?: string;
  variants: number;
  steps?: number;
  seed?: number;
  sampler?: string;
  /** (0, 1], any task: see GenerateRequest.strength. */
  strength?: number;
  /** Side of the model jobs, px: see GenerateRequest.workingSize. */
  workingSize?: number;
  model?: string;
  out: string;
  connect?: string;
  token?: string;
}

/** "left=0.5,top=128,all=0.25": a value with a decimal point (or %) is a fraction of the side, else px. */
export function parseExtend(text: string): ExtendSpec {
  const spec: ExtendSpec = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [side, raw] = part.split('=');
    if (!side || raw === undefined) throw new DaemonError('INVALID_ARGUMENT', `--extend: "${part}" is not side=amount`);
    const amount: ExtendAmount = raw.endsWith('%')
      ? { unit: 'fraction', value: Number(raw.slice(0, -1)) / 100 }
      : raw.includes('.') ? { unit: 'fraction', value: Number(raw) } : { unit: 'px', value: Number(raw) };
    if (!Number.isFinite(amount.value)) throw new DaemonError('INVALID_ARGUMENT', `--extend: "${raw}" is not a number`);
    const sides = side === 'all' ? (['left', 'right', 'top', 'bottom'] as const) : [side];
    for (const s of sides) {
      if (s !== 'left' && s !== 'right' && s !== 'top' && s !== 'bottom') {
        throw new DaemonError('INVALID_ARGUMENT', `--extend: unknown side "${s}" (left, right, top, bottom, all)`);
      }
      spec[s] = amount;
    }
  }
  return spec;
}

/** A file named on the command line, or INVALID_ARGUMENT saying which flag and why (not INTERNAL). */
function readInput(path: string, flag: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new DaemonError('INVALID_ARGUMENT', `${flag} ${path}: cannot read it (${code})`);
  }
}

export async function buildRequest(args: RunArgs): Promise<GenerateRequest> {
  if (!(TASKS as readonly string[]).includes(args.task)) {
    throw new DaemonError('INVALID_ARGUMENT', `--task must be one of ${TASKS.join(', ')}`);
  }
  if (args.sampler !== undefined && !(SAMPLERS as readonly string[]).includes(args.sampler)) {
    throw new DaemonError('INVALID_ARGUMENT', `--sampler must be one of ${SAMPLERS.join(', ')}`);
  }
  // Decode here so both paths send identical rgba8 pixels (no second decoder on the other side).
  const image = await decodeImage(readInput(args.image, '--image'));
  const request: GenerateRequest = {
    task: args.task as Task,
    image: { format: 'rgba8', width: image.width, height: image.height, data: image.data },
    variants: args.variants,
    ...(args.steps !== undefined ? { steps: args.steps } : {}),
    ...(args.sampler !== undefined ? { sampler: args.sampler as Sampler } : {}),
    ...(args.strength !== undefined ? { strength: args.strength } : {}),
    ...(args.workingSize !== undefined ? { workingSize: args.workingSize } : {}),
    ...(args.seed !== undefined ? { seeds: Array.from({ length: args.variants }, (_, i) => (args.seed! + i) >>> 0) } : {}),
    ...(args.model !== undefined ? { model: args.model } : {}),
    preview: { intervalMs: 0 },
  };
  if (args.mask) {
    const mask = await decodeMask(readInput(args.mask, '--mask'));
    request.mask = { format: 'gray8', width: mask.width, height: mask.height, data: mask.data };
  }
  if (args.maskMode !== undefined) {
    if (args.task !== 'fill') throw new DaemonError('INVALID_ARGUMENT', '--mask-mode is only for --task fill');
    request.fill = { maskMode: args.maskMode as FillMaskMode };
  }
  if (args.extend) request.extend = parseExtend(args.extend);
  // The same boundary validation the daemon applies, so mistakes surface before any work.
  return validateGenerateRequest(request, 'request', DEFAULT_LIMITS);
}

interface Collected {
  results: ResultMessage[];
  model: string;
  sampler: string;
  steps: number;
  seeds: number[];
  timings: { sampleMs: number; totalMs: number };
}

async function runInProcess(request: GenerateRequest, registry: ModelRegistry, log: (l: string) => void): Promise<Collected> {
  const results: ResultMessage[] = [];
  let started = { model: '', sampler: '', steps: 0 };
  const t0 = performance.now();
  let lastLabel = '';
  const outcome = await generate(request, registry, {
    onStarted: (s) => (started = s),
    onProgress: (p) => {
      if (p.step === p.total || p.label !== lastLabel) log(`  ${p.label}: step ${p.step}/${p.total}`);
      lastLabel = p.label;
    },
    onResult: (r) => results.push({ type: 'result', id: 'cli', ...r }),
  }, new AbortController().signal, { maxBatch: 8 });
  return { results, ...started, seeds: outcome.seeds, timings: { sampleMs: outcome.sampleMs, totalMs: performance.now() - t0 } };
}

async function runConnected(request: GenerateRequest, url: string, token: string | undefined): Promise<Collected> {
  const socket = new WebSocket(url);
  const client = await DaemonClient.connect(socket, { client: 'palette-cli/0.1.0', ...(token ? { token } : {}) });
  try {
    const results: ResultMessage[] = [];
    let started = { model: '', sampler: '', steps: 0, seeds: [] as number[] };
    const done = await client.generate(request, {
      onStarted: (s) => (started = s),
      onResult: (r) => results.push(r),
    });
    return { results, ...started, timings: { sampleMs: done.timings.sampleMs, totalMs: done.timings.totalMs } };
  } finally {
    client.close();
  }
}

export async function runCommand(args: RunArgs, openRegistry: () => ModelRegistry, log: (l: string) => void): Promise<string[]> {
  const request = await buildRequest(args);
  const collected = args.connect
    ? await runConnected(request, args.connect, args.token)
    : await runInProcess(request, openRegistry(), log);
  const original = request.image.format === 'rgba8' ? request.image : undefined;
  if (!original) throw new DaemonError('INVALID_ARGUMENT', 'internal: the request image must be rgba8');
  const origin = request.task === 'uncrop' ? resolveExtend(request.extend ?? {}, original.width, original.height) : { left: 0, top: 0 };
  const outDir = isAbsolute(args.out) ? args.out : resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const result of [...collected.results].sort((a, b) => a.variant - b.variant)) {
    const layer = await decodeImage(result.layer.image.data);
    // What the editor does: the original on the result's canvas (at left/top for uncrop), the layer over it.
    const canvas = createRgba(result.canvas.width, result.canvas.height);
    pasteRgba(canvas, original, origin.left, origin.top);
    const full = compositeLayer(canvas, { ...layer, x: result.layer.x, y: result.layer.y });
    const path = join(outDir, `variant-${result.variant}.png`);
    writeFileSync(path, await encodePng(full));
    written.push(path);
  }
  const summary = {
    task: request.task,
    image: args.image,
    variants: collected.results.length,
    model: collected.model,
    sampler: collected.sampler,
    steps: collected.steps,
    seeds: collected.seeds,
    via: args.connect ?? 'in-process',
    canvas: collected.results[0]?.canvas,
    timings: { sampleMs: Math.round(collected.timings.sampleMs), totalMs: Math.round(collected.timings.totalMs) },
    files: written.map((p) => p.slice(outDir.length + 1)),
  };
  writeFileSync(join(outDir, 'result.json'), JSON.stringify(summary, null, 2) + '\n');
  return written;
}
