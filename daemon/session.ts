/**
 * One client connection: handshake, then generate / cancel / list-models, each request answered by
 * exactly one final message (done, cancelled or error). Errors become coded wire errors here, at the
 * boundary; a closed connection cancels every job of this client.
 */
import { decodeFrame, encodeMessage } from '../shared/codec.ts';
import { closeCodeFor, errorMessageFrom, makeErrorMessage, ProtocolError, type ProtocolErrorCode } from '../shared/protocol-errors.ts';
import {
  PROTOCOL_VERSION,
  TASKS,
  type ClientMessage,
  type GenerateMessage,
  type GenerateRequest,
  type ModelInfo,
  type ProtocolLimits,
  type ServerMessage,
} from '../shared/protocol.ts';
import { DaemonError, type DaemonErrorCode } from './errors.ts';
import { validateClientMessage, isRequestId } from '../shared/validate.ts';
import { generate, MODEL_TASK, resolveModel } from './generate.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { ModelScheduler } from './model-scheduler.ts';
import type { FairQueue } from './queue.ts';

export interface SessionContext {
  registry: ModelRegistry;
  queue: FairQueue;
  /** Every model call of this session's jobs goes through it (fair turns between clients, per call). */
  scheduler: ModelScheduler;
  limits: ProtocolLimits;
  /** When set, `hello.token` must equal it. */
  token: string | undefined;
  maxBatch: number;
  serverVersion: string;
  log: (line: string) => void;
  /**
   * A connection that has not sent a valid `hello` this long after opening gets HANDSHAKE_REQUIRED
   * and is closed (PROTOCOL.md §2: 10 s). Absent: no deadline (unit tests driving a session by hand).
   */
  handshakeTimeoutMs?: number;
}

/** What the session needs of a socket (ws's WebSocket fits). */
export interface SessionSocket {
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

const DAEMON_TO_WIRE: Partial<Record<DaemonErrorCode, ProtocolErrorCode>> = {
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  TASK_NOT_SUPPORTED: 'TASK_NOT_SUPPORTED',
  IMAGE_DECODE_FAILED: 'IMAGE_DECODE_FAILED',
  MASK_SIZE_MISMATCH: 'MASK_SIZE_MISMATCH',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  MASK_EMPTY: 'INVALID_FIELD',
  INVALID_ARGUMENT: 'INVALID_FIELD',
  MODEL_LOAD_FAILED: 'MODEL_FAILED',
  MODEL_RUN_FAILED: 'MODEL_FAILED',
  EXECUTOR_UNAVAILABLE: 'MODEL_FAILED',
  MODEL_CHECKSUM_MISMATCH: 'MODEL_FAILED',
  MODEL_SIGNATURE_MISMATCH: 'MODEL_FAILED',
  MODEL_MANIFEST_INVALID: 'MODEL_FAILED',
  QUEUE_FULL: 'QUEUE_FULL',
};

/**
 * The request field a daemon error is about when its thrower did not say: every wire error about a
 * field names it in `path` (PROTOCOL.md §5.10).
 */
const DAEMON_ERROR_PATH: Partial<Record<DaemonErrorCode, string>> = {
  MODEL_NOT_FOUND: 'request.model',
  TASK_NOT_SUPPORTED: 'request.task',
  MASK_SIZE_MISMATCH: 'request.mask',
  MASK_EMPTY: 'request.mask',
  IMAGE_DECODE_FAILED: 'request.image.data',
  IMAGE_TOO_LARGE: 'request.image',
};

export function toProtocolError(error: unknown, requestId?: string): ProtocolError | undefined {
  if (error instanceof ProtocolError) return error;
  if (error instanceof DaemonError) {
    const code = DAEMON_TO_WIRE[error.code];
    const path = error.path ?? DAEMON_ERROR_PATH[error.code];
    if (code) {
      return new ProtocolError(code, error.message, {
        ...(requestId === undefined ? {} : { requestId }),
        ...(path === undefined ? {} : { path }),
      });
    }
  }
  return undefined;
}

export function modelInfos(registry: ModelRegistry): ModelInfo[] {
  return registry.models.map((m) => {
    const sampler = registry.defaultSampler(m);
    return {
      name: m.name,
      version: m.manifest.version,
      // Product task names (PROTOCOL.md), not the training names in the manifest.
      tasks: TASKS.filter((task) => m.manifest.tasks.includes(MODEL_TASK[task])),
      nativeResolution: m.manifest.native_resolution,
      sizeMultiple: m.manifest.size_multiple,
      parameters: m.manifest.parameters,
      defaultSampler: sampler.name,
      defaultSteps: sampler.steps,
    };
  });
}

let nextClientNumber = 1;

export class Session {
  readonly clientId = `client-${nextClientNumber++}`;
  private greeted = false;
  private closed = false;
  /** Requests of this client that have not had their final message yet. */
  private readonly inFlight = new Set<string>();
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: SessionSocket,
    private readonly ctx: SessionContext,
  ) {
    const deadline = ctx.handshakeTimeoutMs;
    if (deadline !== undefined) {
      this.handshakeTimer = setTimeout(() => this.handshakeExpired(deadline), deadline);
      // The deadline alone must not keep a process (a test, the CLI) alive.
      this.handshakeTimer.unref?.();
    }
  }

  /** A binary frame from the socket. Text frames are refused by the caller with BAD_FRAME. */
  receive(frame: Uint8Array): void {
    let message: ClientMessage;
    try {
      const value = decodeFrame(frame, { maxPayloadBytes: this.ctx.limits.maxPayloadBytes });
      // Before the handshake only a hello is read; anything else is HANDSHAKE_REQUIRED whether or
      // not it would be valid later (PROTOCOL.md §2), so an unknown type is not UNKNOWN_MESSAGE_TYPE.
      if (!this.greeted && value.type !== 'hello') {
        const id = isRequestId(value.id) ? value.id : undefined;
        throw new ProtocolError('HANDSHAKE_REQUIRED', 'The first message must be hello.', { path: 'type', ...(id ? { requestId: id } : {}) });
      }
      message = validateClientMessage(value, this.ctx.limits);
    } catch (error) {
      this.fail(error);
      return;
    }
    try {
      this.dispatch(message, frame.byteLength);
    } catch (error) {
      this.fail(error, 'id' in message ? message.id : undefined);
    }
  }

  /** The socket closed: cancel everything this client queued or is running. */
  closedByPeer(): void {
    this.closed = true;
    this.stopHandshakeTimer();
    this.inFlight.clear();
    this.ctx.queue.cancelClient(this.clientId);
  }

  private stopHandshakeTimer(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private handshakeExpired(deadlineMs: number): void {
    this.handshakeTimer = undefined;
    if (this.greeted || this.closed) return;
    this.fail(new ProtocolError('HANDSHAKE_REQUIRED', `No hello within ${deadlineMs} ms of connecting; the connection is closed.`));
  }

  /** `bytes`: the frame's size, what a queued generate holds in memory (counted by the queue's limits). */
  private dispatch(message: ClientMessage, bytes: number): void {
    if (message.type === 'hello') return this.hello(message.protocol, message.token);
    if (!this.greeted) throw new ProtocolError('HANDSHAKE_REQUIRED', 'Send hello first.', { path: 'type' });
    switch (message.type) {
      case 'generate':
        return this.enqueue(message, bytes);
      case 'cancel':
        if (!this.inFlight.has(message.id) || !this.ctx.queue.cancel(this.clientId, message.id)) {
          throw new ProtocolError('UNKNOWN_REQUEST', `No request ${message.id} is queued or running.`, { requestId: message.id, path: 'id' });
        }
        return;
      case 'list-models':
        return this.send({ type: 'models', id: message.id, models: modelInfos(this.ctx.registry) });
    }
  }

  private hello(protocol: number, token: string | undefined): void {
    if (this.greeted) throw new ProtocolError('INVALID_FIELD', 'hello was already sent on this connection.', { path: 'type' });
    if (protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError('PROTOCOL_VERSION_MISMATCH', `This daemon speaks protocol ${PROTOCOL_VERSION}; the client sent ${protocol}. Update the older side.`, { path: 'protocol' });
    }
    // Without a configured token any token (the empty one included) is ignored.
    if (this.ctx.token !== undefined && token !== this.ctx.token) {
      throw new ProtocolError('UNAUTHORIZED', 'This daemon needs a token (--token / PALETTE_TOKEN); the one sent is missing or wrong.', { path: 'token' });
    }
    this.greeted = true;
    this.stopHandshakeTimer();
    this.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      server: { name: 'palette-daemon', version: this.ctx.serverVersion },
      models: modelInfos(this.ctx.registry),
      defaultModel: this.ctx.registry.defaultModel,
      limits: { ...this.ctx.limits, ...this.ctx.queue.limits },
    });
  }

  private enqueue(message: GenerateMessage, bytes: number): void {
    const { id } = message;
    if (this.inFlight.has(id)) {
      // No `id` on this error: an error with an id ends that request (PROTOCOL.md §6), and the
      // request with this id goes on. The message names the id; `path` says which field is wrong.
      this.send(makeErrorMessage('DUPLICATE_REQUEST_ID', `Request ${id} is still in flight and continues; use a new id for this one.`, { path: 'id' }));
      return;
    }
    resolveModel(this.ctx.registry, message.request); // unknown model / task: refuse before queueing
    // The only reference to the request's pixels: dropped when the job is cancelled or starts, so a
    // cancelled job's payload can be collected even while something still holds its queue entry.
    let request: GenerateRequest | undefined = message.request;
    const queuedAt = performance.now();
    this.inFlight.add(id);
    try {
      this.ctx.queue.enqueue({
        id,
        clientId: this.clientId,
        bytes,
        onPosition: (position) => this.send({ type: 'queued', id, position }),
        onDropped: () => {
          request = undefined;
          this.finish(id, { type: 'cancelled', id });
        },
        run: async (signal) => {
          const job = request;
          request = undefined;
          if (job) await this.run(id, job, queuedAt, signal);
        },
      });
    } catch (error) {
      this.inFlight.delete(id); // refused (QUEUE_FULL): nothing of it is kept
      throw error;
    }
  }

  private async run(id: string, request: GenerateRequest, queuedAt: number, signal: AbortSignal): Promise<void> {
    const startedAt = performance.now();
    try {
      const outcome = await generate(request, this.ctx.registry, {
        onStarted: (s) => this.send({ type: 'started', id, ...s }),
        onProgress: (p) => this.send({ type: 'progress', id, ...p }),
        onPreview: (p) => this.send({ type: 'preview', id, ...p }),
        onResult: (r) => this.send({ type: 'result', id, ...r }),
      }, signal, {
        maxBatch: this.ctx.maxBatch,
        viaScheduler: this.ctx.scheduler.forJob({ clientId: this.clientId, jobId: id }, signal),
      });
      this.finish(id, {
        type: 'done',
        id,
        timings: { queuedMs: startedAt - queuedAt, sampleMs: outcome.sampleMs, totalMs: performance.now() - queuedAt },
      });
    } catch (error) {
      if (signal.aborted) return this.finish(id, { type: 'cancelled', id });
      const wire = toProtocolError(error, id);
      if (!wire) this.ctx.log(`request ${id} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      this.finish(id, wire ? errorMessageFrom(wire, id) : errorMessageFrom(error, id));
    }
  }

  private finish(id: string, message: ServerMessage): void {
    if (!this.inFlight.delete(id)) return;
    this.send(message);
  }

  private fail(error: unknown, requestId?: string): void {
    const wire = toProtocolError(error, requestId);
    if (!wire) this.ctx.log(`session ${this.clientId}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    const message = wire ? errorMessageFrom(wire, requestId) : makeErrorMessage('INTERNAL', 'The daemon failed unexpectedly.');
    this.send(message);
    const close = wire ? closeCodeFor(wire.code) : undefined;
    // Before the handshake every error ends the connection (PROTOCOL.md).
    if (close !== undefined || !this.greeted) this.socket.close(close ?? 1002, wire?.code ?? 'INTERNAL');
  }

  private send(message: ServerMessage): void {
    if (this.closed) return;
    this.socket.send(encodeMessage(message));
  }
}
