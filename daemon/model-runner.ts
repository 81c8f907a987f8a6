/**
 * The only module that imports onnxruntime-node. It opens a Palette model and runs ε̂ = f(x, y_t, γ).
 *
 * Tensors cross this boundary as plain Float32Arrays in NCHW layout, so nothing else in the daemon
 * depends on onnxruntime's types.
 */
import * as ort from 'onnxruntime-node';
import { DaemonError } from './errors.ts';
import { readManifest, verifyChecksum, type ModelManifest } from './model-manifest.ts';

export const INPUT_NAMES = ['cond', 'y_t', 'gamma'] as const;
export const OUTPUT_NAME = 'eps';

/** Batch of B images, 3 channels, H×W, row-major NCHW. */
export interface NchwTensor {
  data: Float32Array;
  dims: readonly [number, number, number, number];
}

export interface DenoiseInputs {
  cond: NchwTensor;
  yT: NchwTensor;
  /** One γ per batch item. */
  gamma: Float32Array;
}

/**
 * What the sampling loop needs of a model: its manifest and ε̂ = f(x, y_t, γ). ModelRunner (in this
 * thread), ModelThread (in a worker thread, daemon/model-thread.ts) and KServeExecutor (on an inference
 * server, daemon/kserve-executor.ts) provide it.
 */
export interface Denoiser {
  readonly manifest: ModelManifest;
  /** `remote`: the network runs on an inference server, on whatever device that server has. */
  readonly device: 'cpu' | 'cuda' | 'webgpu' | 'remote';
  denoise(inputs: DenoiseInputs): Promise<NchwTensor>;
  close(): Promise<void>;
  /** Model calls it runs at once (a pool of inference servers: one per node); default 1. */
  readonly concurrency?: number;
}

export type DevicePreference = 'auto' | 'cpu' | 'cuda' | 'webgpu';

export interface ModelRunnerOptions {
  /** Threads for one model call (on 2 cores, 1–2 were faster and steadier than the default). */
  intraOpThreads?: number;
  /** auto tries CUDA, then WebGPU, then the CPU. */
  device?: DevicePreference;
  /** Told why each device in the auto order was skipped, and which one was chosen. */
  log?: (line: string) => void;
}

/** onnxruntime has no automatic fallback: a provider that cannot load throws, so we try in order. */
const AUTO_ORDER = ['cuda', 'webgpu', 'cpu'] as const;

export class ModelRunner implements Denoiser {
  private constructor(
    readonly manifest: ModelManifest,
    private readonly session: ort.InferenceSession,
    /** The execution provider the session runs on. */
    readonly device: 'cpu' | 'cuda' | 'webgpu',
  ) {}

  /** Opens models/<name>/ (or any folder with a model.json), after checking manifest and checksum. */
  static async open(dir: string, options: ModelRunnerOptions = {}): Promise<ModelRunner> {
    const folder = readManifest(dir);
    await verifyChecksum(folder);
    const preference = options.device ?? 'cpu';
    const candidates = preference === 'auto' ? AUTO_ORDER : [preference];
    const supported = new Set(ort.listSupportedBackends().map((b) => b.name));
    let session: ort.InferenceSession | undefined;
    let device: 'cpu' | 'cuda' | 'webgpu' = 'cpu';
    let lastError: unknown;
    for (const candidate of candidates) {
      if (!supported.has(candidate)) {
        options.log?.(`device ${candidate}: skipped, not in this onnxruntime-node build (${[...supported].join(', ')})`);
        lastError = new Error(`${candidate} is not supported by this onnxruntime-node build`);
        continue;
      }
      try {
        session = await ort.InferenceSession.create(folder.modelPath, {
          executionProviders: [candidate],
          graphOptimizationLevel: 'all',
          ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
        });
        device = candidate;
        break;
      } catch (cause) {
        lastError = cause;
        options.log?.(`device ${candidate}: skipped, ${String(cause).split('\n')[0]}`);
      }
    }
    if (!session) {
      throw new DaemonError('MODEL_LOAD_FAILED', `onnxruntime could not load ${folder.modelPath} on ${candidates.join(', ')}: ${String(lastError)}`, {
        cause: lastError,
      });
    }
    options.log?.(`model ${folder.manifest.name} runs on ${device}`);
    const inputs = [...session.inputNames].sort().join(',');
    const outputs = [...session.outputNames].join(',');
    if (inputs !== [...INPUT_NAMES].sort().join(',') || outputs !== OUTPUT_NAME) {
      await session.release();
      throw new DaemonError(
        'MODEL_SIGNATURE_MISMATCH',
        `${folder.modelPath} has inputs [${inputs}] and outputs [${outputs}]; a Palette model needs inputs ` +
          `[${INPUT_NAMES.join(', ')}] and output [${OUTPUT_NAME}] (see models/README.md).`,
      );
    }
    return new ModelRunner(folder.manifest, session, device);
  }

  /** ε̂ for a batch; shapes are checked here because onnxruntime's own errors are hard to read. */
  async denoise({ cond, yT, gamma }: DenoiseInputs): Promise<NchwTensor> {
    const [b, c, h, w] = cond.dims;
    const m = this.manifest.size_multiple;
    if (c !== 3 || yT.dims.join() !== cond.dims.join() || gamma.length !== b || h % m !== 0 || w % m !== 0) {
      throw new DaemonError(
        'INVALID_ARGUMENT',
        `denoise needs cond and y_t of equal shape [B,3,H,W] with H, W multiples of ${m} and B gammas; ` +
          `got cond [${cond.dims.join(',')}], y_t [${yT.dims.join(',')}], ${gamma.length} gammas`,
      );
    }
    try {
      const result = await this.session.run({
        cond: new ort.Tensor('float32', cond.data, cond.dims),
        y_t: new ort.Tensor('float32', yT.data, yT.dims),
        gamma: new ort.Tensor('float32', gamma, [b]),
      });
      const eps = result[OUTPUT_NAME];
      if (!eps) throw new Error(`no ${OUTPUT_NAME} output`);
      return { data: eps.data as Float32Array, dims: [b, 3, h, w] };
    } catch (cause) {
      throw new DaemonError('MODEL_RUN_FAILED', `model call failed: ${String(cause)}`, { cause });
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
