/**
 * A daemon on loopback with the tiny test model, and raw WebSocket clients that timestamp every
 * message, for the reliability suite. Raw sockets (not DaemonClient) so a test sees exactly what
 * the daemon sends, in the order and at the time it sends it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { decodeFrame, encodeMessage } from '../../shared/codec.ts';
import type { ClientMessage, GenerateRequest } from '../../shared/protocol.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../daemon/server.ts';

export const TINY_MODEL = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

/**
 * The tiny model announcing another native resolution: its network takes any multiple of 4, so
 * this makes each model call bigger (slower) without a second ONNX file.
 */
export function tinyModelAt(resolution: number): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'palette-rel-')), `tiny-${resolution}`);
  const manifest = JSON.parse(readFileSync(join(TINY_MODEL, 'model.json'), 'utf8')) as Record<string, unknown>;
  manifest.native_resolution = resolution;
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
  copyFileSync(join(TINY_MODEL, 'model.onnx'), join(dir, 'model.onnx'));
  return dir;
}

export interface Daemon {
  server: RunningServer;
  registry: ModelRegistry;
  modelName: string;
  close(): Promise<void>;
}

export async function startDaemon(modelDir = TINY_MODEL, options: Partial<ServerOptions> = {}): Promise<Daemon> {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [modelDir], device: 'cpu', intraOpThreads: 1 });
  const server = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined, ...options });
  const modelName = registry.models[0]?.name ?? '';
  // Load the model before any timing starts (the first job would otherwise pay for it).
  await registry.runner(modelName);
  return {
    server, registry, modelName,
    close: async () => {
      await server.close();
      await registry.close();
    },
  };
}

export interface Received {
  at: number;
  message: Record<string, unknown> & { type: string; id?: string };
}

export interface RawClient {
  socket: WebSocket;
  received: Received[];
  send(message: ClientMessage | Record<string, unknown>): void;
  /** Resolves with the first message (already received or to come) that matches. */
  next(match: (m: Received['message']) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

/** Opens a socket and, unless `hello` is false, completes the handshake. */
export async function rawClient(url: string, options: { hello?: boolean } = {}): Promise<RawClient> {
  const socket = new WebSocket(url);
  const received: Received[] = [];
  const waiters: Array<{ match: (m: Received['message']) => boolean; resolve: (r: Received) => void }> = [];
  socket.on('message', (data) => {
    const entry = { at: performance.now(), message: decodeFrame(new Uint8Array(data as Buffer)) as Received['message'] };
    received.push(entry);
    for (const w of [...waiters]) {
      if (w.match(entry.message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const client: RawClient = {
    socket,
    received,
    send: (message) => socket.send(encodeMessage(message as ClientMessage)),
    next: (match, timeoutMs = 20_000) => {
      const seen = received.find((r) => match(r.message));
      if (seen) return Promise.resolve(seen);
      return new Promise<Received>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching message in time')), timeoutMs);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    close: () => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close();
    }),
  };
  if (options.hello !== false) {
    client.send({ type: 'hello', protocol: 1, client: 'reliability' });
    await client.next((m) => m.type === 'welcome');
  }
  return client;
}

/** A fill of a width × height gradient with a centred square hole. */
export function fillRequest(variants: number, steps: number, size = 64): GenerateRequest {
  const image = new Uint8Array(size * size * 4);
  const mask = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = y * size + x;
      image.set([(x * 255) / size, (y * 255) / size, ((x + y) * 5) % 256, 255], p * 4);
      if (Math.abs(x - size / 2) < size / 4 && Math.abs(y - size / 2) < size / 4) mask[p] = 255;
    }
  }
  return {
    task: 'fill',
    image: { format: 'rgba8', width: size, height: size, data: image },
    mask: { format: 'gray8', width: size, height: size, data: mask },
    variants,
    steps,
    sampler: 'ddim',
    seeds: Array.from({ length: variants }, (_, i) => 7 + i),
    preview: { intervalMs: 0 },
  };
}

export const isFinal = (m: Received['message']) => m.type === 'done' || m.type === 'cancelled' || (m.type === 'error' && m.id !== undefined);

/** `count` list-models round trips on `probe`, `pauseMs` apart, with the worst event-loop gap meanwhile. */
export async function listModelsRoundTrips(probe: RawClient, count: number, pauseMs: number): Promise<{ rtts: number[]; worstGapMs: number }> {
  const rtts: number[] = [];
  const { worstGapMs } = await worstTimerGap(async () => {
    for (let i = 0; i < count; i++) {
      const sent = performance.now();
      probe.send({ type: 'list-models', id: `m${i}` });
      const reply = await probe.next((m) => m.type === 'models' && m.id === `m${i}`);
      rtts.push(reply.at - sent);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return { rtts, worstGapMs };
}

/** The worst gap between ticks of a 5 ms timer while `work` runs: how long the event loop was held. */
export async function worstTimerGap<T>(work: () => Promise<T>): Promise<{ result: T; worstGapMs: number }> {
  let last = performance.now();
  let worstGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worstGapMs = Math.max(worstGapMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    return { result, worstGapMs };
  } finally {
    clearInterval(timer);
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
