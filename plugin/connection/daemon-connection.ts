/**
 * The panel's link to the daemon: shared/daemon-client.ts over a socket made by an injected factory
 * (the browser passes `url => new WebSocket(url)`, tests a fake), kept alive with automatic
 * reconnects, and reporting everything into the panel's store:
 *
 * - status: connecting → connected; after a drop, reconnecting (attempt n, next retry at t) with
 *   exponential backoff and jitter (0.5 s doubling to 10 s by default); offline when the daemon was
 *   never reached or stays away after a few retries (still retrying in the background), or when it
 *   refused us for good (wrong token, other protocol version: no automatic retry, `reconnectNow()`).
 * - requests: `generate()` forwards the daemon's events as `daemon/event` actions and ends the job
 *   with done / cancelled / failed. The client fails requests in flight with CONNECTION_CLOSED when
 *   the socket closes; that becomes the banner "The daemon went away".
 */
import { DaemonClient, type DaemonSocket } from '../../shared/daemon-client.ts';
import { ProtocolError } from '../../shared/protocol-errors.ts';
import type { GenerateEvent, GenerateRequest } from '../../shared/protocol.ts';
import { PanelError, bannerFor } from '../state/banners.ts';
import type { PanelStore } from '../state/store.ts';
import type { OfflineReason, PanelTask } from '../state/types.ts';

export type SocketFactory = (url: string) => DaemonSocket;

export interface BackoffOptions {
  /** Delay before the first retry (ms). Default 500. */
  initialMs: number;
  /** Longest delay (ms). Default 10000. */
  maxMs: number;
  /** Each delay is scaled by a random factor in [1 − jitter, 1 + jitter]. Default 0.2. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ initialMs: 500, maxMs: 10_000, jitter: 0.2 });

/** The delay before retry number `attempt` (1-based): initial × 2^(attempt−1), capped, with jitter. */
export function backoffDelay(attempt: number, backoff: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  const factor = 1 - backoff.jitter + 2 * backoff.jitter * random();
  return Math.round(base * factor);
}

export interface DaemonConnectionOptions {
  url: string;
  socketFactory: SocketFactory;
  store: PanelStore;
  token?: string;
  /** hello.client, e.g. "palette-photopea/0.1.0". */
  client?: string;
  backoff?: Partial<BackoffOptions>;
  /** After this many failed retries of a lost connection the status turns from reconnecting to offline. Default 4. */
  offlineAfter?: number;
  handshakeTimeoutMs?: number;
  /** For tests: the random source of the jitter and the clock of `nextRetryAt`. */
  random?: () => number;
  now?: () => number;
}

export interface GenerateMeta {
  task: PanelTask;
  /** Extend: the left/top extension in px; { 0, 0 } otherwise. */
  canvasOffset?: { x: number; y: number };
  /** The document the request was read from (EditorDocument.documentId), when the host can tell. */
  documentId?: string | null;
}

/** Codes after which retrying with the same settings cannot help. */
const FINAL: Partial<Record<string, OfflineReason>> = { UNAUTHORIZED: 'unauthorized', PROTOCOL_VERSION_MISMATCH: 'version-mismatch' };

export class DaemonConnection {
  private client: DaemonClient | null = null;
  private connecting = false;
  private stopped = true;
  /** Set once a handshake succeeded: later failures are "reconnecting", not "no daemon". */
  private everConnected = false;
  /** Failed attempts since the last success (or since the connection dropped). */
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly backoff: BackoffOptions;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: DaemonConnectionOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get url(): string {
    return this.options.url;
  }

  get isOpen(): boolean {
    return this.client?.isOpen ?? false;
  }

  /** The open client, or null. */
  get currentClient(): DaemonClient | null {
    return this.client?.isOpen ? this.client : null;
  }

  /** Connects, and keeps reconnecting until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.options.store.dispatch({ type: 'connection/connecting', url: this.url });
    void this.attempt();
  }

  /** Closes the connection and stops retrying (the panel is unmounted). */
  stop(): void {
    this.stopped = true;
    this.clearRetry();
    const client = this.client;
    this.client = null;
    client?.close('panel closed');
  }

  /** Retries now instead of waiting for the next scheduled attempt (the status line's Retry). */
  reconnectNow(): void {
    if (this.stopped || this.connecting || this.client) return;
    this.clearRetry();
    this.options.store.dispatch({ type: 'connection/connecting', url: this.url });
    void this.attempt();
  }

  /**
   * Sends a generate request and plumbs its events into the store until it ends. Never rejects:
   * every failure ends the job with a banner.
   */
  async generate(request: GenerateRequest, meta: GenerateMeta): Promise<void> {
    const { store } = this.options;
    const client = this.currentClient;
    if (!client) {
      store.dispatch({ type: 'job/failed', requestId: null, banner: bannerFor(new PanelError('NOT_CONNECTED', 'No open connection.')), at: this.now() });
      return;
    }
    const event = (message: GenerateEvent): void =>
      store.dispatch({ type: 'daemon/event', message, at: this.now() });
    const call = client.generate(request, {
      onQueued: event,
      onStarted: event,
      onProgress: event,
      onPreview: event,
      onResult: event,
    });
    store.dispatch({
      type: 'job/sent',
      requestId: call.id,
      task: meta.task,
      variants: request.variants,
      canvasOffset: meta.canvasOffset ?? { x: 0, y: 0 },
      documentId: meta.documentId ?? null,
      at: this.now(),
    });
    // The user may have pressed Cancel while the document was being read.
    if (store.getState().job?.cancelRequested) client.cancel(call.id);
    try {
      const done = await call;
      store.dispatch({ type: 'daemon/event', message: done, at: this.now() });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === 'CANCELLED') {
        store.dispatch({ type: 'job/cancelled', requestId: call.id, at: this.now() });
      } else {
        store.dispatch({ type: 'job/failed', requestId: call.id, banner: bannerFor(error, meta.task), at: this.now() });
      }
    }
  }

  /** Asks the daemon to cancel the job in flight. Returns false when there is nothing to cancel. */
  cancel(): boolean {
    const { store } = this.options;
    const job = store.getState().job;
    if (!job) return false;
    store.dispatch({ type: 'job/cancel-requested' });
    // Still preparing: generate() sends the cancel as soon as the request is out.
    if (job.requestId === null) return true;
    return this.client?.cancel(job.requestId) ?? false;
  }

  // -------------------------------------------------------------------------------------------

  private async attempt(): Promise<void> {
    if (this.stopped || this.connecting || this.client) return;
    this.connecting = true;
    let client: DaemonClient;
    try {
      const socket = this.options.socketFactory(this.url);
      client = await DaemonClient.connect(socket, {
        client: this.options.client ?? 'palette-panel/0.1.0',
        ...(this.options.token ? { token: this.options.token } : {}),
        ...(this.options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: this.options.handshakeTimeoutMs } : {}),
      });
    } catch (error) {
      this.connecting = false;
      this.onAttemptFailed(error);
      return;
    }
    this.connecting = false;
    if (this.stopped) {
      client.close('panel closed');
      return;
    }
    this.client = client;
    this.failures = 0;
    this.everConnected = true;
    const { welcome } = client;
    this.options.store.dispatch({
      type: 'connection/connected',
      url: this.url,
      welcome: { server: welcome.server, models: welcome.models, defaultModel: welcome.defaultModel, limits: welcome.limits },
    });
    void client.closed.then((info) => this.onClosed(client, info.code, info.reason));
  }

  private onClosed(client: DaemonClient, code: number, reason: string): void {
    if (this.client !== client) return; // stop() or an older connection
    this.client = null;
    if (this.stopped) return;
    this.failures = 0;
    this.scheduleRetry(`The connection closed (${reason ? `${code} ${reason}` : code}).`);
  }

  private onAttemptFailed(error: unknown): void {
    if (this.stopped) return;
    const code = error instanceof ProtocolError ? error.code : undefined;
    const final = code === undefined ? undefined : FINAL[code];
    if (final) {
      this.failures += 1;
      this.options.store.dispatch({ type: 'connection/offline', url: this.url, reason: final, attempt: this.failures, nextRetryAt: null, at: this.now() });
      return;
    }
    this.scheduleRetry(error instanceof Error ? error.message : String(error));
  }

  private scheduleRetry(reason: string): void {
    this.failures += 1;
    const attempt = this.failures;
    const delay = backoffDelay(attempt, this.backoff, this.random);
    const nextRetryAt = this.now() + delay;
    const offline = !this.everConnected || attempt > (this.options.offlineAfter ?? 4);
    this.options.store.dispatch(
      offline
        ? { type: 'connection/offline', url: this.url, reason: 'unreachable', attempt, nextRetryAt, at: this.now() }
        : { type: 'connection/reconnecting', url: this.url, attempt, nextRetryAt, reason, at: this.now() },
    );
    this.clearRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
