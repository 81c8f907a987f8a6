import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { decodeClientMessage, encodeMessage } from '../../shared/codec.ts';
import { DaemonClient, type DaemonSocket } from '../../shared/daemon-client.ts';
import { CLOSE_CODES, type ClientMessage, type GenerateRequest, type ServerMessage, type WelcomeMessage } from '../../shared/protocol.ts';
import { ProtocolError, makeErrorMessage, type ProtocolErrorCode } from '../../shared/protocol-errors.ts';

// `ws`'s WebSocket must fit the socket interface the client is written against (checked by tsc).
const wsFits: (socket: WebSocket) => DaemonSocket = (socket) => socket;
void wsFits;

type Listener = (event: unknown) => void;

/** One end of an in-memory socket pair; delivers like a browser (ArrayBuffer, asynchronously). */
class FakeSocket implements DaemonSocket {
  binaryType = 'blob';
  readyState = 0;
  peer: FakeSocket | null = null;
  closeCalls: Array<[number | undefined, string | undefined]> = [];
  private readonly listeners = new Map<string, Listener[]>();

  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener as Listener]);
  }
  emit(type: string, event: unknown = {}): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  send(data: Uint8Array | string): void {
    if (this.readyState !== 1) throw new Error('socket not open');
    const payload = typeof data === 'string' ? data : data.slice().buffer;
    const peer = this.peer;
    // Like a real socket, the peer gets what was sent before a close, until it has closed itself.
    queueMicrotask(() => peer !== null && peer.readyState < 3 && peer.emit('message', { data: payload }));
  }
  close(code?: number, reason?: string): void {
    this.closeCalls.push([code, reason]);
    if (this.readyState >= 2) return;
    const ends = [this, this.peer!];
    this.readyState = 2;
    queueMicrotask(() => {
      for (const end of ends) {
        end.readyState = 3;
        end.emit('close', { code: code ?? 1005, reason: reason ?? '' });
      }
    });
  }
}

/** The daemon end: decodes what the client sends and answers through `reply`. */
class FakeDaemon {
  readonly received: ClientMessage[] = [];
  private readonly unread: ClientMessage[] = [];
  private waiters: Array<(message: ClientMessage) => void> = [];
  constructor(readonly socket: FakeSocket) {
    socket.addEventListener('message', (event: { data: unknown }) => {
      const message = decodeClientMessage(event.data);
      this.received.push(message);
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.unread.push(message);
    });
  }
  /** The next message the client sent that the test has not looked at yet. */
  next(): Promise<ClientMessage> {
    const message = this.unread.shift();
    return message ? Promise.resolve(message) : new Promise((resolve) => this.waiters.push(resolve));
  }
  send(message: ServerMessage): void {
    this.socket.send(encodeMessage(message));
  }
}

const WELCOME: WelcomeMessage = {
  type: 'welcome',
  protocol: 1,
  server: { name: 'fake', version: '0' },
  models: [],
  defaultModel: null,
  limits: { maxPixels: 1 << 20, maxPayloadBytes: 1 << 24, maxVariants: 4, maxSteps: 100 },
};

function pair(): { client: FakeSocket; daemon: FakeDaemon } {
  const client = new FakeSocket();
  const server = new FakeSocket();
  client.peer = server;
  server.peer = client;
  return { client, daemon: new FakeDaemon(server) };
}

function open(socket: FakeSocket): void {
  socket.readyState = 1;
  socket.peer!.readyState = 1;
  socket.emit('open');
}

async function connected(): Promise<{ client: DaemonClient; socket: FakeSocket; daemon: FakeDaemon }> {
  const { client: socket, daemon } = pair();
  const connecting = DaemonClient.connect(socket, { client: 'test/1', token: 'tok' });
  open(socket);
  expect(await daemon.next()).toEqual({ type: 'hello', protocol: 1, client: 'test/1', token: 'tok' });
  daemon.send(WELCOME);
  return { client: await connecting, socket, daemon };
}

const request: GenerateRequest = {
  task: 'colorize',
  image: { format: 'rgba8', width: 2, height: 2, data: Uint8Array.from({ length: 16 }, (_, i) => i) },
  variants: 2,
};

async function codeOf(promise: Promise<unknown>): Promise<ProtocolErrorCode> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  throw new Error('resolved');
}

afterEach(() => {
  vi.useRealTimers();
});

describe('handshake', () => {
  it('says hello first and resolves with the welcome', async () => {
    const { client, socket } = await connected();
    expect(client.welcome).toEqual(WELCOME);
    expect(client.isOpen).toBe(true);
    expect(socket.binaryType).toBe('arraybuffer');
  });

  it('rejects with the daemon’s error: version mismatch, unauthorized', async () => {
    for (const code of ['PROTOCOL_VERSION_MISMATCH', 'UNAUTHORIZED'] as const) {
      const { client: socket, daemon } = pair();
      const connecting = DaemonClient.connect(socket, { client: 'test' });
      open(socket);
      await daemon.next();
      daemon.send(makeErrorMessage(code, 'no'));
      daemon.socket.close(CLOSE_CODES.POLICY_VIOLATION, code);
      expect(await codeOf(connecting)).toBe(code);
    }
  });

  it('rejects a welcome for another protocol version', async () => {
    const { client: socket, daemon } = pair();
    const connecting = DaemonClient.connect(socket, { client: 'test' });
    open(socket);
    await daemon.next();
    daemon.send({ ...WELCOME, protocol: 2 });
    expect(await codeOf(connecting)).toBe('PROTOCOL_VERSION_MISMATCH');
    expect(socket.closeCalls.length).toBe(1);
  });

  it('rejects with CONNECTION_CLOSED when the socket closes first, is already closed, or stays silent', async () => {
    const first = pair();
    const connecting = DaemonClient.connect(first.client, { client: 'test' });
    open(first.client);
    first.daemon.socket.close(1001, 'bye');
    expect(await codeOf(connecting)).toBe('CONNECTION_CLOSED');

    const closed = new FakeSocket();
    closed.readyState = 3;
    expect(await codeOf(DaemonClient.connect(closed, { client: 'test' }))).toBe('CONNECTION_CLOSED');

    const silent = pair();
    const waiting = DaemonClient.connect(silent.client, { client: 'test', handshakeTimeoutMs: 20 });
    open(silent.client);
    expect(await codeOf(waiting)).toBe('CONNECTION_CLOSED');
  });

  it('treats anything but welcome before the handshake as a protocol violation', async () => {
    const { client: socket, daemon } = pair();
    const onError = vi.fn();
    const connecting = DaemonClient.connect(socket, { client: 'test', onError });
    open(socket);
    await daemon.next();
    daemon.send({ type: 'queued', id: 'x', position: 0 });
    expect(await codeOf(connecting)).toBe('BAD_FRAME');
    expect(onError).toHaveBeenCalledOnce();
  });
});

describe('requests', () => {
  it('routes every event of a generate request to its handlers and resolves with done', async () => {
    const { client, daemon } = await connected();
    const events: string[] = [];
    const call = client.generate(request, {
      onQueued: (m) => events.push(`queued ${m.position}`),
      onStarted: (m) => events.push(`started ${m.seeds.join(',')}`),
      onProgress: (m) => events.push(`progress ${m.step}/${m.total}`),
      onPreview: (m) => events.push(`preview ${m.images.length}`),
      onResult: (m) => events.push(`result ${m.variant} ${Array.from(m.layer.image.data).join(',')}`),
    });
    const sent = await daemon.next();
    expect(sent).toEqual({ type: 'generate', id: call.id, request });
    const id = call.id;
    const image = { format: 'png' as const, width: 2, height: 2, data: Uint8Array.from([1, 2, 3]) };
    daemon.send({ type: 'queued', id, position: 1 });
    daemon.send({ type: 'queued', id, position: 0 });
    daemon.send({ type: 'started', id, model: 'm', sampler: 'ddim', steps: 2, seeds: [5, 6], variants: 2 });
    daemon.send({ type: 'progress', id, step: 1, total: 2, etaMs: 10, label: '' });
    daemon.send({ type: 'preview', id, step: 1, images: [image, image] });
    daemon.send({ type: 'result', id, variant: 0, seed: 5, layer: { x: 0, y: 0, image }, canvas: { width: 2, height: 2 } });
    daemon.send({ type: 'result', id: 'someone-else', variant: 0, seed: 5, layer: { x: 0, y: 0, image }, canvas: { width: 2, height: 2 } });
    daemon.send({ type: 'result', id, variant: 1, seed: 6, layer: { x: 0, y: 0, image }, canvas: { width: 2, height: 2 } });
    daemon.send({ type: 'done', id, timings: { queuedMs: 1, sampleMs: 2, totalMs: 3 } });
    expect(await call).toEqual({ type: 'done', id, timings: { queuedMs: 1, sampleMs: 2, totalMs: 3 } });
    expect(events).toEqual(['queued 1', 'queued 0', 'started 5,6', 'progress 1/2', 'preview 2', 'result 0 1,2,3', 'result 1 1,2,3']);
    expect(client.pendingCount).toBe(0);
  });

  it('rejects with the daemon’s error, code and path included', async () => {
    const { client, daemon } = await connected();
    const call = client.generate(request);
    await daemon.next();
    daemon.send(makeErrorMessage('MODEL_NOT_FOUND', 'no such model', { id: call.id, path: 'request.model' }));
    await expect(call).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', path: 'request.model', requestId: call.id });
  });

  it('validates requests locally against the daemon’s limits, sending nothing', async () => {
    const { client, daemon } = await connected();
    await expect(client.generate({ ...request, variants: 5 })).rejects.toMatchObject({ code: 'INVALID_FIELD', path: 'request.variants' });
    await expect(client.generate({ ...request, image: { format: 'rgba8', width: 2048, height: 1024, data: new Uint8Array(0) } })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await expect(client.generate(request, {}, { id: 'bad id' })).rejects.toMatchObject({ code: 'INVALID_FIELD', path: 'id' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(daemon.received.length).toBe(1); // the hello
  });

  it('refuses an id already in flight', async () => {
    const { client, daemon } = await connected();
    const first = client.generate(request, {}, { id: 'mine' });
    await daemon.next();
    expect(await codeOf(client.generate(request, {}, { id: 'mine' }))).toBe('DUPLICATE_REQUEST_ID');
    daemon.send({ type: 'cancelled', id: 'mine' });
    expect(await codeOf(first)).toBe('CANCELLED');
  });

  it('cancels: sends cancel and rejects with CANCELLED when the daemon confirms', async () => {
    const { client, daemon } = await connected();
    const call = client.generate(request);
    await daemon.next();
    expect(client.cancel(call.id)).toBe(true);
    expect(await daemon.next()).toEqual({ type: 'cancel', id: call.id });
    daemon.send({ type: 'cancelled', id: call.id });
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED', requestId: call.id });
    expect(client.cancel(call.id)).toBe(false);
    expect(client.cancel('never-sent')).toBe(false);
    // The answer to a cancel that crossed `done` names a request no longer pending: ignored.
    daemon.send(makeErrorMessage('UNKNOWN_REQUEST', 'gone', { id: call.id }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(client.isOpen).toBe(true);
  });

  it('cancels the request and rejects with the handler’s exception when a handler throws', async () => {
    const { client, daemon } = await connected();
    const call = client.generate(request, {
      onQueued: () => {
        throw new Error('ui gone');
      },
    });
    await daemon.next();
    daemon.send({ type: 'queued', id: call.id, position: 0 });
    await expect(call).rejects.toThrow('ui gone');
    expect(await daemon.next()).toEqual({ type: 'cancel', id: call.id });
  });

  it('lists models', async () => {
    const { client, daemon } = await connected();
    const listing = client.listModels();
    const sent = await daemon.next();
    if (sent.type !== 'list-models') throw new Error(sent.type);
    const model = { name: 'm', version: '1', tasks: ['fill'], nativeResolution: 64, sizeMultiple: 8, parameters: 3, defaultSampler: 'ddim', defaultSteps: 10 };
    daemon.send({ type: 'models', id: sent.id, models: [model] });
    expect(await listing).toEqual([model]);
  });

  it('ignores message types it does not know and reports id-less errors', async () => {
    const onError = vi.fn();
    const { client: socket, daemon } = pair();
    const connecting = DaemonClient.connect(socket, { client: 'test', onError });
    open(socket);
    await daemon.next();
    daemon.send(WELCOME);
    const client = await connecting;
    daemon.socket.send(encodeMessage({ type: 'sparkles' } as unknown as ServerMessage));
    daemon.send(makeErrorMessage('QUEUE_FULL', 'busy'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(client.isOpen).toBe(true);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'QUEUE_FULL' }));
  });
});

describe('when the connection goes away', () => {
  it('fails every pending request with CONNECTION_CLOSED and resolves `closed`', async () => {
    const { client, daemon } = await connected();
    const calls = [client.generate(request), client.generate(request), client.listModels()];
    await daemon.next();
    daemon.socket.close(CLOSE_CODES.GOING_AWAY, 'shutting down');
    const codes = await Promise.all(calls.map((call) => codeOf(call)));
    expect(codes).toEqual(['CONNECTION_CLOSED', 'CONNECTION_CLOSED', 'CONNECTION_CLOSED']);
    await expect(calls[0]).rejects.toMatchObject({ requestId: (calls[0] as { id: string }).id });
    await expect(calls[0]).rejects.toThrow(/1001 shutting down/);
    expect(await client.closed).toEqual({ code: 1001, reason: 'shutting down' });
    expect(client.isOpen).toBe(false);
    expect(await codeOf(client.generate(request))).toBe('CONNECTION_CLOSED');
    expect(await codeOf(client.listModels())).toBe('CONNECTION_CLOSED');
  });

  it('fails pending requests at once when the client closes', async () => {
    const { client, socket } = await connected();
    const call = client.generate(request);
    client.close('user quit');
    expect(await codeOf(call)).toBe('CONNECTION_CLOSED');
    expect(socket.closeCalls).toEqual([[1000, 'user quit']]);
    expect((await client.closed).code).toBe(1000);
  });

  it('closes on a frame from the daemon that breaks the protocol', async () => {
    for (const bad of [Uint8Array.from([0xc1, 0x00]), 'a text frame']) {
      const onError = vi.fn();
      const { client: socket, daemon } = pair();
      const connecting = DaemonClient.connect(socket, { client: 'test', onError });
      open(socket);
      await daemon.next();
      daemon.send(WELCOME);
      const client = await connecting;
      const call = client.generate(request);
      await daemon.next();
      daemon.socket.send(bad as Uint8Array);
      expect(await codeOf(call)).toBe('CONNECTION_CLOSED');
      await expect(call).rejects.toMatchObject({ cause: expect.objectContaining({ code: 'BAD_FRAME' }) });
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'BAD_FRAME' }));
      expect(socket.closeCalls[0]?.[0]).toBe(1000);
    }
  });
});

describe('over a real ws connection', () => {
  it('handshakes, generates and sees the daemon close', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    server.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return ws.close(CLOSE_CODES.PROTOCOL_ERROR);
        const message = decodeClientMessage(data);
        const send = (reply: ServerMessage): void => ws.send(encodeMessage(reply));
        if (message.type === 'hello') send(WELCOME);
        if (message.type === 'generate') {
          const { id } = message;
          send({ type: 'started', id, model: 'm', sampler: 'ddim', steps: 1, seeds: [1, 2], variants: 2 });
          for (const variant of [0, 1]) {
            const image = { format: 'png' as const, width: 2, height: 2, data: message.request.image.data.subarray(variant) };
            send({ type: 'result', id, variant, seed: variant + 1, layer: { x: 0, y: 0, image }, canvas: { width: 2, height: 2 } });
          }
          send({ type: 'done', id, timings: { queuedMs: 0, sampleMs: 1, totalMs: 1 } });
          ws.close(CLOSE_CODES.NORMAL, 'one job per test');
        }
      });
    });
    try {
      const { port } = server.address() as AddressInfo;
      const client = await DaemonClient.connect(new WebSocket(`ws://127.0.0.1:${port}`), { client: 'ws-test' });
      const results: number[][] = [];
      const done = await client.generate(request, { onResult: (m) => results.push(Array.from(m.layer.image.data)) });
      expect(done.type).toBe('done');
      expect(results).toEqual([Array.from(request.image.data), Array.from(request.image.data).slice(1)]);
      expect(await client.closed).toEqual({ code: 1000, reason: 'one job per test' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
