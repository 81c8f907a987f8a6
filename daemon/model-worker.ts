/**
 * The worker thread that holds the model (daemon/model-thread.ts starts it). onnxruntime-node's
 * `session.run()` keeps the calling thread's event loop busy for the whole call, so the daemon runs it
 * here and its own thread stays free for sockets, pings, cancels and `list-models`.
 *
 * One model per worker, one call at a time (the main thread's scheduler sends one call and waits).
 * Tensors arrive and leave as transferred ArrayBuffers: moved between threads, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DaemonError } from './errors.ts';
import type { ModelManifest } from './model-manifest.ts';
import { ModelRunner, type ModelRunnerOptions } from './model-runner.ts';

export interface WorkerStart {
  dir: string;
  options: Pick<ModelRunnerOptions, 'device' | 'intraOpThreads'>;
}

export type Dims = readonly [number, number, number, number];

export type ToWorker =
  | { type: 'denoise'; call: number; cond: Float32Array; yT: Float32Array; gamma: Float32Array; dims: Dims }
  | { type: 'close' };

export interface WireError {
  code: string;
  message: string;
}

export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'ready'; manifest: ModelManifest; device: 'cpu' | 'cuda' | 'webgpu' }
  | { type: 'open-failed'; error: WireError }
  | { type: 'eps'; call: number; data: Float32Array; dims: Dims }
  | { type: 'call-failed'; call: number; error: WireError }
  | { type: 'closed' };

function wireError(error: unknown): WireError {
  if (error instanceof DaemonError) return { code: error.code, message: error.message };
  return { code: 'MODEL_RUN_FAILED', message: error instanceof Error ? error.message : String(error) };
}

/** The output's buffer can move only when the array is all of it; otherwise move a copy. */
function ownBuffer(data: Float32Array): Float32Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('daemon/model-worker.ts must run in a worker thread (see model-thread.ts)');
  const start = workerData as WorkerStart;
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  let runner: ModelRunner;
  try {
    runner = await ModelRunner.open(start.dir, { ...start.options, log: (line) => post({ type: 'log', line }) });
  } catch (error) {
    post({ type: 'open-failed', error: wireError(error) });
    port.close();
    return;
  }
  post({ type: 'ready', manifest: runner.manifest, device: runner.device });

  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void runner.close().finally(() => {
        post({ type: 'closed' });
        port.close();
      });
      return;
    }
    const { call, cond, yT, gamma, dims } = message;
    runner.denoise({ cond: { data: cond, dims }, yT: { data: yT, dims }, gamma }).then(
      (eps) => {
        const data = ownBuffer(eps.data);
        post({ type: 'eps', call, data, dims: eps.dims }, [data.buffer as ArrayBuffer]);
      },
      (error: unknown) => post({ type: 'call-failed', call, error: wireError(error) }),
    );
  });
}

await main();
