/**
 * A protocol client over any WebSocket-like object: the browser's WebSocket in the plugin, `ws` in
 * the CLI and tests, or an in-memory fake. It does the version handshake, numbers requests, routes
 * the daemon's messages to the request they name, and guarantees that every request settles: with
 * its terminal message, or with CONNECTION_CLOSED when the connection goes away first.
 */
import { encodeMessage, decodeServerMessage } from './codec.ts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  type ClientMessage,
  type DoneMessage,
  type GenerateRequest,
  type ModelInfo,
  type PreviewMessage,
  type ProgressMessage,
  type QueuedMessage,
  type RequestId,
  type ResultMessage,
  type ServerMessage,
  type StartedMessage,
  type WelcomeMessage,
} from './protocol.ts';
import { ProtocolError, protocolErrorFromMessage } from './protocol-errors.ts';
import { validateClientMessage } from './validate.ts';

/**
 * What the client needs from a socket. The browser WebSocket and `ws`'s WebSocket both fit; it is
 * declared here because shared/ compiles without the DOM library.
 */
export interface DaemonSocket {
  /** Browsers default to 'blob', which cannot be read synchronously; the client switches it to 'arraybuffer'. */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WebSocket constants). */
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

const CONNECTING = 0;
const OPEN = 1;
/** Browsers only let a client close with 1000 or 3000–4999, so the client always uses 1000. */
const CLIENT_CLOSE_CODE = 1000;

export interface DaemonClientOptions {
  /** Sent as hello.client, e.g. "palette-cli/0.1.0" (1–100 characters). */
  client: string;
  /** Sent as hello.token when the daemon requires one. */
  token?: string;
  /** How long to wait for `welcome` before giving up (ms). Default 10000; 0 waits forever. */
  handshakeTimeoutMs?: number;
  /** Largest frame accepted from the daemon. Default 300 MiB. */
  maxPayloadBytes?: number;
  /**
   * Connection-level problems: an `error` from the daemon that names no request, or a frame from the
   * daemon that breaks the protocol (after which the client closes the connection).
   */
  onError?: (error: ProtocolError) => void;
}

export interface GenerateHandlers {
  onQueued?(message: QueuedMessage): void;
  onStarted?(message: StartedMessage): void;
  onProgress?(message: ProgressMessage): void;
  onPreview?(message: PreviewMessage): void;
  onResult?(message: ResultMessage): void;
}

/** The promise of a generate request's `done`, with the request's id (for `cancel`). */
export type GenerateCall = Promise<DoneMessage> & { readonly id: RequestId };

export interface CloseInfo {
  code: number;
  reason: string;
}

interface Pending {
  kind: ClientMessage['type'];
  /** Handles a message naming this request; returns true when the message ended it. */
  handle(message: ServerMessage): boolean;
  fail(error: unknown): void;
}

type State = 'connecting' | 'handshaking' | 'open' | 'closed';

export class DaemonClient {
  private state: State = 'connecting';
  private readonly pending = new Map<RequestId, Pending>();
  private nextRequest = 1;
  private welcomeMessage: WelcomeMessage | null = null;
  private handshake: { resolve: (client: DaemonClient) => void; reject: (error: unknown) => void } | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** The last connection-level error, given as the cause of CONNECTION_CLOSED. */
  private lastError: ProtocolError | null = null;
  private resolveClosed: (info: CloseInfo) => void = () => {};
  /** Resolves when the socket has closed (never rejects). */
  readonly closed: Promise<CloseInfo>;

  private constructor(
    private readonly socket: DaemonSocket,
    private readonly options: DaemonClientOptions,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    if (socket.binaryType === 'blob') socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => this.onOpen());
    socket.addEventListener('message', (event) => this.onFrame(event.data));
    socket.addEventListener('close', (event) => this.onClose(event.code, event.reason));
    // An 'error' event is always followed by 'close', which settles everything.
    socket.addEventListener('error', () => {});
  }

  /**
   * Says hello on `socket` (now, or when it opens) and resolves once the daemon answered `welcome`.
   * Rejects with the daemon's error (PROTOCOL_VERSION_MISMATCH, UNAUTHORIZED, …) or CONNECTION_CLOSED.
   */
  static connect(socket: DaemonSocket, options: DaemonClientOptions): Promise<DaemonClient> {
    const client = new DaemonClient(socket, options);
    return new Promise<DaemonClient>((resolve, reject) => {
      client.handshake = { resolve, reject };
      const timeout = options.handshakeTimeoutMs ?? 10_000;
      if (timeout > 0) {
        client.handshakeTimer = setTimeout(() => {
          client.shutdown(new ProtocolError('CONNECTION_CLOSED', `The daemon did not answer hello within ${timeout} ms.`), true);
        }, timeout);
      }
      if (socket.readyState === OPEN) client.onOpen();
      else if (socket.readyState !== CONNECTING) client.shutdown(closedError('The socket was already closed.'), false);
    });
  }

  /** The daemon's `welcome`: its models, default model and limits. */
  get welcome(): WelcomeMessage {
    if (!this.welcomeMessage) throw new ProtocolError('HANDSHAKE_REQUIRED', 'The handshake has not completed.');
    return this.welcomeMessage;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Requests sent and not yet ended. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Sends a generate request. The request is validated here first (against the daemon's announced
   * limits), so a bad request rejects without a round trip, with the same codes the daemon would use.
   * Resolves with `done`; rejects with the daemon's `error`, with CANCELLED after `cancelled`, or with
   * CONNECTION_CLOSED. If a handler throws, the request is cancelled and rejects with that exception.
   */
  generate(request: GenerateRequest, handlers: GenerateHandlers = {}, options: { id?: RequestId } = {}): GenerateCall {
    const id = options.id ?? this.newId();
    const promise = new Promise<DoneMessage>((resolve, reject) => {
      const pending: Pending = {
        kind: 'generate',
        fail: reject,
        handle: (message) => {
          try {
            switch (message.type) {
              case 'queued': handlers.onQueued?.(message); return false;
              case 'started': handlers.onStarted?.(message); return false;
              case 'progress': handlers.onProgress?.(message); return false;
              case 'preview': handlers.onPreview?.(message); return false;
              case 'result': handlers.onResult?.(message); return false;
              case 'done': resolve(message); return true;
              case 'cancelled': reject(new ProtocolError('CANCELLED', `Request ${id} was cancelled.`, { requestId: id })); return true;
              case 'error': reject(protocolErrorFromMessage(message)); return true;
              default: return false; // not about a generate request; ignore
            }
          } catch (error) {
            reject(error);
            this.trySend({ type: 'cancel', id });
            return true;
          }
        },
      };
      this.start(id, pending, { type: 'generate', id, request });
    });
    return Object.assign(promise, { id });
  }

  /** Lists the daemon's models (as in `welcome`, but current). */
  listModels(): Promise<ModelInfo[]> {
    const id = this.newId();
    return new Promise<ModelInfo[]>((resolve, reject) => {
      this.start(id, {
        kind: 'list-models',
        fail: reject,
        handle: (message) => {
          if (message.type === 'models') resolve(message.models);
          else if (message.type === 'error') reject(protocolErrorFromMessage(message));
          else return false;
          return true;
        },
      }, { type: 'list-models', id });
    });
  }

  /**
   * Asks the daemon to cancel a generate request. Returns false when no such request is in flight.
   * The request's promise then settles with whatever the daemon sends last: CANCELLED, or `done` if
   * it finished first.
   */
  cancel(id: RequestId): boolean {
    if (this.state !== 'open' || this.pending.get(id)?.kind !== 'generate') return false;
    return this.trySend({ type: 'cancel', id });
  }

  /** Closes the connection; every request in flight fails with CONNECTION_CLOSED at once. */
  close(reason = 'client closed'): void {
    this.shutdown(closedError(`The client closed the connection (${reason}).`), true, reason);
  }

  // -------------------------------------------------------------------------------------------

  private newId(): RequestId {
    let id: RequestId;
    do id = `r${this.nextRequest++}`;
    while (this.pending.has(id));
    return id;
  }

  private start(id: RequestId, pending: Pending, message: ClientMessage): void {
    if (this.state !== 'open') {
      pending.fail(closedError('The connection is not open.', id));
      return;
    }
    if (this.pending.has(id)) {
      pending.fail(new ProtocolError('DUPLICATE_REQUEST_ID', `Request id ${id} is already in flight.`, { path: 'id', requestId: id }));
      return;
    }
    let frame: Uint8Array;
    try {
      const limits = this.welcome.limits;
      frame = encodeMessage(validateClientMessage(message, limits));
      if (frame.byteLength > limits.maxPayloadBytes) {
        throw new ProtocolError(
          'PAYLOAD_TOO_LARGE',
          `The request is ${frame.byteLength} bytes; the daemon accepts at most ${limits.maxPayloadBytes}.`,
          { requestId: id },
        );
      }
    } catch (error) {
      pending.fail(error);
      return;
    }
    this.pending.set(id, pending);
    try {
      this.socket.send(frame);
    } catch (cause) {
      this.pending.delete(id);
      pending.fail(new ProtocolError('CONNECTION_CLOSED', `Sending request ${id} failed: ${String(cause)}`, { requestId: id, cause }));
    }
  }

  private trySend(message: ClientMessage): boolean {
    try {
      this.socket.send(encodeMessage(message));
      return true;
    } catch {
      return false; // the close event that follows settles everything
    }
  }

  private onOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'handshaking';
    const hello: ClientMessage = { type: 'hello', protocol: PROTOCOL_VERSION, client: this.options.client };
    if (this.options.token !== undefined) hello.token = this.options.token;
    try {
      this.socket.send(encodeMessage(validateClientMessage(hello)));
    } catch (error) {
      this.shutdown(error instanceof ProtocolError ? error : closedError(`Sending hello failed: ${String(error)}`), true);
    }
  }

  private onFrame(data: unknown): void {
    if (this.state === 'closed' || this.state === 'connecting') return;
    let message: ServerMessage;
    try {
      message = decodeServerMessage(data, { maxPayloadBytes: this.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES });
    } catch (error) {
      // A newer daemon may send message types this client does not know: skip them.
      if (error instanceof ProtocolError && error.code === 'UNKNOWN_MESSAGE_TYPE') return;
      this.violation(error instanceof ProtocolError ? error : new ProtocolError('BAD_FRAME', String(error), { cause: error }));
      return;
    }

    if (this.state === 'handshaking') {
      if (message.type === 'welcome') this.onWelcome(message);
      else if (message.type === 'error') this.shutdown(protocolErrorFromMessage(message), true);
      else this.violation(new ProtocolError('BAD_FRAME', `The daemon sent ${message.type} before welcome.`));
      return;
    }
    if (message.type === 'welcome') return; // only the first one counts
    if (message.type === 'error' && message.id === undefined) {
      this.lastError = protocolErrorFromMessage(message);
      this.options.onError?.(this.lastError);
      return;
    }
    // Messages about requests this client no longer waits for (e.g. UNKNOWN_REQUEST after a
    // cancel that crossed `done`) are dropped.
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (pending && message.id !== undefined && pending.handle(message)) this.pending.delete(message.id);
  }

  private onWelcome(message: WelcomeMessage): void {
    if (message.protocol !== PROTOCOL_VERSION) {
      this.shutdown(
        new ProtocolError(
          'PROTOCOL_VERSION_MISMATCH',
          `This client speaks protocol ${PROTOCOL_VERSION}; the daemon answered ${message.protocol}.`,
        ),
        true,
      );
      return;
    }
    this.welcomeMessage = message;
    this.state = 'open';
    this.clearHandshakeTimer();
    this.handshake?.resolve(this);
    this.handshake = null;
  }

  private violation(error: ProtocolError): void {
    this.lastError = error;
    this.options.onError?.(error);
    this.shutdown(error, true, 'protocol violation');
  }

  private onClose(code: number, reason: string): void {
    const detail = reason ? `${code} ${reason}` : String(code);
    this.shutdown(closedError(`The connection closed (${detail}).`, undefined, this.lastError), false);
    this.resolveClosed({ code, reason });
  }

  /** Ends everything once: the handshake rejects with `error`, requests with CONNECTION_CLOSED. */
  private shutdown(error: ProtocolError, closeSocket: boolean, reason: string = error.code): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearHandshakeTimer();
    this.handshake?.reject(error);
    this.handshake = null;
    const requests = [...this.pending];
    this.pending.clear();
    for (const [id, pending] of requests) {
      pending.fail(
        error.code === 'CONNECTION_CLOSED'
          ? closedError(error.message, id, error.cause)
          : closedError(`The connection closed after ${error.code}: ${error.message}`, id, error),
      );
    }
    if (closeSocket) {
      try {
        this.socket.close(CLIENT_CLOSE_CODE, reason.slice(0, 100));
      } catch {
        // already closing; the close event resolves `closed`
      }
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}

function closedError(message: string, requestId?: RequestId, cause?: unknown): ProtocolError {
  return new ProtocolError('CONNECTION_CLOSED', message, {
    ...(requestId !== undefined ? { requestId } : {}),
    ...(cause !== undefined && cause !== null ? { cause } : {}),
  });
}
