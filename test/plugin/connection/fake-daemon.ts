/**
 * An in-memory daemon for the plugin's tests: socket pairs that deliver like a browser WebSocket
 * (ArrayBuffer frames, asynchronously), and a daemon end that speaks the real codec
 * (shared/codec.ts): it answers hello with welcome (or refuses), and lets a test script the rest.
 */
import { decodeClientMessage, encodeMessage } from '../../../shared/codec.ts';
import type { DaemonSocket } from '../../../shared/daemon-client.ts';
import type { ClientMessage, GenerateMessage, ServerMessage, WelcomeMessage } from '../../../shared/protocol.ts';
import { makeErrorMessage, type ProtocolErrorCode } from '../../../shared/protocol-errors.ts';

type Listener = (event: never) => void;

export class FakeSocket implements DaemonSocket {
  binaryType = 'blob';
  readyState = 0;
  peer: FakeSocket | null = null;
  readonly sent: Uint8Array[] = [];
  private readonly listeners = new Map<string, Listener[]>();

  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  emit(type: string, event: unknown = {}): void {
    for (const listener of this.listeners.get(type) ?? []) (listener as (e: unknown) => void)(event);
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error('socket not open');
    this.sent.push(data);
    const payload = data.slice().buffer;
    const peer = this.peer;
    // Like a real socket, the peer still gets what was sent before a close, until it has closed.
    queueMicrotask(() => {
      if (peer && peer.readyState < 3) peer.emit('message', { data: payload });
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    const ends = [this, ...(this.peer ? [this.peer] : [])];
    for (const end of ends) end.readyState = 2;
    queueMicrotask(() => {
      for (const end of ends) {
        if (end.readyState === 3) continue;
        end.readyState = 3;
        end.emit('close', { code, reason });
      }
    });
  }
}

/** A socket to an address where nothing listens: it fails like a browser's (error, then close 1006). */
export function unreachableSocket(): FakeSocket {
  const socket = new FakeSocket();
  queueMicrotask(() => {
    socket.readyState = 3;
    socket.emit('error', {});
    socket.emit('close', { code: 1006, reason: '' });
  });
  return socket;
}

export const WELCOME: WelcomeMessage = {
  type: 'welcome',
  protocol: 1,
  server: { name: 'palette', version: '0.1.0' },
  models: [
    {
      name: 'palette-small',
      version: '1.0.0',
      tasks: ['fill', 'colorize', 'uncrop', 'restore'],
      nativeResolution: 64,
      sizeMultiple: 32,
      parameters: 1000,
      defaultSampler: 'ddim',
      defaultSteps: 20,
    },
  ],
  defaultModel: 'palette-small',
  limits: { maxPixels: 1 << 20, maxPayloadBytes: 1 << 24, maxVariants: 8, maxSteps: 1000 },
};

/** One daemon-side connection. */
export class DaemonEnd {
  readonly received: ClientMessage[] = [];
  private waiters: Array<(message: ClientMessage) => void> = [];
  private unread: ClientMessage[] = [];

  constructor(
    readonly socket: FakeSocket,
    private readonly refuse: ProtocolErrorCode | null,
    private readonly welcome: WelcomeMessage,
  ) {
    socket.addEventListener('message', (event: { data: unknown }) => this.onMessage(decodeClientMessage(event.data)));
  }

  private onMessage(message: ClientMessage): void {
    this.received.push(message);
    if (message.type === 'hello') {
      if (this.refuse) {
        this.send(makeErrorMessage(this.refuse, `refused: ${this.refuse}`));
        this.socket.close(1008, this.refuse);
      } else this.send(this.welcome);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(message);
    else this.unread.push(message);
  }

  /** The next message after hello that the test has not looked at. */
  next(): Promise<ClientMessage> {
    const message = this.unread.shift();
    return message ? Promise.resolve(message) : new Promise((resolve) => this.waiters.push(resolve));
  }

  async nextGenerate(): Promise<GenerateMessage> {
    const message = await this.next();
    if (message.type !== 'generate') throw new Error(`expected generate, got ${message.type}`);
    return message;
  }

  send(message: ServerMessage): void {
    this.socket.send(encodeMessage(message));
  }

  /** The daemon goes away (as when its process ends). */
  drop(code = 1001): void {
    this.socket.close(code, 'daemon stopped');
  }
}

/**
 * The daemon as a socket factory: while `up`, each new socket connects to a fresh DaemonEnd
 * (available as `connections`); while down, sockets fail like an unreachable address.
 */
export class FakeDaemon {
  up = true;
  refuse: ProtocolErrorCode | null = null;
  welcome: WelcomeMessage = WELCOME;
  readonly connections: DaemonEnd[] = [];
  readonly urls: string[] = [];

  readonly factory = (url: string): DaemonSocket => {
    this.urls.push(url);
    if (!this.up) return unreachableSocket();
    const client = new FakeSocket();
    const server = new FakeSocket();
    client.peer = server;
    server.peer = client;
    server.readyState = 1;
    const end = new DaemonEnd(server, this.refuse, this.welcome);
    this.connections.push(end);
    queueMicrotask(() => {
      client.readyState = 1;
      client.emit('open');
    });
    return client;
  };

  get latest(): DaemonEnd {
    const end = this.connections.at(-1);
    if (!end) throw new Error('no connection yet');
    return end;
  }
}

/** Lets every queued microtask (and the promise chains they start) run. */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
