import { describe, expect, it } from 'vitest';
import { bannerFor, PanelError } from '../../../plugin/state/banners.ts';
import {
  canvasResizeFor,
  connectionText,
  formatRemaining,
  jobProgressFraction,
  jobStatusText,
  keptLayer,
  layerName,
  previewPlacement,
  progressPercent,
} from '../../../plugin/state/selectors.ts';
import { initialState, reduce } from '../../../plugin/state/reducer.ts';
import type { VariantResult, VariantStrip } from '../../../plugin/state/types.ts';
import { EditorError } from '../../../plugin/editor/editor-document.ts';
import { ProtocolError } from '../../../shared/protocol-errors.ts';

const URL = 'ws://127.0.0.1:7860/';

describe('connectionText', () => {
  it('says Connected / Reconnecting / No daemon', () => {
    expect(connectionText({ kind: 'connected', url: URL, server: { name: 'palette', version: '0.1.0' } }, 0)).toBe('Connected to palette 0.1.0');
    expect(connectionText({ kind: 'connecting', url: URL }, 0)).toContain('Connecting');
    const retrying = connectionText({ kind: 'reconnecting', url: URL, attempt: 3, nextRetryAt: 4000, reason: '' }, 1100);
    expect(retrying).toBe('Reconnecting (attempt 3, in 3 s)…');
    const offline = reduce(initialState(URL), { type: 'connection/offline', url: URL, reason: 'unreachable', attempt: 1, nextRetryAt: 10_000, at: 0 });
    const text = connectionText(offline.connection, 0);
    expect(text).toBe(
      'No daemon at ws://127.0.0.1:7860/. Start the daemon: run `npm start` in the Palette folder, or `palette serve`. ' +
        'The panel connects by itself once it runs. (next try in 10 s)',
    );
    const refused = reduce(initialState(URL), { type: 'connection/offline', url: URL, reason: 'unauthorized', attempt: 1, nextRetryAt: null, at: 0 });
    expect(connectionText(refused.connection, 0)).toContain('token');
  });
});

describe('job text', () => {
  const base = reduce(reduce(initialState(URL), { type: 'job/preparing', task: 'fill', at: 0 }), {
    type: 'job/sent', requestId: 'r1', task: 'fill', variants: 2, canvasOffset: { x: 0, y: 0 }, at: 0,
  });
  it('describes the queue, steps, ETA and label', () => {
    const queued = reduce(base, { type: 'daemon/event', at: 0, message: { type: 'queued', id: 'r1', position: 2 } });
    expect(jobStatusText(queued.job!)).toBe('Queued: 2 ahead');
    expect(jobProgressFraction(queued.job!)).toBeNull();
    const running = reduce(queued, { type: 'daemon/event', at: 0, message: { type: 'progress', id: 'r1', step: 5, total: 20, etaMs: 65_000, label: 'tile 1/4' } });
    expect(jobStatusText(running.job!)).toBe('Step 5/20 · 1 min 05 s left · tile 1/4');
    expect(jobProgressFraction(running.job!)).toBe(0.25);
    expect(jobStatusText({ ...running.job!, cancelRequested: true })).toBe('Cancelling…');
  });
});

describe('placement', () => {
  const result: VariantResult = {
    variant: 0, seed: 77,
    layer: { x: 0, y: 10, image: { mime: 'image/png', format: 'png', width: 140, height: 100, data: new Uint8Array([1]) } },
    canvas: { width: 140, height: 120 },
  };
  const strip: VariantStrip = { generation: 1, task: 'extend', expected: 1, results: [result], canvasOffset: { x: 40, y: 20 }, canvasResized: false, kept: [], documentId: null };

  it('names layers after task and seed', () => {
    expect(layerName('fill', 1234)).toBe('Palette fill · seed 1234');
    expect(keptLayer(strip, result)).toMatchObject({ name: 'Palette extend · seed 77', x: 0, y: 10, width: 140, height: 100 });
  });

  it('extend: resizes once with the left/top offset; previews shift until then', () => {
    expect(canvasResizeFor(strip, result)).toEqual({ width: 140, height: 120, offsetX: 40, offsetY: 20 });
    expect(previewPlacement(strip, result)).toMatchObject({ x: -40, y: -10 });
    const resized = { ...strip, canvasResized: true };
    expect(canvasResizeFor(resized, result)).toBeNull();
    expect(previewPlacement(resized, result)).toMatchObject({ x: 0, y: 10 });
    expect(canvasResizeFor({ ...strip, task: 'fill' }, result)).toBeNull();
  });
});

describe('bannerFor', () => {
  it('says what happened and what to do', () => {
    expect(bannerFor(new PanelError('NO_SELECTION', 'x'))).toMatchObject({ title: 'Make a selection first', tone: 'notice' });
    expect(bannerFor(new EditorError('NO_DOCUMENT', 'none'))).toMatchObject({ title: 'No document is open', detail: 'none' });
    expect(bannerFor(new ProtocolError('TASK_NOT_SUPPORTED', 'no'), 'extend').title).toBe('The model cannot extend');
    expect(bannerFor(new ProtocolError('PAYLOAD_TOO_LARGE', 'big')).title).toBe('The image is too large');
    // An error from another bundle's copy of the class still maps by name and code.
    const foreign = Object.assign(new Error('gone'), { name: 'ProtocolError', code: 'CONNECTION_CLOSED' });
    expect(bannerFor(foreign).title).toBe('The daemon went away');
    expect(bannerFor('weird')).toMatchObject({ title: 'Something went wrong', detail: 'weird' });
  });
});

describe('ETA', () => {
  it('never reads "0 s left" while steps remain, and shows none when the daemon has no estimate', () => {
    expect(formatRemaining(0)).toBe('1 s');
    expect(formatRemaining(400)).toBe('1 s');
    expect(formatRemaining(61_200)).toBe('1 min 02 s');
    expect(progressPercent(999 / 1000)).toBe(99); // a long job's last steps are not "100 %"
    expect(progressPercent(0.5)).toBe(50);
    expect(progressPercent(1)).toBe(100);
    const sentJob = reduce(reduce(initialState(URL), { type: 'job/preparing', task: 'restore', at: 0 }), {
      type: 'job/sent', requestId: 'r1', task: 'restore', variants: 1, canvasOffset: { x: 0, y: 0 }, at: 0,
    });
    const job = { ...sentJob.job!, phase: 'running' as const, progress: { step: 19, total: 20, etaMs: 120, label: 'restore · tile 4/4' } };
    expect(jobStatusText(job)).toContain('1 s left');
    expect(jobStatusText({ ...job, progress: { ...job.progress, etaMs: 0 } })).not.toContain('left');
    expect(jobStatusText({ ...job, progress: { ...job.progress, step: 20 } })).not.toContain('left');
  });
});
