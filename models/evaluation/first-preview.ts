/**
 * Time to first preview, measured on the daemon's own generation path (daemon/generate.ts, as a
 * `palette serve` session runs it) with the product's default previews (every 250 ms, 256 px JPEG;
 * the first one after the first model call). Run by `python -m palette_eval speed`:
 *
 *   tsx models/evaluation/first-preview.ts --model DIR --image IN.png --mask MASK.png --steps N
 *       --variants V --threads T [--sampler ddim] [--seed K]
 *
 * Prints one JSON object: for a cold request (the model is loaded by it) and a warm one (loaded), the
 * ms from the request to started, first progress (first model call done), first preview delivered,
 * the end of sampling and the last result.
 */
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildRequest } from '../../daemon/cli/run-command.ts';
import { generate } from '../../daemon/generate.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    image: { type: 'string' },
    mask: { type: 'string' },
    steps: { type: 'string', default: '20' },
    variants: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    sampler: { type: 'string', default: 'ddim' },
    seed: { type: 'string', default: '0' },
  },
});
if (!values.model || !values.image || !values.mask) {
  throw new Error('usage: first-preview.ts --model DIR --image IN.png --mask MASK.png [--steps N] [--variants V]');
}
const modelDir = resolve(values.model);
const registry = ModelRegistry.scan({ extraDirs: [modelDir], device: 'cpu', intraOpThreads: Number(values.threads) });

interface Timeline {
  startedMs: number;
  firstProgressMs: number;
  firstPreviewMs: number;
  sampleMs: number;
  totalMs: number;
}

async function once(): Promise<Timeline> {
  const request = await buildRequest({
    task: 'fill', image: values.image!, mask: values.mask!, variants: Number(values.variants),
    steps: Number(values.steps), seed: Number(values.seed), sampler: values.sampler!, model: basename(modelDir), out: '',
  });
  delete request.preview; // the product's default previews, as the editor panel gets them
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  const marks = { startedMs: NaN, firstProgressMs: NaN, firstPreviewMs: NaN };
  const outcome = await generate(request, registry, {
    onStarted: () => (marks.startedMs = since()),
    onProgress: () => (marks.firstProgressMs = Number.isNaN(marks.firstProgressMs) ? since() : marks.firstProgressMs),
    onPreview: () => (marks.firstPreviewMs = Number.isNaN(marks.firstPreviewMs) ? since() : marks.firstPreviewMs),
    onResult: () => undefined,
  }, new AbortController().signal, { maxBatch: 8 });
  return { ...marks, sampleMs: outcome.sampleMs, totalMs: since() };
}

const cold = await once();
const warm = await once();
await registry.close();
const round = (t: Timeline) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
console.log(JSON.stringify({ cold: round(cold), warm: round(warm) }));
