/**
 * The only module that talks to a remote inference server: a Denoiser whose ε̂ = f(cond, y_t, γ) runs
 * on a server speaking the Open Inference Protocol (KServe v2 REST), such as Triton Inference Server
 * serving the repository `python -m palette_training triton-repo` writes, KServe, MLServer or OVMS.
 *
 * Only the network runs remotely. The manifest (sizes, tasks, γ range, default sampler) still comes
 * from the local model folder, so the daemon's geometry and sampling are the same as with the local
 * executor; open() checks that the served model has the Palette signature before any job uses it.
 *
 * Why node:http(s) and not fetch: a private CA (`caFile`) and a keep-alive pool are plain options
 * there, and fetch's undici Agent is not a public module in Node 20.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { DaemonError } from './errors.ts';
import { checkSignature, decodeInferReply, encodeInferRequest, HEADER_LENGTH, parseMetadata, type PaletteSignature } from './kserve-wire.ts';
import { readManifest, type ModelManifest } from './model-manifest.ts';
import type { DenoiseInputs, Denoiser, NchwTensor } from './model-runner.ts';
import { manifestProbe, PROBE_TOLERANCE, probeInputs, probeMismatch } from './weights-probe.ts';

export interface KServeOptions {
  /** http://HOST:PORT or https://HOST:PORT (a path prefix is kept: https://gw/palette → /palette/v2/...). */
  url: string;
  /** The served model's name; by default the local model folder's name. */
  model?: string;
  /** Sent as `Authorization: Bearer <token>` (KServe behind an auth proxy, a gateway). */
  token?: string;
  /** PEM file of the CA that signed the server's certificate (https only). */
  caFile?: string;
  /** The binary-tensor extension (default) or JSON arrays, for servers that lack the extension. */
  binary?: boolean;
  /** Retries of a model call after a connection error or a 502/503/504; default 3. */
  retries?: number;
  /** First retry delay; each next one is 4× longer. Default 200 ms. */
  retryDelayMs?: number;
  /** One HTTP exchange at most this long; default 120 s (a big batch on a busy CPU server is slow). */
  timeoutMs?: number;
  /** Check at open that the server computes model.json's `weights_probe` (default true; tests with fake networks turn it off). */
  checkWeights?: boolean;
  log?: (line: string) => void;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A failure to reach the server at all, as opposed to an answer we do not like. */
class ConnectionFailure extends Error {}

/** Statuses a proxy or a (re)starting server gives for a moment; the same call may then succeed. */
const TRANSIENT_STATUS = new Set([502, 503, 504]);

export class KServeExecutor implements Denoiser {
  /** Where the network runs, for logs and `check-model`; the daemon treats it like any device. */
  readonly device = 'remote' as const;
  private closed = false;

  private constructor(
    readonly manifest: ModelManifest,
    readonly modelName: string,
    private readonly base: URL,
    private readonly agent: HttpAgent,
    private readonly headers: Record<string, string>,
    private readonly signature: PaletteSignature,
    /** The server's max_batch_size when it has one (Triton); larger batches are sent in parts. */
    private readonly maxBatch: number,
    private readonly options: KServeOptions,
  ) {}

  /** A remote executor lives as long as it is not closed; a server restart is handled by retries. */
  get alive(): boolean {
    return !this.closed;
  }

  /**
   * Reads the local manifest, then checks the server: ready (/v2/health/ready), the model ready, its
   * metadata a Palette signature. EXECUTOR_UNAVAILABLE when the server cannot be reached, refuses the
   * token, or does not have the model; MODEL_SIGNATURE_MISMATCH when the model is something else.
   */
  static async open(dir: string, options: KServeOptions): Promise<KServeExecutor> {
    const { manifest } = readManifest(dir);
    let base: URL;
    try {
      base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    } catch {
      throw new DaemonError('INVALID_ARGUMENT', `--kserve-url must be http://HOST:PORT or https://HOST:PORT, got "${options.url}"`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new DaemonError('INVALID_ARGUMENT', `--kserve-url must be http:// or https://, got "${options.url}"`);
    }
    if (options.caFile && base.protocol !== 'https:') {
      throw new DaemonError('INVALID_ARGUMENT', `a CA file only applies to an https:// server, not ${base.origin}`);
    }
    const agent = base.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) })
      : new HttpAgent({ keepAlive: true });
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    const name = options.model ?? basename(dir);
    const probe = new KServeExecutor(manifest, name, base, agent, headers, { gammaRank: 1 }, 0, options);
    try {
      const { signature, maxBatch } = await probe.handshake().catch((error: unknown) => {
        if (!(error instanceof ConnectionFailure)) throw error;
        throw new DaemonError('EXECUTOR_UNAVAILABLE', `cannot reach the inference server at ${base.origin} (is it running?): ${error.message}`, { cause: error });
      });
      const executor = new KServeExecutor(manifest, name, base, agent, headers, signature, maxBatch, options);
      const checked = await executor.checkWeights();
      options.log?.(`model ${manifest.name} runs remotely: ${base.origin} model ${name}` + (maxBatch ? ` (max batch ${maxBatch})` : '') + `; ${checked}`);
      return executor;
    } catch (error) {
      agent.destroy();
      throw error;
    }
  }

  private get where(): string {
    return `the inference server at ${this.base.origin}`;
  }

  private async handshake(): Promise<{ signature: PaletteSignature; maxBatch: number }> {
    const ready = await this.exchange('GET', 'v2/health/ready');
    this.refuseAuth(ready);
    if (ready.status !== 200) throw new DaemonError('EXECUTOR_UNAVAILABLE', `${this.where} is not ready (GET /v2/health/ready: ${ready.status})`);
    const model = encodeURIComponent(this.modelName);
    const metadata = await this.exchange('GET', `v2/models/${model}`);
    this.refuseAuth(metadata);
    if (metadata.status === 404 || metadata.status === 400) {
      throw new DaemonError('EXECUTOR_UNAVAILABLE', `${this.where} has no model ${this.modelName} (${metadata.status}: ${snippet(metadata.body)}); ` +
        'serve the repository from `python -m palette_training triton-repo`, or name the served model with --kserve-model');
    }
    if (metadata.status !== 200) throw new DaemonError('EXECUTOR_UNAVAILABLE', `${this.where} failed GET /v2/models/${this.modelName}: ${metadata.status} ${snippet(metadata.body)}`);
    const signature = checkSignature(parseMetadata(metadata.body.toString('utf8'), `${this.where}, model ${this.modelName},`), `${this.where}, model ${this.modelName},`);
    const modelReady = await this.exchange('GET', `v2/models/${model}/ready`);
    if (modelReady.status !== 200) throw new DaemonError('EXECUTOR_UNAVAILABLE', `${this.where} has model ${this.modelName} but it is not ready (${modelReady.status})`);
    // Triton's extension: the model's configuration. Other servers have no such route; then B is unbounded.
    const config = await this.exchange('GET', `v2/models/${model}/config`);
    let maxBatch = 0;
    if (config.status === 200) {
      try {
        const n = Number((JSON.parse(config.body.toString('utf8')) as { max_batch_size?: unknown }).max_batch_size);
        if (Number.isInteger(n) && n > 0) maxBatch = n;
      } catch {
        // not Triton's config; no bound
      }
    }
    return { signature, maxBatch };
  }

  /**
   * Sends model.json's weights probe and compares (daemon/weights-probe.ts): MODEL_SIGNATURE_MISMATCH
   * when the server runs other weights under the same signature, e.g. an older export of the model.
   */
  private async checkWeights(): Promise<string> {
    const probe = manifestProbe(this.manifest);
    if (this.options.checkWeights === false) return 'weights not checked (turned off)';
    if (!probe) return 'weights not checked (model.json has no weights_probe; re-export the model)';
    const mismatch = probeMismatch(probe, await this.denoise(probeInputs(probe)));
    if (!(mismatch <= PROBE_TOLERANCE)) {
      throw new DaemonError('MODEL_SIGNATURE_MISMATCH', `${this.where}, model ${this.modelName}, computes another network than ` +
        `${this.manifest.name}'s ${this.manifest.file} (its answer to model.json's weights_probe is off by ${mismatch.toExponential(1)} of ` +
        `the probe's scale, more than ${PROBE_TOLERANCE}): serve the repository \`python -m palette_training triton-repo\` writes from this model folder`);
    }
    return `weights checked (probe within ${mismatch.toExponential(1)})`;
  }

  private refuseAuth(reply: Reply): void {
    if (reply.status === 401 || reply.status === 403) {
      const how = this.headers.authorization ? 'refused the token' : 'wants a token (--kserve-token)';
      throw new DaemonError('EXECUTOR_UNAVAILABLE', `${this.where} ${how}: ${reply.status} ${snippet(reply.body)}`);
    }
  }

  /** ε̂ for a batch. A batch over the server's max_batch_size goes in parts, in order. */
  async denoise(inputs: DenoiseInputs): Promise<NchwTensor> {
    const [b, c, h, w] = inputs.cond.dims;
    const m = this.manifest.size_multiple;
    if (c !== 3 || inputs.yT.dims.join() !== inputs.cond.dims.join() || inputs.gamma.length !== b || h % m !== 0 || w % m !== 0) {
      throw new DaemonError(
        'INVALID_ARGUMENT',
        `denoise needs cond and y_t of equal shape [B,3,H,W] with H, W multiples of ${m} and B gammas; ` +
          `got cond [${inputs.cond.dims.join(',')}], y_t [${inputs.yT.dims.join(',')}], ${inputs.gamma.length} gammas`,
      );
    }
    if (this.maxBatch === 0 || b <= this.maxBatch) return this.inferOnce(inputs);
    const per = 3 * h * w;
    const eps = new Float32Array(b * per);
    for (let start = 0; start < b; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, b - start);
      const dims = [n, 3, h, w] as const;
      const part = await this.inferOnce({
        cond: { data: inputs.cond.data.subarray(start * per, (start + n) * per), dims },
        yT: { data: inputs.yT.data.subarray(start * per, (start + n) * per), dims },
        gamma: inputs.gamma.subarray(start, start + n),
      });
      eps.set(part.data, start * per);
    }
    return { data: eps, dims: [b, 3, h, w] };
  }

  /** One infer call, retried after connection errors and transient statuses (a model call is pure). */
  private async inferOnce(inputs: DenoiseInputs): Promise<NchwTensor> {
    if (this.closed) throw new DaemonError('MODEL_RUN_FAILED', `the remote model ${this.modelName} was closed`);
    const request = encodeInferRequest(inputs, this.signature, this.options.binary ?? true);
    const retries = this.options.retries ?? 3;
    let delay = this.options.retryDelayMs ?? 200;
    let failure = '';
    for (let attempt = 0; ; attempt++) {
      let reply: Reply | undefined;
      try {
        reply = await this.exchange('POST', `v2/models/${encodeURIComponent(this.modelName)}/infer`, request.chunks, { ...request.headers, 'content-length': String(request.bytes) });
        if (reply.status === 200) {
          const length = reply.headers[HEADER_LENGTH];
          return decodeInferReply(reply.body, typeof length === 'string' ? Number(length) : undefined, inputs.cond.dims);
        }
        failure = `${reply.status} ${snippet(reply.body)}`;
        if (!TRANSIENT_STATUS.has(reply.status)) break;
      } catch (error) {
        if (!(error instanceof ConnectionFailure)) throw error;
        failure = error.message;
      }
      if (attempt >= retries || this.closed) {
        // Only connection failures and 502/503/504 get here: the server is unavailable, not our call wrong.
        throw new DaemonError('EXECUTOR_UNAVAILABLE', `${this.where}: the remote model call failed ${attempt + 1} times; last: ${failure}`);
      }
      this.options.log?.(`remote model call failed (${failure}); retry ${attempt + 1} of ${retries} in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 4;
    }
    throw new DaemonError('MODEL_RUN_FAILED', `${this.where} refused the model call: ${failure}`);
  }

  /** One HTTP exchange; ConnectionFailure when no complete reply came (refused, reset, timed out). */
  private exchange(method: 'GET' | 'POST', path: string, body: Uint8Array[] = [], extra: Record<string, string> = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Reply>((resolve, reject) => {
      const req = send(url, { method, agent: this.agent, headers: { ...this.headers, ...extra }, timeout: this.options.timeoutMs ?? 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (error) => reject(new ConnectionFailure(`${method} ${url.pathname}: ${error.message}`)));
      });
      req.on('timeout', () => req.destroy(new Error(`no reply in ${this.options.timeoutMs ?? 120_000} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const what = error.code ? `${error.code} ${error.message}` : error.message;
        reject(new ConnectionFailure(`${method} ${url.href}: ${what}`));
      });
      for (const chunk of body) req.write(chunk);
      req.end();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }
}

function snippet(body: Buffer): string {
  const text = body.toString('utf8', 0, Math.min(body.byteLength, 300)).replace(/\s+/g, ' ').trim();
  return text || '(empty body)';
}
