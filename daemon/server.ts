/**
 * The daemon's network face: an HTTP server (health endpoint, the standalone editor page) with the
 * WebSocket endpoint on the same port. Loopback by default; beyond loopback a token is required.
 * Browsers are only let in from the origins of our own clients (the standalone page, Photopea, UXP),
 * and only under the Host names the daemon answers to (DNS rebinding). Every resource a peer can
 * hold is bounded: connections by count (total, per address), the handshake and HTTP headers and
 * requests by time.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeMessage } from '../shared/codec.ts';
import { makeErrorMessage } from '../shared/protocol-errors.ts';
import { CLOSE_CODES, DEFAULT_LIMITS, HANDSHAKE_TIMEOUT_MS, type ProtocolLimits } from '../shared/protocol.ts';
import { ConnectionLimiter, DEFAULT_CONNECTION_CAPS, type ConnectionCaps } from './connection-limiter.ts';
import { hostAllowList, type HostAllowList } from './host-allow-list.ts';
import { REPO_ROOT } from './model-manifest.ts';
import type { ModelRegistry } from './model-registry.ts';
import { ModelScheduler } from './model-scheduler.ts';
import { FairQueue, type QueueOptions } from './queue.ts';
import { Session } from './session.ts';

export const DEFAULT_PORT = 7860;
export const DEFAULT_HOST = '127.0.0.1';
/** The standalone editor, built by the plugin's web bundle (npm run build). */
export const WEB_ROOT = join(REPO_ROOT, 'dist', 'web');
/** Origins of the clients we ship besides the page we serve ourselves. */
export const KNOWN_ORIGINS = ['https://www.photopea.com', 'https://photopea.com'];

/** How long a peer may take over each stage before the daemon closes its socket. */
export interface ServerTimeouts {
  /** From opening the WebSocket to a valid `hello` (PROTOCOL.md §2). */
  handshakeMs: number;
  /** Receiving an HTTP request's headers (the upgrade request included): slow-header clients. */
  headersMs: number;
  /** Receiving a whole HTTP request. Does not apply to a WebSocket once it is open. */
  requestMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<ServerTimeouts> = Object.freeze({
  handshakeMs: HANDSHAKE_TIMEOUT_MS,
  headersMs: 10_000,
  requestMs: 30_000,
});

/** Status of an HTTP request or WebSocket upgrade whose Host header names another server. */
export const MISDIRECTED_STATUS = 421;

export interface ServerOptions {
  host: string;
  port: number;
  registry: ModelRegistry;
  token?: string;
  /** Extra allowed browser origins (e.g. a dev server). */
  allowOrigins?: string[];
  /** Extra Host names the daemon answers to besides loopback and `host` (`--allow-host`). */
  allowHosts?: string[];
  connectionCaps?: Partial<ConnectionCaps>;
  timeouts?: Partial<ServerTimeouts>;
  limits?: Partial<ProtocolLimits>;
  /** Queue bounds (announced in welcome.limits) and how many jobs run at once. */
  queue?: QueueOptions;
  maxBatch?: number;
  /** Merge concurrent jobs' model calls (daemon/model-scheduler.ts); off by default, not bit-exact. */
  batching?: boolean;
  version?: string;
  webRoot?: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  queue: FairQueue;
  scheduler: ModelScheduler;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.map': 'application/json',
};

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (!isLoopback(options.host) && !options.token) {
    throw new Error(`Binding to ${options.host} makes the daemon reachable from other machines: set a token with --token or PALETTE_TOKEN.`);
  }
  const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const timeouts: ServerTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const limiter = new ConnectionLimiter({ ...DEFAULT_CONNECTION_CAPS, ...options.connectionCaps });
  // Known once listening (port 0 picks one); no request is handled before that.
  let hosts: HostAllowList | undefined;
  const queue = new FairQueue(options.queue);
  const scheduler = new ModelScheduler({ batching: options.batching ?? false });
  const webRoot = options.webRoot ?? WEB_ROOT;
  const sessions = new Set<Session>();

  const http: Server = createServer({
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    // Node checks both timeouts only this often (default 30 s, which let slow headers live 70 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeouts.headersMs / 4))),
  }, (req, res) => {
    if (!hosts?.allows(req.headers.host)) return misdirected(res, req.headers.host, log);
    handleHttp(req, res, { webRoot, registry: options.registry, queue, sessions });
  });
  await new Promise<void>((resolvePromise, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolvePromise());
  });
  const port = (http.address() as AddressInfo).port;
  hosts = hostAllowList({ host: options.host, port, ...(options.allowHosts ? { extraHosts: options.allowHosts } : {}) });
  const selfOrigins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`];
  if (!isLoopback(options.host)) selfOrigins.push(`http://${options.host}:${port}`);
  const allowed = new Set([...selfOrigins, ...KNOWN_ORIGINS, ...(options.allowOrigins ?? [])]);

  const wss = new WebSocketServer({
    server: http,
    maxPayload: limits.maxPayloadBytes,
    // No Origin header: a non-browser client (the CLI, UXP). A browser always sends one.
    verifyClient: (
      { origin, req }: { origin: string | undefined; req: IncomingMessage },
      done: (ok: boolean, code?: number, reason?: string) => void,
    ) => {
      if (!hosts?.allows(req.headers.host)) {
        log(`refused a WebSocket for Host ${JSON.stringify(req.headers.host ?? null)} (allow it with --allow-host)`);
        return done(false, MISDIRECTED_STATUS, 'Host not allowed');
      }
      const ok = origin === undefined || origin === '' || allowed.has(origin);
      if (!ok) log(`refused a connection from origin ${origin} (allow it with --allow-origin)`);
      done(ok, 403, 'Origin not allowed');
    },
  });
  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const address = req.socket.remoteAddress;
    const admission = limiter.admit(address);
    if (!admission.ok) {
      // A coded refusal the client can show, rather than a silently dropped socket.
      socket.send(encodeMessage(makeErrorMessage('TOO_MANY_CONNECTIONS', admission.reason)));
      socket.close(CLOSE_CODES.TRY_AGAIN_LATER, 'TOO_MANY_CONNECTIONS');
      return;
    }
    const session = new Session(socket, {
      registry: options.registry, queue, scheduler, limits, token: options.token, maxBatch: options.maxBatch ?? 8,
      serverVersion: options.version ?? '0.1.0', log, handshakeTimeoutMs: timeouts.handshakeMs,
    });
    sessions.add(session);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        socket.send(encodeMessage(makeErrorMessage('BAD_FRAME', 'Text frames are not part of the protocol; send msgpack in binary frames.')));
        socket.close(CLOSE_CODES.PROTOCOL_ERROR, 'BAD_FRAME');
        return;
      }
      session.receive(toBytes(data));
    });
    socket.on('close', () => {
      limiter.release(address);
      sessions.delete(session);
      session.closedByPeer();
    });
    socket.on('error', (error) => log(`socket error: ${error.message}`));
  });

  const url = `ws://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    url,
    port,
    queue,
    scheduler,
    close: async () => {
      for (const client of wss.clients) client.close(CLOSE_CODES.GOING_AWAY, 'daemon shutting down');
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections();
    },
  };
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function misdirected(res: ServerResponse, host: string | undefined, log: (line: string) => void): void {
  log(`refused an HTTP request for Host ${JSON.stringify(host ?? null)} (allow it with --allow-host)`);
  res.writeHead(MISDIRECTED_STATUS, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end('This Host name is not one the Palette daemon answers to (see --allow-host).');
}

function handleHttp(req: IncomingMessage, res: ServerResponse,
  ctx: { webRoot: string; registry: ModelRegistry; queue: FairQueue; sessions: Set<Session> }): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      ok: true,
      models: ctx.registry.models.map((m) => m.name),
      defaultModel: ctx.registry.defaultModel,
      queue: ctx.queue.size,
      clients: ctx.sessions.size,
    }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  const file = resolveStatic(ctx.webRoot, path);
  if (!file) {
    const hint = path === '/' ? 'The standalone editor is not built yet: run `npm run build`.' : 'Not found.';
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(hint);
    return;
  }
  res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
}

/** A file under webRoot for a URL path, never outside it. */
function resolveStatic(webRoot: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined; // malformed %-escapes
  }
  const relative = normalize(decoded).replace(/^([/\\])+/, '');
  const candidate = resolve(webRoot, relative === '' ? 'index.html' : relative);
  if (!candidate.startsWith(resolve(webRoot))) return undefined;
  if (!existsSync(candidate)) return undefined;
  const stat = statSync(candidate);
  if (stat.isDirectory()) {
    const index = join(candidate, 'index.html');
    return existsSync(index) ? index : undefined;
  }
  return candidate;
}
