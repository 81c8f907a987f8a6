import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DaemonConnection, backoffDelay, DEFAULT_BACKOFF } from '../../../plugin/connection/daemon-connection.ts';
import { initialState } from '../../../plugin/state/reducer.ts';
import { connectionText } from '../../../plugin/state/selectors.ts';
import { PanelStore } from '../../../plugin/state/store.ts';
import type { GenerateRequest } from '../../../shared/protocol.ts';
import { makeErrorMessage } from '../../../shared/protocol-errors.ts';
import { FakeDaemon, flush } from './fake-daemon.ts';

const URL = 'ws://127.0.0.1:7860/';
const T0 = 1_700_000_000_000;

function setup(options: { token?: string; offlineAfter?: number } = {}) {
  const daemon = new FakeDaemon();
  const store = new PanelStore(initialState(URL));
  const connection = new DaemonConnection({
    url: URL,
    socketFactory: daemon.factory,
    store,
    client: 'palette-test/0',
    random: () => 0.5, // no jitter: delays are exactly 500, 1000, 2000…
    ...options,
  });
  return { daemon, store, connection };
}

const REQUEST: GenerateRequest = {
  task: 'colorize',
  image: { format: 'rgba8', width: 2, height: 2, data: new Uint8Array(16).fill(200) },
  variants: 2,
  steps: 20,
};

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('doubles from 0.5 s up to 10 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, DEFAULT_BACKOFF, () => 0.5));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('adds up to ±20 % jitter', () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0)).toBe(400);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 1)).toBe(600);
    expect(backoffDelay(9, DEFAULT_BACKOFF, () => 0.999)).toBeLessThanOrEqual(12_000);
  });
});

describe('DaemonConnection: status', () => {
  it('connects, says hello with its name and token, and stores the welcome', async () => {
    const { daemon, store, connection } = setup({ token: 'secret' });
    connection.start();
    expect(store.getState().connection.kind).toBe('connecting');
    await flush();
    const state = store.getState();
    expect(state.connection).toEqual({ kind: 'connected', url: URL, server: { name: 'palette', version: '0.1.0' } });
    expect(state.welcome?.defaultModel).toBe('palette-small');
    expect(state.welcome?.limits.maxVariants).toBe(8);
    expect(daemon.latest.received[0]).toEqual({ type: 'hello', protocol: 1, client: 'palette-test/0', token: 'secret' });
    expect(connectionText(state.connection, T0)).toContain('Connected');
    connection.stop();
  });

  it('is offline ("No daemon", how to start it) when nothing listens, and retries with backoff until it appears', async () => {
    const { daemon, store, connection } = setup();
    daemon.up = false;
    connection.start();
    await flush();
    let status = store.getState().connection;
    expect(status).toMatchObject({ kind: 'offline', reason: 'unreachable', attempt: 1, nextRetryAt: T0 + 500 });
    expect(connectionText(status, T0)).toContain('No daemon');
    expect(status.kind === 'offline' && status.message).toContain('npm start');
    expect(status.kind === 'offline' && status.message).toContain('palette serve');

    await vi.advanceTimersByTimeAsync(499);
    expect(daemon.urls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(daemon.urls).toHaveLength(2);
    status = store.getState().connection;
    expect(status).toMatchObject({ kind: 'offline', attempt: 2, nextRetryAt: T0 + 500 + 1000 });

    await vi.advanceTimersByTimeAsync(1000);
    expect(daemon.urls).toHaveLength(3);
    expect(store.getState().connection).toMatchObject({ kind: 'offline', attempt: 3, nextRetryAt: Date.now() + 2000 });

    daemon.up = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(daemon.urls).toHaveLength(4);
    expect(store.getState().connection.kind).toBe('connected');
    connection.stop();
  });

  it('reconnects after a drop: reconnecting with attempt and next retry time, offline after a few failures, connected again', async () => {
    const { daemon, store, connection } = setup({ offlineAfter: 3 });
    connection.start();
    await flush();
    daemon.up = false;
    daemon.latest.drop();
    await flush();
    let status = store.getState().connection;
    expect(status).toMatchObject({ kind: 'reconnecting', attempt: 1, nextRetryAt: T0 + 500 });
    expect(connectionText(status, T0)).toContain('Reconnecting');

    await vi.advanceTimersByTimeAsync(500);
    expect(store.getState().connection).toMatchObject({ kind: 'reconnecting', attempt: 2, nextRetryAt: Date.now() + 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.getState().connection).toMatchObject({ kind: 'reconnecting', attempt: 3, nextRetryAt: Date.now() + 2000 });
    await vi.advanceTimersByTimeAsync(2000);
    status = store.getState().connection;
    expect(status).toMatchObject({ kind: 'offline', reason: 'unreachable', attempt: 4, nextRetryAt: Date.now() + 4000 });
    expect(connectionText(status, Date.now())).toContain('No daemon');

    daemon.up = true;
    await vi.advanceTimersByTimeAsync(4000);
    expect(store.getState().connection.kind).toBe('connected');
    expect(daemon.connections).toHaveLength(2);

    // A second drop starts the backoff from the beginning.
    daemon.latest.drop();
    await flush();
    expect(store.getState().connection).toMatchObject({ kind: 'reconnecting', attempt: 1, nextRetryAt: Date.now() + 500 });
    await vi.advanceTimersByTimeAsync(500);
    expect(store.getState().connection.kind).toBe('connected');
    connection.stop();
  });

  it('does not retry by itself after UNAUTHORIZED; reconnectNow() tries again', async () => {
    const { daemon, store, connection } = setup({ token: 'wrong' });
    daemon.refuse = 'UNAUTHORIZED';
    connection.start();
    await flush();
    const status = store.getState().connection;
    expect(status).toMatchObject({ kind: 'offline', reason: 'unauthorized', nextRetryAt: null });
    expect(status.kind === 'offline' && status.message).toContain('token');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(daemon.urls).toHaveLength(1);

    daemon.refuse = null;
    connection.reconnectNow();
    expect(store.getState().connection.kind).toBe('connecting');
    await flush();
    expect(store.getState().connection.kind).toBe('connected');
    connection.stop();
  });

  it('stop() closes the connection and never reconnects', async () => {
    const { daemon, store, connection } = setup();
    connection.start();
    await flush();
    connection.stop();
    await flush();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(daemon.urls).toHaveLength(1);
    expect(daemon.latest.socket.readyState).toBe(3);
    expect(store.getState().connection.kind).toBe('connected'); // the last status stays; the panel is gone
  });
});

describe('DaemonConnection: requests', () => {
  async function connected() {
    const ctx = setup();
    ctx.connection.start();
    await flush();
    expect(ctx.store.getState().connection.kind).toBe('connected');
    return ctx;
  }

  it('plumbs a generate request through queued → started → progress → preview → results → done', async () => {
    const { daemon, store, connection } = await connected();
    const running = connection.generate(REQUEST, { task: 'colorize' });
    const { id, request } = await daemon.latest.nextGenerate();
    expect(request.variants).toBe(2);
    expect(store.getState().job).toMatchObject({ requestId: id, phase: 'queued', task: 'colorize', variants: 2 });

    const end = daemon.latest;
    end.send({ type: 'queued', id, position: 1 });
    await flush();
    expect(store.getState().job).toMatchObject({ phase: 'queued', queuePosition: 1 });
    end.send({ type: 'started', id, model: 'palette-small', sampler: 'ddim', steps: 20, seeds: [7, 8], variants: 2 });
    end.send({ type: 'progress', id, step: 5, total: 20, etaMs: 1500, label: 'pass 1/1' });
    end.send({ type: 'preview', id, step: 5, images: [0, 1].map(() => ({ format: 'jpeg' as const, width: 2, height: 2, data: new Uint8Array([0xff, 0xd8]) })) });
    await flush();
    let job = store.getState().job!;
    expect(job).toMatchObject({ phase: 'running', seeds: [7, 8], progress: { step: 5, total: 20, etaMs: 1500, label: 'pass 1/1' } });
    expect(job.preview?.images.map((i) => i.mime)).toEqual(['image/jpeg', 'image/jpeg']);

    const png = { format: 'png' as const, width: 2, height: 2, data: new Uint8Array([0x89, 0x50]) };
    end.send({ type: 'result', id, variant: 0, seed: 7, layer: { x: 0, y: 0, image: png }, canvas: { width: 2, height: 2 } });
    await flush();
    job = store.getState().job!;
    expect(job.phase).toBe('finishing');
    expect(store.getState().strip?.results.map((r) => r.seed)).toEqual([7]);
    end.send({ type: 'result', id, variant: 1, seed: 8, layer: { x: 0, y: 0, image: png }, canvas: { width: 2, height: 2 } });
    end.send({ type: 'done', id, timings: { queuedMs: 10, sampleMs: 100, totalMs: 120 } });
    await running;
    const state = store.getState();
    expect(state.job).toBeNull();
    expect(state.strip?.results).toHaveLength(2);
    expect(state.history[0]).toMatchObject({ task: 'colorize', outcome: 'done', seeds: [7, 8], results: 2, kept: [] });
    expect(state.banner).toBeNull();
    connection.stop();
  });

  it('fails the request in flight with "The daemon went away" when the connection drops', async () => {
    const { daemon, store, connection } = await connected();
    const running = connection.generate(REQUEST, { task: 'colorize' });
    const { id } = await daemon.latest.nextGenerate();
    daemon.latest.send({ type: 'started', id, model: 'palette-small', sampler: 'ddim', steps: 20, seeds: [1, 2], variants: 2 });
    await flush();
    daemon.up = false;
    daemon.latest.drop();
    await running; // never rejects
    const state = store.getState();
    expect(state.job).toBeNull();
    expect(state.banner).toMatchObject({ title: 'The daemon went away', code: 'CONNECTION_CLOSED' });
    expect(state.banner?.action).toContain('Generate again');
    expect(state.history[0]).toMatchObject({ outcome: 'failed', seeds: [1, 2] });
    expect(state.connection.kind).toBe('reconnecting');
    connection.stop();
  });

  it('cancel() sends cancel for the request in flight; `cancelled` ends it with the "Cancelled" notice', async () => {
    const { daemon, store, connection } = await connected();
    const running = connection.generate(REQUEST, { task: 'colorize' });
    const { id } = await daemon.latest.nextGenerate();
    expect(connection.cancel()).toBe(true);
    expect(store.getState().job?.cancelRequested).toBe(true);
    expect(await daemon.latest.next()).toEqual({ type: 'cancel', id });
    daemon.latest.send({ type: 'cancelled', id });
    await running;
    const state = store.getState();
    expect(state.job).toBeNull();
    expect(state.banner).toMatchObject({ tone: 'notice', title: 'Cancelled' });
    expect(state.history[0]?.outcome).toBe('cancelled');
    expect(connection.cancel()).toBe(false);
    connection.stop();
  });

  it('turns a daemon error into a banner that says what to do', async () => {
    const { daemon, store, connection } = await connected();
    const running = connection.generate(REQUEST, { task: 'colorize' });
    const { id } = await daemon.latest.nextGenerate();
    daemon.latest.send(makeErrorMessage('QUEUE_FULL', 'The queue holds 16 jobs.', { id }));
    await running;
    expect(store.getState().banner).toMatchObject({ title: 'The daemon is busy', code: 'QUEUE_FULL', detail: 'The queue holds 16 jobs.' });
    expect(store.getState().history[0]?.outcome).toBe('failed');
    connection.stop();
  });

  it('rejects a request over the daemon limits locally, with the same banner codes', async () => {
    const { store, connection } = await connected();
    await connection.generate({ ...REQUEST, variants: 9 }, { task: 'colorize' });
    expect(store.getState().banner).toMatchObject({ code: 'INVALID_FIELD' });
    connection.stop();
  });

  it('says "Not connected" when generating without a connection', async () => {
    const { daemon, store, connection } = setup();
    daemon.up = false;
    connection.start();
    await flush();
    await connection.generate(REQUEST, { task: 'colorize' });
    expect(store.getState().banner).toMatchObject({ code: 'NOT_CONNECTED' });
    expect(store.getState().banner?.action).toContain('npm start');
    connection.stop();
  });
});
