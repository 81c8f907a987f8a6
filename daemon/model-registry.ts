/**
 * The installed models (folders under models/ with a model.json) and the one loaded on the device.
 * Only one model is held at a time: a 40 MB model uses a few hundred MB of working memory, and a
 * studio box switches models rarely. The model runs in a worker thread (daemon/model-thread.ts), so
 * the daemon's event loop stays free while it computes, or on an inference server (`--executor kserve`,
 * daemon/kserve-executor.ts), in which case only the manifest is read here.
 */
import { basename } from 'node:path';
import { DaemonError } from './errors.ts';
import { DEFAULT_MODEL, listModelFolders, MODELS_DIR, readManifest, type ModelManifest } from './model-manifest.ts';
import { KServePool, type KServePoolOptions } from './kserve-pool.ts';
import type { Denoiser, ModelRunnerOptions } from './model-runner.ts';
import { ModelThread } from './model-thread.ts';
import type { SamplerName } from './sampling/types.ts';

/** Used when a manifest names no default sampler: a fast multistep solver inside the trained γ range. */
export const FALLBACK_SAMPLER: { name: SamplerName; steps: number } = { name: 'dpmpp-2m', steps: 20 };

export interface InstalledModel {
  /** The folder name, which is what requests use to pick a model. */
  name: string;
  dir: string;
  manifest: ModelManifest;
}

/** Where model calls run: in a local worker thread (default), or on a KServe v2 / Triton server. */
export type ExecutorChoice = { kind: 'local' } | ({ kind: 'kserve'; urls: string[] } & Omit<KServePoolOptions, 'log' | 'now'>);

export interface RegistryOptions extends ModelRunnerOptions {
  executor?: ExecutorChoice;
}

type LoadedRunner = Denoiser & { readonly alive: boolean };

export class ModelRegistry {
  private loaded: { name: string; runner: Promise<LoadedRunner> } | undefined;

  constructor(
    readonly models: InstalledModel[],
    readonly defaultModel: string | null,
    private readonly runnerOptions: RegistryOptions,
  ) {}

  /** Scans `root` (models/ by default); `extraDirs` adds model folders from elsewhere (--model DIR). */
  static scan(options: RegistryOptions & { root?: string; extraDirs?: string[]; defaultModel?: string } = {}): ModelRegistry {
    const dirs = [...listModelFolders(options.root ?? MODELS_DIR), ...(options.extraDirs ?? [])];
    const models = dirs.map((dir) => ({ name: basename(dir), dir, manifest: readManifest(dir).manifest }));
    const wanted = options.defaultModel ?? (options.extraDirs?.[0] ? basename(options.extraDirs[0]) : DEFAULT_MODEL);
    const fallback = models[0]?.name ?? null;
    const defaultModel = models.some((m) => m.name === wanted) ? wanted : fallback;
    return new ModelRegistry(models, defaultModel, options);
  }

  find(name: string | undefined): InstalledModel {
    const wanted = name ?? this.defaultModel;
    const model = this.models.find((m) => m.name === wanted);
    if (!model) {
      const names = this.models.map((m) => m.name).join(', ') || 'none';
      throw new DaemonError('MODEL_NOT_FOUND', `No model named ${wanted ?? '(default)'} is installed (installed: ${names}).`);
    }
    return model;
  }

  defaultSampler(model: InstalledModel): { name: SamplerName; steps: number; eta: number } {
    const s = model.manifest.sampler;
    return s ? { name: s.name, steps: s.steps, eta: s.eta ?? 0 } : { ...FALLBACK_SAMPLER, eta: 0 };
  }

  /** The runner for a model, loading it (and releasing the previous one) on first use. */
  async runner(name: string | undefined): Promise<Denoiser> {
    const model = this.find(name);
    const loaded = this.loaded;
    if (loaded?.name === model.name) {
      const current = await loaded.runner.catch(() => undefined);
      // A thread that died (onnxruntime crashed) is replaced rather than failing every later job.
      if (current?.alive) return current;
      if (this.loaded !== loaded) return this.runner(name); // replaced by another caller meanwhile
    }
    const previous = this.loaded;
    const executor = this.runnerOptions.executor;
    const runner: Promise<LoadedRunner> = executor?.kind === 'kserve'
      ? KServePool.open(model.dir, executor.urls, { ...withoutKind(executor), ...(this.runnerOptions.log ? { log: this.runnerOptions.log } : {}) })
      : ModelThread.open(model.dir, this.runnerOptions);
    this.loaded = { name: model.name, runner };
    if (previous) void previous.runner.then((r) => r.close(), () => undefined);
    try {
      return await runner;
    } catch (error) {
      if (this.loaded?.runner === runner) this.loaded = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded) await loaded.runner.then((r) => r.close(), () => undefined);
  }
}

/** The pool's options from an executor choice (kind and urls are the choice's, not options). */
function withoutKind({ kind: _kind, urls: _urls, ...options }: Extract<ExecutorChoice, { kind: 'kserve' }>): KServePoolOptions {
  return options;
}
