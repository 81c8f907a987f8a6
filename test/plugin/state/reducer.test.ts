import { describe, expect, it } from 'vitest';
import type { PanelAction } from '../../../plugin/state/actions.ts';
import { PanelError, bannerFor } from '../../../plugin/state/banners.ts';
import { MAX_HISTORY, initialState, reduce } from '../../../plugin/state/reducer.ts';
import { createPanelStore } from '../../../plugin/state/store.ts';
import type { PanelState, WelcomeInfo } from '../../../plugin/state/types.ts';
import type { EncodedImage } from '../../../shared/protocol.ts';
import { ProtocolError } from '../../../shared/protocol-errors.ts';

const URL = 'ws://127.0.0.1:7860/';
const WELCOME: WelcomeInfo = {
  server: { name: 'palette', version: '0.1.0' },
  models: [],
  defaultModel: null,
  limits: { maxPixels: 1 << 20, maxPayloadBytes: 1 << 24, maxVariants: 3, maxSteps: 30 },
};
const PNG: EncodedImage = { format: 'png', width: 4, height: 3, data: new Uint8Array([1, 2, 3]) };
const JPEG: EncodedImage = { format: 'jpeg', width: 4, height: 3, data: new Uint8Array([9]) };

const run = (actions: PanelAction[], state: PanelState = initialState(URL)): PanelState => actions.reduce(reduce, state);

const sent = (requestId = 'r1', variants = 2): PanelAction[] => [
  { type: 'job/preparing', task: 'fill', at: 100 },
  { type: 'job/sent', requestId, task: 'fill', variants, canvasOffset: { x: 0, y: 0 }, at: 110 },
];
const result = (id: string, variant: number, seed: number): PanelAction => ({
  type: 'daemon/event',
  at: 200,
  message: { type: 'result', id, variant, seed, layer: { x: 5, y: 6, image: PNG }, canvas: { width: 10, height: 10 } },
});

describe('started', () => {
  it('updates the strip to the number of variants the daemon will send', () => {
    const state = run([
      ...sent('r1', 2),
      { type: 'daemon/event', at: 150, message: { type: 'started', id: 'r1', model: 'm', sampler: 'ddim', steps: 20, seeds: [4, 5, 6], variants: 3 } },
    ]);
    expect(state.strip?.expected).toBe(3);
    expect(state.job).toMatchObject({ phase: 'running', seeds: [4, 5, 6], model: 'm', sampler: 'ddim', steps: 20, variants: 3, queuePosition: null });
  });

  it('leaves the strip alone for another request', () => {
    const state = run([
      ...sent('r1', 2),
      { type: 'daemon/event', at: 150, message: { type: 'started', id: 'other', model: 'm', sampler: 'ddim', steps: 20, seeds: [4, 5, 6], variants: 3 } },
    ]);
    expect(state.strip?.expected).toBe(2);
  });
});

describe('connection transitions', () => {
  it('goes connecting → connected → reconnecting → offline → connected', () => {
    let state = initialState(URL);
    expect(state.connection).toEqual({ kind: 'connecting', url: URL });
    state = reduce(state, { type: 'connection/connected', url: URL, welcome: WELCOME });
    expect(state.connection).toEqual({ kind: 'connected', url: URL, server: WELCOME.server });
    expect(state.welcome).toBe(WELCOME);
    state = reduce(state, { type: 'connection/reconnecting', url: URL, attempt: 1, nextRetryAt: 1500, reason: 'closed', at: 1000 });
    expect(state.connection).toEqual({ kind: 'reconnecting', url: URL, attempt: 1, nextRetryAt: 1500, reason: 'closed' });
    expect(state.welcome).toBe(WELCOME); // kept while reconnecting
    state = reduce(state, { type: 'connection/offline', url: URL, reason: 'unreachable', attempt: 5, nextRetryAt: 9000, at: 1000 });
    expect(state.connection).toMatchObject({ kind: 'offline', reason: 'unreachable', attempt: 5, nextRetryAt: 9000 });
    expect(state.connection.kind === 'offline' && state.connection.message).toMatch(/npm start.*palette serve/);
    state = reduce(state, { type: 'connection/connected', url: URL, welcome: WELCOME });
    expect(state.connection.kind).toBe('connected');
  });

  it('connection/connecting starts over at the new address, from any state', () => {
    const other = 'ws://10.0.0.2:7860/';
    const offline = run([{ type: 'connection/offline', url: URL, reason: 'unreachable', attempt: 5, nextRetryAt: 9000, at: 1000 }]);
    expect(reduce(offline, { type: 'connection/connecting', url: other }).connection).toEqual({ kind: 'connecting', url: other });
    const connected = run([{ type: 'connection/connected', url: URL, welcome: WELCOME }]);
    expect(reduce(connected, { type: 'connection/connecting', url: other }).connection).toEqual({ kind: 'connecting', url: other });
  });

  it('says the versions differ when the daemon speaks another protocol', () => {
    const state = run([{ type: 'connection/offline', url: URL, reason: 'version-mismatch', attempt: 1, nextRetryAt: 2000, at: 1000 }]);
    expect(state.connection.kind === 'offline' && state.connection.message)
      .toBe(`The daemon at ${URL} speaks another protocol version. Update the plugin and the daemon to the same Palette version.`);
  });

  it('clamps variant counts to the daemon limits on welcome', () => {
    const state = run([{ type: 'connection/connected', url: URL, welcome: WELCOME }]);
    expect(state.settings.fill.variants).toBe(3); // default 4, daemon allows 3
    expect(state.settings.restore.variants).toBe(1);
    const next = reduce(state, { type: 'settings/update', task: 'fill', patch: { variants: 8 } });
    expect(next.settings.fill.variants).toBe(3);
  });

  it('ends a job in flight with "The daemon went away" when the connection is lost', () => {
    const state = run([
      ...sent(),
      { type: 'daemon/event', at: 150, message: { type: 'started', id: 'r1', model: 'm', sampler: 'ddim', steps: 20, seeds: [4, 5], variants: 2 } },
      result('r1', 0, 4),
      { type: 'connection/reconnecting', url: URL, attempt: 1, nextRetryAt: 900, reason: 'closed', at: 400 },
    ]);
    expect(state.job).toBeNull();
    expect(state.banner).toMatchObject({ title: 'The daemon went away', code: 'CONNECTION_CLOSED' });
    expect(state.history[0]).toMatchObject({ outcome: 'failed', results: 1, seeds: [4, 5], finishedAt: 400 });
    expect(state.strip?.results).toHaveLength(1); // finished variants stay keepable
    // The client's own CONNECTION_CLOSED for the same request arrives later and changes nothing.
    const later = reduce(state, { type: 'job/failed', requestId: 'r1', banner: bannerFor(new ProtocolError('CONNECTION_CLOSED', 'x')), at: 401 });
    expect(later.history).toHaveLength(1);
  });

  it('leaves a job that is still preparing alone when the connection drops', () => {
    const state = run([
      { type: 'job/preparing', task: 'fill', at: 1 },
      { type: 'connection/offline', url: URL, reason: 'unreachable', attempt: 1, nextRetryAt: 5, at: 2 },
    ]);
    expect(state.job?.phase).toBe('preparing');
    expect(state.banner).toBeNull();
  });
});

describe('job lifecycle', () => {
  it('goes preparing → queued → running → finishing → done, with previews, results, strip and history', () => {
    let state = run([{ type: 'job/preparing', task: 'fill', at: 100 }]);
    expect(state.job).toMatchObject({ generation: 1, phase: 'preparing', requestId: null });
    state = run(sent().slice(1), state);
    expect(state.job).toMatchObject({ generation: 1, phase: 'queued', requestId: 'r1', variants: 2 });
    expect(state.strip).toMatchObject({ generation: 1, task: 'fill', expected: 2, results: [], kept: [] });

    state = reduce(state, { type: 'daemon/event', at: 120, message: { type: 'queued', id: 'r1', position: 2 } });
    expect(state.job).toMatchObject({ phase: 'queued', queuePosition: 2 });
    state = reduce(state, { type: 'daemon/event', at: 130, message: { type: 'started', id: 'r1', model: 'm', sampler: 'ddim', steps: 20, seeds: [11, 12], variants: 2 } });
    expect(state.job).toMatchObject({ phase: 'running', queuePosition: null, seeds: [11, 12], model: 'm', sampler: 'ddim', steps: 20 });
    state = reduce(state, { type: 'daemon/event', at: 140, message: { type: 'progress', id: 'r1', step: 10, total: 20, etaMs: 900, label: 'pass 1/1' } });
    expect(state.job?.progress).toEqual({ step: 10, total: 20, etaMs: 900, label: 'pass 1/1' });
    state = reduce(state, { type: 'daemon/event', at: 150, message: { type: 'preview', id: 'r1', step: 10, images: [JPEG, JPEG] } });
    expect(state.job?.preview?.step).toBe(10);
    expect(state.job?.preview?.images[0]).toEqual({ mime: 'image/jpeg', format: 'jpeg', width: 4, height: 3, data: JPEG.data });
    state = reduce(state, { type: 'daemon/event', at: 160, message: { type: 'progress', id: 'r1', step: 20, total: 20, etaMs: 0, label: '' } });
    expect(state.job?.phase).toBe('finishing');

    state = run([result('r1', 0, 11)], state);
    expect(state.job?.results).toHaveLength(1);
    expect(state.strip?.results[0]).toMatchObject({ variant: 0, seed: 11, layer: { x: 5, y: 6, image: { mime: 'image/png', width: 4, height: 3 } }, canvas: { width: 10, height: 10 } });
    state = run([result('r1', 1, 12), { type: 'daemon/event', at: 300, message: { type: 'done', id: 'r1', timings: { queuedMs: 1, sampleMs: 2, totalMs: 3 } } }], state);
    expect(state.job).toBeNull();
    expect(state.strip?.results.map((r) => r.seed)).toEqual([11, 12]);
    expect(state.history).toEqual([
      { generation: 1, task: 'fill', startedAt: 100, finishedAt: 300, outcome: 'done', variants: 2, seeds: [11, 12], results: 2, kept: [], timings: { queuedMs: 1, sampleMs: 2, totalMs: 3 } },
    ]);
  });

  it('ignores events about other request ids and a second Generate while one runs', () => {
    const state = run([...sent('r1'), result('r9', 0, 1), { type: 'job/preparing', task: 'restore', at: 5 }]);
    expect(state.job).toMatchObject({ requestId: 'r1', task: 'fill', results: [] });
    expect(state.nextGeneration).toBe(2);
  });

  it('replaces the strip (and the previewed variant) when the next request is sent', () => {
    let state = run([...sent('r1'), result('r1', 0, 1), { type: 'daemon/event', at: 1, message: { type: 'done', id: 'r1', timings: { queuedMs: 0, sampleMs: 0, totalMs: 0 } } }]);
    state = reduce(state, { type: 'variant/previewed', variant: 0 });
    expect(state.previewedVariant).toBe(0);
    state = run([{ type: 'job/preparing', task: 'fill', at: 2 }], state);
    expect(state.strip?.generation).toBe(1); // still the old one while preparing
    state = run([{ type: 'job/sent', requestId: 'r2', task: 'fill', variants: 3, canvasOffset: { x: 0, y: 0 }, at: 3 }], state);
    expect(state.strip).toMatchObject({ generation: 2, expected: 3, results: [] });
    expect(state.previewedVariant).toBeNull();
  });
});

describe('cancel', () => {
  it('marks the job, then ends it as cancelled with a "Cancelled" notice, keeping finished variants', () => {
    let state = run([...sent(), result('r1', 0, 3), { type: 'job/cancel-requested' }]);
    expect(state.job?.cancelRequested).toBe(true);
    state = reduce(state, { type: 'job/cancelled', requestId: 'r1', at: 500 });
    expect(state.job).toBeNull();
    expect(state.banner).toMatchObject({ tone: 'notice', title: 'Cancelled' });
    expect(state.banner?.action).toMatch(/1 of 2 variants had finished/);
    expect(state.history[0]).toMatchObject({ outcome: 'cancelled', results: 1, seeds: [3] });
    expect(state.strip?.results).toHaveLength(1);
  });

  it('a cancel while preparing ends the job without a history entry', () => {
    const state = run([{ type: 'job/preparing', task: 'fill', at: 1 }, { type: 'job/cancel-requested' }, { type: 'job/cancelled', requestId: null, at: 2 }]);
    expect(state.job).toBeNull();
    expect(state.history).toEqual([]);
  });
});

describe('errors → banners', () => {
  it('shows the failure banner and records the failed generation', () => {
    const banner = bannerFor(new ProtocolError('MODEL_FAILED', 'out of memory', { requestId: 'r1' }));
    const state = run([...sent(), { type: 'job/failed', requestId: 'r1', banner, at: 9 }]);
    expect(state.banner).toMatchObject({ title: 'The model failed', tone: 'negative', detail: 'out of memory' });
    expect(state.banner?.action).toMatch(/fewer variants/);
    expect(state.history[0]?.outcome).toBe('failed');
  });

  it('a failed preparation shows its banner and leaves no history', () => {
    const banner = bannerFor(new Error('boom'));
    const state = run([{ type: 'job/preparing', task: 'fill', at: 1 }, { type: 'job/failed', requestId: null, banner, at: 2 }]);
    expect(state.job).toBeNull();
    expect(state.banner).toMatchObject({ title: 'Something went wrong', detail: 'boom' });
    expect(state.history).toEqual([]);
  });

  it('Generate clears the old banner; dismiss clears it too', () => {
    const banner = bannerFor(new ProtocolError('QUEUE_FULL', 'full'));
    let state = run([{ type: 'banner/show', banner }]);
    expect(state.banner?.title).toBe('The daemon is busy');
    expect(reduce(state, { type: 'banner/dismiss' }).banner).toBeNull();
    state = reduce(state, { type: 'job/preparing', task: 'fill', at: 1 });
    expect(state.banner).toBeNull();
  });
});

describe('variants and history', () => {
  const finished = run([...sent('r1', 3), result('r1', 0, 20), result('r1', 1, 21), { type: 'daemon/event', at: 5, message: { type: 'done', id: 'r1', timings: { queuedMs: 0, sampleMs: 0, totalMs: 0 } } }]);

  it('previews only variants that exist', () => {
    expect(reduce(finished, { type: 'variant/previewed', variant: 2 }).previewedVariant).toBeNull();
    expect(reduce(finished, { type: 'variant/previewed', variant: 1 }).previewedVariant).toBe(1);
  });

  it('records kept variants in the strip and in the history entry', () => {
    let state = reduce(finished, { type: 'variant/previewed', variant: 1 });
    state = reduce(state, { type: 'variant/kept', generation: 1, variants: [1] });
    expect(state.previewedVariant).toBeNull();
    expect(state.strip?.kept).toEqual([1]);
    state = reduce(state, { type: 'variant/kept', generation: 1, variants: [0, 1] });
    expect(state.strip?.kept).toEqual([0, 1]);
    expect(state.history[0]?.kept).toEqual([0, 1]);
  });

  it('marks the strip resized, and back when an undo shrank the canvas (extend)', () => {
    const state = reduce(finished, { type: 'strip/canvas-resized', generation: 1, resized: true });
    expect(state.strip?.canvasResized).toBe(true);
    expect(reduce(state, { type: 'strip/canvas-resized', generation: 1, resized: true })).toBe(state);
    expect(reduce(state, { type: 'strip/canvas-resized', generation: 1, resized: false }).strip?.canvasResized).toBe(false);
    expect(reduce(finished, { type: 'strip/canvas-resized', generation: 7, resized: true })).toBe(finished);
  });

  it('keeps at most MAX_HISTORY entries, newest first', () => {
    let state = initialState(URL);
    for (let i = 0; i < MAX_HISTORY + 5; i++) {
      state = run([...sent(`r${i}`, 1), { type: 'job/cancelled', requestId: `r${i}`, at: i }], state);
    }
    expect(state.history).toHaveLength(MAX_HISTORY);
    expect(state.history[0]?.finishedAt).toBe(MAX_HISTORY + 4);
  });
});

describe('PanelStore', () => {
  it('notifies listeners on change only, and unsubscribes', () => {
    const store = createPanelStore();
    const seen: string[] = [];
    const off = store.subscribe((state, action) => seen.push(`${action.type}:${state.task}`));
    store.dispatch({ type: 'task/select', task: 'extend' });
    store.dispatch({ type: 'task/select', task: 'extend' }); // no change
    store.dispatch({ type: 'banner/dismiss' }); // no change
    off();
    store.dispatch({ type: 'task/select', task: 'fill' });
    expect(seen).toEqual(['task/select:extend']);
    expect(store.getState().task).toBe('fill');
  });
});

describe('never lose work, never mislead', () => {
  const connected = (state: PanelState) => reduce(state, { type: 'connection/connected', url: URL, welcome: WELCOME });
  const sentFor = (documentId: string): PanelAction[] => [
    { type: 'job/preparing', task: 'fill', at: 100 },
    { type: 'job/sent', requestId: 'r1', task: 'fill', variants: 2, canvasOffset: { x: 0, y: 0 }, documentId, at: 110 },
  ];

  it('"Reconnected" replaces the banners a lost connection left; a first connection clears "Not connected"', () => {
    let state = connected(initialState(URL));
    state = run([
      { type: 'connection/reconnecting', url: URL, attempt: 1, nextRetryAt: 1500, reason: 'closed', at: 1000 },
      { type: 'banner/show', banner: bannerFor(new PanelError('NOT_CONNECTED', 'x')) },
    ], state);
    expect(state.banner?.title).toBe('Not connected to the daemon');
    state = connected(state);
    expect(state.banner).toMatchObject({ tone: 'notice', title: 'Reconnected' });

    let first = reduce(initialState(URL), { type: 'banner/show', banner: bannerFor(new PanelError('NOT_CONNECTED', 'x')) });
    first = connected(first);
    expect(first.banner).toBeNull();
  });

  it('another document clears the strip made from the first one and marks its job for cancelling', () => {
    let state = run([...sentFor('doc-A'), result('r1', 0, 3)]);
    expect(state.strip?.documentId).toBe('doc-A');
    expect(reduce(state, { type: 'document/changed', documentId: 'doc-A' })).toBe(state);
    state = reduce(state, { type: 'document/changed', documentId: 'doc-B' });
    expect(state.strip).toBeNull();
    expect(state.job?.cancelRequested).toBe(true);
    expect(state.banner?.title).toBe('Another document is open');
    // Later results of the old job never reach a strip, and its cancel keeps the banner that says why.
    state = run([result('r1', 1, 4), { type: 'job/cancelled', requestId: 'r1', at: 300 }], state);
    expect(state.strip).toBeNull();
    expect(state.banner?.title).toBe('Another document is open');
  });

  it('the big preview follows the chosen variant, also after Keep', () => {
    let state = run([...sent('r1', 3), result('r1', 0, 3), result('r1', 1, 4), result('r1', 2, 5)]);
    state = reduce(state, { type: 'variant/previewed', variant: 2 });
    expect(state.chosenVariant).toBe(2);
    state = reduce(state, { type: 'variant/kept', generation: state.strip!.generation, variants: [2] });
    expect(state.previewedVariant).toBeNull();
    expect(state.chosenVariant).toBe(2);
    state = reduce(state, { type: 'variant/previewed', variant: null });
    expect(state.chosenVariant).toBe(2);
  });
});
