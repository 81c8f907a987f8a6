/**
 * A KServe v2 server in a few lines of node:http, for the executor's tests: health, metadata, model
 * ready, Triton's config route, and infer (binary-tensor extension and JSON). Its "network" is
 * ε̂ = γ·cond − y_t, so a test can check every value that comes back. Faults are switches on it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { DenoiseInputs } from '../../daemon/model-runner.ts';

export interface FakeOptions {
  model?: string;
  /** Metadata shape of γ: [-1] (a plain v2 server) or [-1, 1] (Triton's batcher). */
  gammaShape?: number[];
  /** Replaces the metadata's inputs (a model that is not Palette's). */
  inputs?: { name: string; datatype: string; shape: number[] }[];
  /** Triton's max_batch_size; 0: no config route (another v2 server). */
  maxBatch?: number;
  token?: string;
  /** Listen on this port (a server restarted where it was); default any free one. */
  port?: number;
}

export interface InferCall {
  headers: IncomingMessage['headers'];
  shapes: Record<string, number[]>;
  binary: boolean;
}

export class FakeKServe {
  readonly calls: InferCall[] = [];
  /** The next N infer calls answer this status (503: a restart; 400: a bad request). */
  failNext: { count: number; status?: number; dropConnection?: boolean } = { count: 0 };
  ready = true;
  private constructor(private readonly server: Server, readonly url: string, private readonly options: FakeOptions) {}

  static async start(options: FakeOptions = {}): Promise<FakeKServe> {
    let fake: FakeKServe | undefined;
    const server = createServer((req, res) => void fake?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeKServe(server, `http://127.0.0.1:${port}`, options);
    return fake;
  }

  get model(): string {
    return this.options.model ?? 'tiny-model';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) return json(401, { error: 'unauthorized' });
    const base = `/v2/models/${this.model}`;
    if (req.url === '/v2/health/ready') return void res.writeHead(this.ready ? 200 : 503).end();
    if (req.url === base && req.method === 'GET') {
      return json(200, {
        name: this.model,
        platform: 'fake',
        inputs: this.options.inputs ?? [
          { name: 'cond', datatype: 'FP32', shape: [-1, 3, -1, -1] },
          { name: 'y_t', datatype: 'FP32', shape: [-1, 3, -1, -1] },
          { name: 'gamma', datatype: 'FP32', shape: this.options.gammaShape ?? [-1] },
        ],
        outputs: [{ name: 'eps', datatype: 'FP32', shape: [-1, 3, -1, -1] }],
      });
    }
    if (req.url === `${base}/ready`) return void res.writeHead(200).end();
    if (req.url === `${base}/config` && this.options.maxBatch) return json(200, { name: this.model, max_batch_size: this.options.maxBatch });
    if (req.url === `${base}/infer` && req.method === 'POST') return this.infer(req, res, body, json);
    return json(404, { error: `no route ${req.url}` });
  }

  private infer(req: IncomingMessage, res: ServerResponse, body: Buffer, json: (status: number, value: unknown) => void): void {
    const headerLength = req.headers['inference-header-content-length'];
    const binary = typeof headerLength === 'string';
    const header = JSON.parse(body.subarray(0, binary ? Number(headerLength) : body.byteLength).toString('utf8')) as {
      inputs: { name: string; shape: number[]; data?: number[]; parameters?: { binary_data_size?: number } }[];
    };
    const tensors: Record<string, Float32Array> = {};
    const shapes: Record<string, number[]> = {};
    let offset = binary ? Number(headerLength) : 0;
    for (const input of header.inputs) {
      shapes[input.name] = input.shape;
      const size = input.parameters?.binary_data_size;
      if (size !== undefined) {
        tensors[input.name] = new Float32Array(new Uint8Array(body.subarray(offset, offset + size)).buffer);
        offset += size;
      } else {
        tensors[input.name] = Float32Array.from(input.data ?? []);
      }
    }
    this.calls.push({ headers: req.headers, shapes, binary });
    if (this.failNext.count > 0) {
      this.failNext.count--;
      if (this.failNext.dropConnection) return void req.socket.destroy();
      return json(this.failNext.status ?? 503, { error: 'unavailable for a moment' });
    }
    const cond = tensors.cond!;
    const yT = tensors.y_t!;
    const gamma = tensors.gamma!;
    const shape = shapes.cond!;
    const per = cond.length / gamma.length;
    const eps = cond.map((c, i) => gamma[Math.floor(i / per)]! * c - yT[i]!);
    if (!binary) return json(200, { model_name: this.model, outputs: [{ name: 'eps', datatype: 'FP32', shape, data: Array.from(eps) }] });
    const out = Buffer.from(JSON.stringify({
      model_name: this.model,
      outputs: [{ name: 'eps', datatype: 'FP32', shape, parameters: { binary_data_size: eps.byteLength } }],
    }));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(out.byteLength) });
    res.end(Buffer.concat([out, Buffer.from(eps.buffer)]));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The error `work` fails with (the test fails if it does not). */
export async function failure(work: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await work;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('it did not fail');
}

/** Inputs for the fake's network: cond sin(i + tag), y_t cos(0.3 i), γ per sample. */
export function fakeInputs({ b = 1, h = 8, w = 8, tag = 0, gamma }: {
  b?: number; h?: number; w?: number; tag?: number; gamma?: (sample: number) => number;
} = {}): DenoiseInputs {
  const dims = [b, 3, h, w] as const;
  const n = b * 3 * h * w;
  return {
    cond: { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i + tag)), dims },
    yT: { data: Float32Array.from({ length: n }, (_, i) => Math.cos(0.3 * i)), dims },
    gamma: Float32Array.from({ length: b }, (_, i) => (gamma ? gamma(i) : 0.5)),
  };
}

/** What the fake server's network computes, ε̂ = γ·cond − y_t, in float32 as it does. */
export function fakeNetwork({ cond, yT, gamma }: DenoiseInputs): Float32Array {
  const per = cond.data.length / gamma.length;
  return cond.data.map((c, i) => gamma[Math.floor(i / per)]! * c - yT.data[i]!);
}

/** A loopback port nothing listens on (now). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
