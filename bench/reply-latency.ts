/**
 * `npm run bench:latency`: how long the daemon takes to answer while the default model runs (issue 12:
 * with onnxruntime-node's session.run on the main thread a 5 ms timer saw a 272 ms gap, and one
 * WebSocket upgrade was accepted per model step). Measured side by side in one run:
 *   1. the worst 5 ms-timer gap while the model is called in this thread (the old design);
 *   2. during a 4-variant fill job in the daemon (model in its worker thread): the worst timer gap,
 *      `list-models` round trips, and 20 new connections' hello → welcome.
 * Options: --model NAME|DIR (default: the default model), --size N (fill canvas side, default 256).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, MODELS_DIR } from '../daemon/model-manifest.ts';
import { ModelRunner } from '../daemon/model-runner.ts';
import { fillRequest, isFinal, listModelsRoundTrips, median, rawClient, startDaemon, worstTimerGap } from '../test/reliability/harness.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, size: { type: 'string' } } });
const modelDir = values.model
  ? existsSync(join(resolve(values.model), 'model.json')) ? resolve(values.model) : join(MODELS_DIR, values.model)
  : join(MODELS_DIR, DEFAULT_MODEL);
const size = Number(values.size ?? 256);

const local = await ModelRunner.open(modelDir, { intraOpThreads: 2 });
const dims = [4, 3, 64, 64] as const;
const data = new Float32Array(4 * 3 * 64 * 64).fill(0.1);
const callMs: number[] = [];
const inThread = await worstTimerGap(async () => {
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await local.denoise({ cond: { data, dims }, yT: { data, dims }, gamma: new Float32Array(4).fill(0.5) });
    callMs.push(performance.now() - t);
  }
});
await local.close();

const daemon = await startDaemon(modelDir);
const owner = await rawClient(daemon.server.url);
owner.send({ type: 'generate', id: 'job', request: { ...fillRequest(4, 20, size), model: daemon.modelName } });
await owner.next((m) => m.type === 'progress', 120_000);
const probe = await rawClient(daemon.server.url);
const { rtts, worstGapMs } = await listModelsRoundTrips(probe, 20, 20);
const opened = performance.now();
const handshakes = await Promise.all(Array.from({ length: 20 }, async () => {
  const c = await rawClient(daemon.server.url);
  const ms = performance.now() - opened;
  await c.close();
  return ms;
}));
const stillRunning = !owner.received.some((r) => isFinal(r.message));
console.log(`model ${modelDir}`);
console.log(`model in the main thread (batch 4 at 64², calls median ${median(callMs).toFixed(0)} ms): worst 5 ms-timer gap ${inThread.worstGapMs.toFixed(0)} ms`);
console.log(`daemon during a 4-variant ${size}² fill (model in its worker; job still running: ${stillRunning}): ` +
  `worst timer gap ${worstGapMs.toFixed(0)} ms; list-models round trip median ${median(rtts).toFixed(1)} ms, max ${Math.max(...rtts).toFixed(1)} ms; ` +
  `20 new connections, hello → welcome: 20th after ${Math.max(...handshakes).toFixed(0)} ms`);
owner.send({ type: 'cancel', id: 'job' });
await owner.next((m) => isFinal(m), 60_000);
await Promise.all([owner.close(), probe.close()]);
await daemon.close();
