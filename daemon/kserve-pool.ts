/**
 * Several inference servers as one Denoiser: `palette serve --executor kserve --kserve-url A
 * --kserve-url B ...`, for a studio's GPU nodes without a load balancer in front (README,
 * "Deployment past one machine"). It speaks no HTTP itself: each node is a KServeExecutor.
 *
 * - `concurrency` is the number of nodes, so the model scheduler keeps that many calls in flight
 *   (one per node when all are up), still chosen fairly between clients.
 * - A call goes to the up node with the fewest calls in flight (round robin among equals).
 * - A node that cannot be reached, or answers 502/503/504 past its retries (EXECUTOR_UNAVAILABLE),
 *   is marked down for `downMs` and the same call goes to the next node: a model call is pure, so
 *   running it again elsewhere changes nothing. A down node is opened again (readiness, signature)
 *   the next time a call comes after its `downMs`, while the others serve.
 * - Any other error (the server rejected the call, a wrong signature) fails the call: another node
 *   would answer the same.
 * At start every node is checked; nodes that cannot be reached are logged and retried later, but a
 * node serving something else (MODEL_SIGNATURE_MISMATCH, a bad URL) stops the start: a pool must be
 * one network.
 */
import { DaemonError } from './errors.ts';
import { KServeExecutor, type KServeOptions } from './kserve-executor.ts';
import { readManifest, type ModelManifest } from './model-manifest.ts';
import type { DenoiseInputs, Denoiser, NchwTensor } from './model-runner.ts';

export interface KServePoolOptions extends Omit<KServeOptions, 'url'> {
  /** How long a node that failed stays out of the rotation before it is tried again; default 5 s. */
  downMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface PoolNode {
  url: string;
  executor?: KServeExecutor;
  inFlight: number;
  /** Not tried before this time (ms); 0 when up. */
  downUntil: number;
  reopening?: Promise<void>;
  /** The last reason it was marked down, for the error when every node is down. */
  failure?: string;
}

export class KServePool implements Denoiser {
  readonly device = 'remote' as const;
  private closed = false;
  private turn = 0;

  private constructor(
    readonly manifest: ModelManifest,
    private readonly nodes: PoolNode[],
    private readonly dir: string,
    private readonly options: KServePoolOptions,
  ) {}

  /** One model call per node at once. */
  get concurrency(): number {
    return this.nodes.length;
  }

  get alive(): boolean {
    return !this.closed;
  }

  /** The nodes as the pool sees them now (for logs and tests). */
  get status(): Array<{ url: string; up: boolean; inFlight: number }> {
    return this.nodes.map((n) => ({ url: n.url, up: n.executor !== undefined && n.downUntil === 0, inFlight: n.inFlight }));
  }

  /** One URL: the executor itself. Several: a pool of the nodes that answered (at least one). */
  static async open(dir: string, urls: readonly string[], options: KServePoolOptions = {}): Promise<Denoiser & { alive: boolean }> {
    if (urls.length === 0) throw new DaemonError('INVALID_ARGUMENT', 'the kserve executor needs at least one --kserve-url');
    if (urls.length === 1) return KServeExecutor.open(dir, { ...options, url: urls[0]! });
    if (new Set(urls).size !== urls.length) throw new DaemonError('INVALID_ARGUMENT', `--kserve-url given twice: ${urls.join(', ')}`);
    const { manifest } = readManifest(dir);
    const opened = await Promise.allSettled(urls.map((url) => KServeExecutor.open(dir, { ...options, url })));
    const wrong = opened.find((r) => r.status === 'rejected' && !unavailable(r.reason));
    if (wrong) {
      await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
      throw (wrong as PromiseRejectedResult).reason;
    }
    const nodes = urls.map((url, i): PoolNode => {
      const r = opened[i]!;
      if (r.status === 'fulfilled') return { url, executor: r.value, inFlight: 0, downUntil: 0 };
      const failure = (r.reason as Error).message;
      options.log?.(`inference server ${url} is down at start (${failure}); retried while the others serve`);
      return { url, inFlight: 0, downUntil: downDeadline(options), failure };
    });
    if (!nodes.some((n) => n.executor)) {
      throw new DaemonError('EXECUTOR_UNAVAILABLE', `none of the ${urls.length} inference servers answered: ` +
        nodes.map((n) => `${n.url}: ${n.failure}`).join('; '));
    }
    return new KServePool(manifest, nodes, dir, options);
  }

  async denoise(inputs: DenoiseInputs): Promise<NchwTensor> {
    const tried = new Set<PoolNode>();
    for (;;) {
      if (this.closed) throw new DaemonError('MODEL_RUN_FAILED', 'the remote model pool was closed');
      const node = this.pick(tried);
      if (!node) break;
      tried.add(node);
      node.inFlight++;
      try {
        return await node.executor!.denoise(inputs);
      } catch (error) {
        if (!unavailable(error)) throw error;
        this.markDown(node, (error as Error).message);
      } finally {
        node.inFlight--;
      }
    }
    throw new DaemonError('EXECUTOR_UNAVAILABLE', `every inference server of the pool is down: ` +
      this.nodes.map((n) => `${n.url}${n.failure ? `: ${n.failure}` : ''}`).join('; '));
  }

  /** The up node with the fewest calls in flight, not yet tried for this call; reopens due nodes. */
  private pick(tried: Set<PoolNode>): PoolNode | undefined {
    const now = (this.options.now ?? Date.now)();
    let best: PoolNode | undefined;
    const start = this.turn++;
    for (let k = 0; k < this.nodes.length; k++) {
      const node = this.nodes[(start + k) % this.nodes.length]!;
      if (tried.has(node)) continue;
      if (node.downUntil !== 0) {
        if (node.downUntil <= now) this.reopen(node);
        continue;
      }
      if (!best || node.inFlight < best.inFlight) best = node;
    }
    return best;
  }

  private markDown(node: PoolNode, failure: string): void {
    node.failure = failure;
    if (node.downUntil !== 0) return;
    node.downUntil = downDeadline(this.options);
    this.options.log?.(`inference server ${node.url} is down (${failure}); its calls go to the others`);
  }

  /** Checks a down node again in the background (readiness, signature); it serves once that passes. */
  private reopen(node: PoolNode): void {
    if (node.reopening) return;
    node.reopening = (async () => {
      try {
        const fresh = await KServeExecutor.open(this.dir, { ...this.options, url: node.url });
        if (this.closed) return void (await fresh.close());
        await node.executor?.close();
        node.executor = fresh;
        node.downUntil = 0;
        delete node.failure;
        this.options.log?.(`inference server ${node.url} is back`);
      } catch (error) {
        node.failure = (error as Error).message;
        node.downUntil = downDeadline(this.options);
      } finally {
        delete node.reopening;
      }
    })();
  }

  /** Waits for the nodes being checked again (tests). */
  async settled(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.reopening));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.nodes.map((n) => n.reopening));
    await Promise.all(this.nodes.map((n) => n.executor?.close()));
  }
}

const DEFAULT_DOWN_MS = 5000;

/** When a node that fails now is tried again. */
function downDeadline(options: KServePoolOptions): number {
  return (options.now ?? Date.now)() + (options.downMs ?? DEFAULT_DOWN_MS);
}

function unavailable(error: unknown): boolean {
  return error instanceof DaemonError && error.code === 'EXECUTOR_UNAVAILABLE';
}
