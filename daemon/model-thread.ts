/**
 * A model running in a worker thread (daemon/model-worker.ts), seen from the daemon's main thread as
 * a Denoiser like ModelRunner. Why: `await session.run()` in onnxruntime-node holds the calling
 * thread's event loop for the whole model call (a 5 ms timer saw 272 ms gaps), so in the main thread
 * every socket, ping, cancel and `list-models` would wait for a step boundary.
 *
 * Inputs are copied once into fresh buffers and transferred (the sampler keeps and reuses its own
 * arrays); ε̂ comes back in a transferred buffer. The worker is unref'd while no call is pending, so a
 * process that forgets to close the model can still exit.
 */
import { Worker } from 'node:worker_threads';
import { DaemonError, type DaemonErrorCode } from './errors.ts';
import type { ModelManifest } from './model-manifest.ts';
import type { DenoiseInputs, Denoiser, ModelRunnerOptions, NchwTensor } from './model-runner.ts';
import type { FromWorker, ToWorker, WireError, WorkerStart } from './model-worker.ts';

/** Codes the worker may send back; anything else (an unexpected throw) is a failed model call. */
const WORKER_CODES: readonly DaemonErrorCode[] = [
  'MODEL_NOT_FOUND', 'MODEL_MANIFEST_INVALID', 'MODEL_CHECKSUM_MISMATCH', 'MODEL_SIGNATURE_MISMATCH',
  'MODEL_LOAD_FAILED', 'MODEL_RUN_FAILED', 'INVALID_ARGUMENT',
];

function fromWire(error: WireError, fallback: DaemonErrorCode): DaemonError {
  const code = WORKER_CODES.find((c) => c === error.code) ?? fallback;
  return new DaemonError(code, error.message);
}

/**
 * Starts the worker module. From TypeScript sources (tsx, vitest) a plain Worker cannot load a .ts
 * file, so model-worker-boot.mjs imports it through tsx's loader API; a compiled build loads it as is.
 */
function spawnWorker(start: WorkerStart): Worker {
  const ownUrl = import.meta.url;
  if (!ownUrl.endsWith('.ts')) return new Worker(new URL('./model-worker.js', ownUrl), { workerData: start });
  const entry = new URL('./model-worker.ts', ownUrl).href;
  return new Worker(new URL('./model-worker-boot.mjs', ownUrl), { workerData: { ...start, entry } });
}

interface PendingCall {
  resolve: (eps: NchwTensor) => void;
  reject: (error: unknown) => void;
}

export class ModelThread implements Denoiser {
  private readonly pending = new Map<number, PendingCall>();
  private nextCall = 1;
  private stopped: DaemonError | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly manifest: ModelManifest,
    readonly device: 'cpu' | 'cuda' | 'webgpu',
  ) {
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => this.stop(`the model thread failed: ${error.message}`));
    worker.on('exit', (code) => this.stop(`the model thread exited (code ${code})`));
    worker.unref();
  }

  /** Opens models/<name>/ (or any model folder) in a new worker thread; rejects as ModelRunner.open does. */
  static open(dir: string, options: ModelRunnerOptions = {}): Promise<ModelThread> {
    const start: WorkerStart = {
      dir,
      options: {
        ...(options.device ? { device: options.device } : {}),
        ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
      },
    };
    const worker = spawnWorker(start);
    return new Promise<ModelThread>((resolve, reject) => {
      const onExit = (code: number) =>
        reject(new DaemonError('MODEL_LOAD_FAILED', `the model thread for ${dir} exited (code ${code}) before the model was open`));
      const onError = (error: Error) =>
        reject(new DaemonError('MODEL_LOAD_FAILED', `the model thread for ${dir} failed: ${error.message}`, { cause: error }));
      const onMessage = (message: FromWorker) => {
        if (message.type === 'log') return options.log?.(message.line);
        worker.off('message', onMessage).off('exit', onExit).off('error', onError);
        if (message.type === 'ready') return resolve(new ModelThread(worker, message.manifest, message.device));
        void worker.terminate();
        reject(message.type === 'open-failed' ? fromWire(message.error, 'MODEL_LOAD_FAILED')
          : new DaemonError('MODEL_LOAD_FAILED', `the model thread sent ${message.type} before it was ready`));
      };
      worker.on('message', onMessage).on('exit', onExit).on('error', onError);
    });
  }

  /** False once the worker died (a crash in onnxruntime); the registry then opens a new one. */
  get alive(): boolean {
    return this.stopped === undefined;
  }

  denoise({ cond, yT, gamma }: DenoiseInputs): Promise<NchwTensor> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (yT.dims.join() !== cond.dims.join()) {
      return Promise.reject(new DaemonError('INVALID_ARGUMENT', `denoise needs cond and y_t of equal shape; got [${cond.dims.join(',')}] and [${yT.dims.join(',')}]`));
    }
    const call = this.nextCall++;
    // Fresh copies: the caller keeps its arrays (x is the same at every step), and a transferred
    // buffer is gone from this thread.
    const message: ToWorker = {
      type: 'denoise', call, cond: cond.data.slice(), yT: yT.data.slice(), gamma: gamma.slice(), dims: cond.dims,
    };
    return new Promise<NchwTensor>((resolve, reject) => {
      this.pending.set(call, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(message, [message.cond.buffer, message.yT.buffer, message.gamma.buffer] as ArrayBuffer[]);
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      this.worker.ref();
      const done = () => resolve();
      this.worker.once('exit', done);
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    }).then(() => this.stop('the model was closed'));
    return this.closing;
  }

  private onMessage(message: FromWorker): void {
    if (message.type !== 'eps' && message.type !== 'call-failed') return;
    const pending = this.pending.get(message.call);
    if (!pending) return;
    this.pending.delete(message.call);
    if (this.pending.size === 0) this.worker.unref();
    if (message.type === 'eps') pending.resolve({ data: message.data, dims: message.dims });
    else pending.reject(fromWire(message.error, 'MODEL_RUN_FAILED'));
  }

  private stop(reason: string): void {
    this.stopped ??= new DaemonError('MODEL_RUN_FAILED', reason);
    for (const call of this.pending.values()) call.reject(this.stopped);
    this.pending.clear();
  }
}
