import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { encodeMessage, decodeServerMessage } from '../../shared/codec.ts';
import { DaemonClient } from '../../shared/daemon-client.ts';
import { ProtocolError } from '../../shared/protocol-errors.ts';
import type { GenerateRequest, ServerMessage } from '../../shared/protocol.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { startServer, type RunningServer } from '../../daemon/server.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

function photo(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      data[p] = (x * 255) / width;
      data[p + 1] = (y * 255) / height;
      data[p + 2] = ((x + y) * 7) % 256;
      data[p + 3] = 255;
    }
  }
  return data;
}

/** A 400-step fill of this client, once the daemon has started it (it holds the client's one running slot). */
async function startedLongJob(client: DaemonClient): Promise<{ long: ReturnType<DaemonClient['generate']> }> {
  let started = false;
  const long = client.generate(fillRequest(1, 400), { onStarted: () => { started = true; } });
  while (!started) await new Promise((resolve) => setTimeout(resolve, 5));
  return { long }; // wrapped: an async function returning the call itself would wait for it to settle
}

function fillRequest(variants: number, steps: number, previewMs = 1): GenerateRequest {
  const width = 96;
  const height = 80;
  const mask = new Uint8Array(width * height);
  for (let y = 30; y < 50; y++) for (let x = 40; x < 60; x++) mask[y * width + x] = 255;
  return {
    task: 'fill',
    image: { format: 'rgba8', width, height, data: photo(width, height) },
    mask: { format: 'gray8', width, height, data: mask },
    variants,
    steps,
    sampler: 'ddim',
    seeds: Array.from({ length: variants }, (_, i) => 100 + i),
    preview: { intervalMs: previewMs, maxSize: 64, format: 'webp' },
  };
}

async function connect(server: RunningServer): Promise<DaemonClient> {
  return DaemonClient.connect(new WebSocket(server.url), { client: 'test' });
}

/** A raw socket that collects every decoded message. */
async function rawSocket(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  const messages: ServerMessage[] = [];
  socket.on('message', (data) => messages.push(decodeServerMessage(new Uint8Array(data as Buffer))));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, messages, closed };
}

describe('daemon over a real socket with the tiny model', () => {
  let server: RunningServer;
  let registry: ModelRegistry;
  beforeAll(async () => {
    registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });
    server = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined });
  });
  afterAll(async () => {
    await server.close();
    await registry.close();
  });

  it('streams started → progress and previews in order → N results → done (no queued: it starts at once)', async () => {
    const client = await connect(server);
    const events: string[] = [];
    const previewSteps: number[] = [];
    const results: number[] = [];
    const done = await client.generate(fillRequest(3, 6), {
      onQueued: () => events.push('queued'),
      onStarted: (m) => {
        events.push('started');
        expect(m.seeds).toEqual([100, 101, 102]);
      },
      onProgress: () => events.push('progress'),
      onPreview: (m) => {
        events.push('preview');
        previewSteps.push(m.step);
        expect(m.images).toHaveLength(3);
        expect(m.images[0]!.format).toBe('webp');
      },
      onResult: (m) => {
        events.push('result');
        results.push(m.variant);
        expect(m.layer.image.format).toBe('png');
        expect(m.canvas).toEqual({ width: 96, height: 80 });
      },
    });
    expect(done.type).toBe('done');
    expect(events[0]).toBe('started'); // PROTOCOL.md §6: no queued for a job that starts at once
    expect(events).not.toContain('queued');
    expect(events.filter((e) => e === 'progress')).toHaveLength(6);
    expect(previewSteps.length).toBeGreaterThan(0);
    expect([...previewSteps].sort((a, b) => a - b)).toEqual(previewSteps);
    expect(results).toEqual([0, 1, 2]);
    expect(events.lastIndexOf('preview')).toBeLessThan(events.indexOf('result'));
    client.close();
  });

  it('a disconnect mid-job cancels the abandoned job (no more model calls) and frees the runner', async () => {
    const runner = await registry.runner('tiny-model');
    const modelCalls = vi.spyOn(runner, 'denoise');
    const first = await connect(server);
    let started!: () => void;
    const isRunning = new Promise<void>((resolve) => (started = resolve));
    const abandoned = first.generate(fillRequest(2, 400), { onProgress: () => started() });
    abandoned.catch(() => undefined);
    await isRunning;
    first.close();
    await expect(abandoned).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    const callsAtClose = modelCalls.mock.calls.length;
    await server.queue.whenIdle();
    // The sampling loop stops before its next model call once the server sees the close; without the
    // cancel the job would make all 400.
    expect(modelCalls.mock.calls.length - callsAtClose).toBeLessThan(50);
    modelCalls.mockRestore();
    const second = await connect(server);
    const done = await second.generate(fillRequest(1, 3));
    expect(done.type).toBe('done');
    second.close();
  });

  it('cancel stops a running job and answers cancelled', async () => {
    const client = await connect(server);
    let progress = 0;
    const call = client.generate(fillRequest(1, 400), {
      onProgress: () => {
        progress++;
        if (progress === 2) client.cancel(call.id);
      },
    });
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(progress).toBeLessThan(10);
    client.close();
  });

  it('survives 1000 random and malformed frames from one client while another client generates', async () => {
    const good = await connect(server);
    const job = good.generate(fillRequest(1, 20));
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const valid = encodeMessage({ type: 'generate', id: 'x', request: fillRequest(1, 2) });
    const codes = new Set<string>();
    let sent = 0;
    while (sent < 1000) {
      const bad = await rawSocket(server.url);
      bad.socket.send(encodeMessage({ type: 'hello', protocol: 1, client: 'fuzz' }));
      for (let i = 0; i < 50 && bad.socket.readyState === WebSocket.OPEN; i++, sent++) {
        const kind = rand();
        let frame: Uint8Array;
        if (kind < 0.4) frame = Uint8Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
        else if (kind < 0.7) frame = valid.slice(0, Math.floor(rand() * valid.length));
        else {
          frame = valid.slice();
          for (let k = 0; k < 4; k++) frame[Math.floor(rand() * Math.min(frame.length, 400))] = Math.floor(rand() * 256);
        }
        bad.socket.send(frame);
      }
      bad.socket.close();
      await bad.closed; // every reply the daemon sent before the close has arrived
      for (const m of bad.messages) if (m.type === 'error') codes.add(m.code);
    }
    expect(codes.size).toBeGreaterThan(1);
    expect([...codes].every((c) => c !== 'INTERNAL')).toBe(true);
    expect((await job).type).toBe('done');
    good.close();
  });

  it('rejects text frames, frames before hello, wrong versions, unknown origins and answers /health', async () => {
    const text = await rawSocket(server.url);
    text.socket.send('{"type":"hello"}');
    expect(await text.closed).toBe(1002);
    expect(text.messages[0]).toMatchObject({ type: 'error', code: 'BAD_FRAME' });

    const early = await rawSocket(server.url);
    early.socket.send(encodeMessage({ type: 'list-models', id: 'a' }));
    await early.closed;
    expect(early.messages[0]).toMatchObject({ type: 'error', code: 'HANDSHAKE_REQUIRED' });

    const old = await rawSocket(server.url);
    old.socket.send(encodeMessage({ type: 'hello', protocol: 2, client: 'future' }));
    expect(await old.closed).toBe(1008);
    expect(old.messages[0]).toMatchObject({ type: 'error', code: 'PROTOCOL_VERSION_MISMATCH' });

    await expect(rawSocket(server.url, { Origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const fromPhotopea = await rawSocket(server.url, { Origin: 'https://www.photopea.com' });
    fromPhotopea.socket.close();

    const health = await (await fetch(server.url.replace('ws', 'http') + '/health')).json();
    expect(health).toMatchObject({ ok: true, models: ['tiny-model'] });
  });

  it('refuses unknown models and requests the model was not trained for, before queueing', async () => {
    const client = await connect(server);
    await expect(client.generate({ ...fillRequest(1, 2), model: 'nope' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const models = await client.listModels();
    expect(models.map((m) => m.name)).toEqual(['tiny-model']);
    client.close();
  });
});

describe('daemon with a model not trained for every task, and small frame limits', () => {
  let server: RunningServer;
  let registry: ModelRegistry;
  beforeAll(async () => {
    // A copy of the tiny model whose manifest says it was not trained for colorize.
    const dir = join(mkdtempSync(join(tmpdir(), 'palette-server-')), 'no-colorize');
    mkdirSync(dir);
    const manifest = JSON.parse(readFileSync(join(FIXTURE, 'model.json'), 'utf8'));
    manifest.name = 'no-colorize';
    manifest.tasks = manifest.tasks.filter((t: string) => t !== 'colorize');
    if (manifest.task_mix) delete manifest.task_mix.colorize;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
    copyFileSync(join(FIXTURE, manifest.file), join(dir, manifest.file));
    registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [dir], device: 'cpu', intraOpThreads: 1 });
    expect(registry.models.map((m) => m.name)).toEqual(['no-colorize']);
    server = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined, limits: { maxPayloadBytes: 64 * 1024 } });
  });
  afterAll(async () => {
    await server.close();
    await registry.close();
  });

  it('refuses a task the model was not trained for with TASK_NOT_SUPPORTED, before queueing', async () => {
    const client = await connect(server);
    const events: string[] = [];
    const width = 32;
    const height = 32;
    const request: GenerateRequest = {
      task: 'colorize', image: { format: 'rgba8', width, height, data: photo(width, height) }, variants: 1, steps: 2, seeds: [1],
    };
    await expect(client.generate(request, { onQueued: () => events.push('queued'), onStarted: () => events.push('started') }))
      .rejects.toMatchObject({ code: 'TASK_NOT_SUPPORTED' });
    expect(events).toEqual([]);
    expect(server.queue.size).toBe(0);
    const [info] = await client.listModels();
    expect(info?.tasks).toEqual(['fill', 'uncrop', 'restore']);
    client.close();
  });

  it("refuses an unsupported task at once while the client's own job runs: never queued behind it", async () => {
    const client = await connect(server);
    const { long } = await startedLongJob(client);
    const events: string[] = [];
    const request: GenerateRequest = {
      task: 'colorize', image: { format: 'rgba8', width: 32, height: 32, data: photo(32, 32) }, variants: 1, steps: 2, seeds: [1],
    };
    // One job per client runs at a time, so a job that got into the queue would wait (queued) behind
    // the long one; the session's check refuses it first, while the long job still runs.
    await expect(client.generate(request, { onQueued: () => events.push('queued'), onStarted: () => events.push('started') }))
      .rejects.toMatchObject({ code: 'TASK_NOT_SUPPORTED' });
    expect(events).toEqual([]);
    expect(server.queue.size).toBe(1);
    client.cancel(long.id);
    await expect(long).rejects.toMatchObject({ code: 'CANCELLED' });
    client.close();
  });

  it('cancelling a job that waits behind the same client’s running job answers cancelled at once', async () => {
    const client = await connect(server);
    const { long } = await startedLongJob(client);
    let queued = false;
    const waiting = client.generate(fillRequest(1, 2), { onQueued: () => { queued = true; } });
    while (!queued) await new Promise((resolve) => setTimeout(resolve, 5));
    client.cancel(waiting.id);
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(server.queue.size).toBe(1); // the long job runs on
    client.cancel(long.id);
    await expect(long).rejects.toMatchObject({ code: 'CANCELLED' });
    client.close();
  });

  it("reports a job's timings within the wall time the client saw: queued + sampling ≤ total ≤ wall", async () => {
    const client = await connect(server);
    const t0 = performance.now();
    const done = await client.generate(fillRequest(1, 3));
    const wall = performance.now() - t0;
    if (done.type !== 'done') throw new Error(done.type);
    const { queuedMs, sampleMs, totalMs } = done.timings;
    expect(queuedMs).toBeGreaterThanOrEqual(0);
    expect(totalMs).toBeGreaterThanOrEqual(queuedMs + sampleMs - 1);
    expect(totalMs).toBeLessThanOrEqual(wall + 1);
    client.close();
  });

  it('closes with 1009 on a frame larger than maxPayloadBytes', async () => {
    const raw = await rawSocket(server.url);
    raw.socket.send(encodeMessage({ type: 'hello', protocol: 1, client: 'big' }));
    raw.socket.send(new Uint8Array(64 * 1024 + 1));
    expect(await raw.closed).toBe(1009);
  });
});

describe('daemon security settings', () => {
  it('refuses to bind beyond loopback without a token, and checks the token when set', async () => {
    const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu' });
    await expect(startServer({ host: '0.0.0.0', port: 0, registry })).rejects.toThrow(/token/);
    const server = await startServer({ host: '127.0.0.1', port: 0, registry, token: 's3cret', log: () => undefined });
    await expect(DaemonClient.connect(new WebSocket(server.url), { client: 't' })).rejects.toBeInstanceOf(ProtocolError);
    const ok = await DaemonClient.connect(new WebSocket(server.url), { client: 't', token: 's3cret' });
    ok.close();
    await server.close();
    await registry.close();
  });
});

describe('daemon scheduling options', () => {
  it('merges jobs’ model calls only when asked (batching is not bit-exact on the CPU)', async () => {
    const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu' });
    const plain = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined });
    const batching = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined, batching: true });
    expect([plain.scheduler.batching, batching.scheduler.batching]).toEqual([false, true]);
    await Promise.all([plain.close(), batching.close()]);
    await registry.close();
  });
});

/** A GET with any Host header (fetch may not set Host), resolved with its status. */
function getWithHost(port: number, path: string, host: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket (optionally from another loopback address), sends hello, resolves with its first answer and close code. */
function greet(url: string, options: { localAddress?: string; headers?: Record<string, string> } = {}) {
  const socket = new WebSocket(url, options);
  const first = new Promise<ServerMessage>((resolve, reject) => {
    socket.once('message', (data) => resolve(decodeServerMessage(new Uint8Array(data as Buffer))));
    socket.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.once('open', () => socket.send(encodeMessage({ type: 'hello', protocol: 1, client: 'caps' })));
  return { socket, first, closed };
}

describe('daemon boundary: Host header, connection caps, timeouts', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  it('answers HTTP and the WebSocket upgrade only under its own Host names (421 otherwise), GET/HEAD only', async () => {
    const server = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined, allowHosts: ['palette.lan'] });
    try {
      const { port } = server;
      expect(await getWithHost(port, '/health', 'evil.example')).toBe(421);
      expect(await getWithHost(port, '/health', `evil.example:${port}`)).toBe(421);
      expect(await getWithHost(port, '/health', `localhost:${port + 1}`)).toBe(421);
      expect(await getWithHost(port, '/', 'evil.example')).toBe(421);
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `palette.lan:${port}`]) {
        expect(await getWithHost(port, '/health', host), host).toBe(200);
      }
      expect(await getWithHost(port, '/health', `localhost:${port}`, 'POST')).toBe(405);
      await expect(greet(server.url, { headers: { host: `evil.example:${port}` } }).first).rejects.toThrow(/421/);
      const ok = greet(server.url, { headers: { host: `localhost:${port}` } });
      expect((await ok.first).type).toBe('welcome');
      ok.socket.close();
    } finally {
      await server.close();
    }
  });

  it('caps connections per address and in total with TOO_MANY_CONNECTIONS (close 1013), and frees places on close', async () => {
    const server = await startServer({
      host: '127.0.0.1', port: 0, registry, log: () => undefined, connectionCaps: { maxConnections: 3, maxConnectionsPerAddress: 2 },
    });
    try {
      const a1 = greet(server.url);
      const a2 = greet(server.url);
      expect([(await a1.first).type, (await a2.first).type]).toEqual(['welcome', 'welcome']);
      const a3 = greet(server.url);
      expect(await a3.first).toMatchObject({ type: 'error', code: 'TOO_MANY_CONNECTIONS' });
      expect(await a3.closed).toBe(1013);
      const b1 = greet(server.url, { localAddress: '127.0.0.2' });
      expect((await b1.first).type).toBe('welcome');
      const c1 = greet(server.url, { localAddress: '127.0.0.3' });
      expect(await c1.first).toMatchObject({ code: 'TOO_MANY_CONNECTIONS', message: expect.stringContaining('3 connections') });
      a1.socket.close();
      await a1.closed;
      const a4 = greet(server.url);
      expect((await a4.first).type).toBe('welcome');
      for (const s of [a2, b1, a4]) s.socket.close();
    } finally {
      await server.close();
    }
  });

  it('HTTP timeouts do not touch an open WebSocket, and the handshake deadline spares a greeted one', async () => {
    const server = await startServer({
      host: '127.0.0.1', port: 0, registry, log: () => undefined, timeouts: { headersMs: 100, requestMs: 150, handshakeMs: 150 },
    });
    try {
      const client = await connect(server);
      await new Promise((r) => setTimeout(r, 400));
      expect((await client.listModels()).map((m) => m.name)).toEqual(['tiny-model']);
      client.close();
    } finally {
      await server.close();
    }
  });
});
