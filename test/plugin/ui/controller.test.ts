import { describe, expect, it } from 'vitest';
import { DaemonConnection } from '../../../plugin/connection/daemon-connection.ts';
import type { CanvasResize, EditorDocument, MaskPixels, NewLayer, PlacedImage, RgbaPixels } from '../../../plugin/editor/editor-document.ts';
import { StandaloneDocument } from '../../../plugin/editor/standalone-document.ts';
import { EditorModel } from '../../../plugin/standalone/document-model.ts';
import { initialState } from '../../../plugin/state/reducer.ts';
import { PanelStore } from '../../../plugin/state/store.ts';
import { PanelController } from '../../../plugin/ui/controller.ts';
import type { EncodedImage, GenerateMessage } from '../../../shared/protocol.ts';
import { FakeDaemon, flush, type DaemonEnd } from '../connection/fake-daemon.ts';

const W = 10;
const H = 8;

/** An editor that records what the panel asks of it. */
class FakeEditor implements EditorDocument {
  readonly host = 'standalone' as const;
  document = true;
  selection: MaskPixels | null = null;
  readonly calls: string[] = [];
  readonly layers: NewLayer[] = [];
  readonly groups: Array<{ name: string; layers: NewLayer[] }> = [];
  readonly resizes: CanvasResize[] = [];
  readonly previews: PlacedImage[] = [];
  size = { width: W, height: H };

  async hasDocument() { return this.document; }
  async documentSize() { return this.size; }
  async readActiveLayer(): Promise<RgbaPixels> {
    this.calls.push('readActiveLayer');
    return { width: W, height: H, data: new Uint8Array(W * H * 4).fill(128) };
  }
  async readSelection() { this.calls.push('readSelection'); return this.selection; }
  async showPreview(image: PlacedImage) { this.calls.push('showPreview'); this.previews.push(image); }
  async clearPreview() { this.calls.push('clearPreview'); }
  async addLayer(layer: NewLayer) { this.calls.push('addLayer'); this.layers.push(layer); }
  async addLayerGroup(name: string, layers: NewLayer[]) { this.calls.push('addLayerGroup'); this.groups.push({ name, layers }); }
  async resizeCanvas(resize: CanvasResize) {
    this.calls.push('resizeCanvas');
    this.resizes.push(resize);
    this.size = { width: resize.width, height: resize.height };
  }
}

const png = (width: number, height: number): EncodedImage => ({ format: 'png', width, height, data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) });

/** An editor that tells documents apart, like the standalone one: `open()` replaces the document. */
class TwoDocumentEditor extends FakeEditor {
  current = 'A';
  private readonly listeners = new Set<() => void>();
  async documentId() { return this.current; }
  onDocumentChange(listener: () => void) {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
  open(id: string) {
    this.current = id;
    for (const listener of this.listeners) listener();
  }
}

async function setup<E extends EditorDocument = FakeEditor>({ daemonUp = true, editor = new FakeEditor() as EditorDocument as E }: { daemonUp?: boolean; editor?: E } = {}) {
  const daemon = new FakeDaemon();
  daemon.up = daemonUp;
  const store = new PanelStore(initialState('ws://x/'));
  const connection = new DaemonConnection({ url: 'ws://x/', socketFactory: daemon.factory, store });
  const controller = new PanelController(store, editor, connection);
  connection.start();
  await flush();
  return { daemon, store, connection, editor, controller };
}

/** Answers a generate with started, one result per variant (placed by `place`) and done. */
function answer(end: DaemonEnd, { id, request }: GenerateMessage, place: (variant: number) => { x: number; y: number; w: number; h: number; cw: number; ch: number }) {
  const seeds = request.seeds ?? Array.from({ length: request.variants }, (_, i) => 500 + i);
  end.send({ type: 'started', id, model: 'palette-small', sampler: 'ddim', steps: request.steps ?? 20, seeds, variants: request.variants });
  for (let v = 0; v < request.variants; v++) {
    const p = place(v);
    end.send({ type: 'result', id, variant: v, seed: seeds[v]!, layer: { x: p.x, y: p.y, image: png(p.w, p.h) }, canvas: { width: p.cw, height: p.ch } });
  }
  end.send({ type: 'done', id, timings: { queuedMs: 0, sampleMs: 1, totalMs: 2 } });
}

describe('PanelController', () => {
  it('fill without a selection shows "Make a selection first" and sends nothing', async () => {
    const { daemon, store, controller, connection } = await setup();
    await controller.generate();
    expect(store.getState().banner?.title).toBe('Make a selection first');
    expect(store.getState().job).toBeNull();
    expect(daemon.latest.received.map((m) => m.type)).toEqual(['hello']);
    connection.stop();
  });

  it('fill: reads layer + selection, generates, previews a variant, keeps it as a named layer', async () => {
    const { daemon, store, controller, editor, connection } = await setup();
    const mask = new Uint8Array(W * H);
    mask[5] = 255;
    editor.selection = { width: W, height: H, data: mask };
    store.dispatch({ type: 'settings/update', task: 'fill', patch: { variants: 2, seed: { locked: true, seed: 42 } } });
    const running = controller.generate();
    const message = await daemon.latest.nextGenerate();
    expect(message.request).toMatchObject({ task: 'fill', variants: 2, seeds: [42, 43], mask: { format: 'gray8', width: W, height: H } });
    // The pixels sent are the active layer's and the selection's.
    const sentImage = message.request.image;
    expect(sentImage.format === 'rgba8' && Array.from(sentImage.data)).toEqual(new Array(W * H * 4).fill(128));
    expect(Array.from(message.request.mask!.data)).toEqual(Array.from(mask));
    answer(daemon.latest, message, () => ({ x: 2, y: 1, w: 4, h: 3, cw: W, ch: H }));
    await running;
    expect(store.getState().strip?.results.map((r) => r.seed)).toEqual([42, 43]);

    await controller.previewVariant(1);
    expect(editor.previews.at(-1)).toMatchObject({ x: 2, y: 1, width: 4, height: 3 });
    expect(store.getState().previewedVariant).toBe(1);

    await controller.keep();
    expect(editor.layers).toEqual([expect.objectContaining({ name: 'Palette fill · seed 43', x: 2, y: 1, width: 4, height: 3 })]);
    expect(editor.calls.slice(-2)).toEqual(['clearPreview', 'addLayer']);
    expect(store.getState().history[0]?.kept).toEqual([1]);
    expect(store.getState().previewedVariant).toBeNull();
    connection.stop();
  });

  it('extend: Keep resizes the canvas once (result size, left/top offset) before adding the layer; Keep all adds a group', async () => {
    const { daemon, store, controller, editor, connection } = await setup();
    store.dispatch({ type: 'task/select', task: 'extend' });
    store.dispatch({ type: 'settings/update', task: 'extend', patch: { variants: 2, sides: { left: true, right: false }, amount: 50 } });
    const running = controller.generate();
    const message = await daemon.latest.nextGenerate();
    expect(message.request).toMatchObject({ task: 'uncrop', extend: { left: { unit: 'fraction', value: 0.5 } } });
    answer(daemon.latest, message, () => ({ x: 0, y: 0, w: W + 5, h: H, cw: W + 5, ch: H }));
    await running;

    await controller.previewVariant(0);
    expect(editor.previews.at(-1)).toMatchObject({ x: -5, y: 0 }); // lined up with the original before the resize
    await controller.keep();
    expect(editor.resizes).toEqual([{ width: W + 5, height: H, offsetX: 5, offsetY: 0 }]);
    expect(editor.calls.slice(-3)).toEqual(['clearPreview', 'resizeCanvas', 'addLayer']);
    expect(editor.layers[0]).toMatchObject({ name: 'Palette extend · seed 500', x: 0, y: 0 });

    await controller.previewVariant(1);
    expect(editor.previews.at(-1)).toMatchObject({ x: 0, y: 0 }); // the canvas is already extended
    await controller.keepAll();
    expect(editor.resizes).toHaveLength(1);
    expect(editor.groups).toEqual([{ name: 'Palette extend · 2 variants', layers: [expect.objectContaining({ name: 'Palette extend · seed 500' }), expect.objectContaining({ name: 'Palette extend · seed 501' })] }]);
    expect(store.getState().strip?.kept).toEqual([0, 1]);
    connection.stop();
  });

  it('extend: after its Keep is undone, a preview and the next Keep are placed as on the original canvas', async () => {
    const model = new EditorModel();
    model.openImage('photo', { width: W, height: H, data: new Uint8Array(W * H * 4).fill(255) });
    // Every result of this job is the extended canvas (W + 5) × H.
    const decode = async () => ({ width: W + 5, height: H, data: new Uint8Array((W + 5) * H * 4).fill(9) });
    const { daemon, store, controller, connection } = await setup({ editor: new StandaloneDocument(model, decode) });
    store.dispatch({ type: 'task/select', task: 'extend' });
    store.dispatch({ type: 'settings/update', task: 'extend', patch: { variants: 2, sides: { left: true, right: false }, amount: 50 } });
    const running = controller.generate();
    answer(daemon.latest, await daemon.latest.nextGenerate(), () => ({ x: 0, y: 0, w: W + 5, h: H, cw: W + 5, ch: H }));
    await running;
    const placed = () => model.layers.map((l) => [l.name, l.x, l.y]);

    await controller.keep(0);
    expect(model.size).toEqual({ width: W + 5, height: H });
    expect(placed()).toEqual([['photo', 5, 0], ['Palette extend · seed 500', 0, 0]]);
    model.undo();
    expect(model.size).toEqual({ width: W, height: H });
    expect(placed()).toEqual([['photo', 0, 0]]);

    await controller.previewVariant(1);
    expect([model.preview?.x, model.preview?.y]).toEqual([-5, 0]); // lined up with the photo again
    await controller.keep(1);
    expect(model.size).toEqual({ width: W + 5, height: H });
    expect(placed()).toEqual([['photo', 5, 0], ['Palette extend · seed 501', 0, 0]]);

    // Undone and redone: the canvas is extended again, so Keep all must not resize a second time.
    model.undo();
    model.redo();
    await controller.keepAll();
    expect(model.size).toEqual({ width: W + 5, height: H });
    expect(model.layers.slice(2).map((l) => [l.x, l.y])).toEqual([[0, 0], [0, 0]]);
    expect(model.layers[0]).toMatchObject({ name: 'photo', x: 5 });
    connection.stop();
  });

  it('turns editor errors into banners', async () => {
    const { store, controller, editor, connection } = await setup();
    editor.document = false;
    store.dispatch({ type: 'task/select', task: 'restore' });
    await controller.generate();
    expect(store.getState().banner?.title).toBe('No document is open');
    await controller.keep();
    expect(store.getState().banner?.title).toBe('Nothing to keep yet');
    connection.stop();
  });

  it('Cancel while the document is being read sends nothing', async () => {
    const { daemon, store, controller, connection } = await setup();
    store.dispatch({ type: 'task/select', task: 'colorize' });
    const running = controller.generate();
    controller.cancel();
    await running;
    expect(store.getState().job).toBeNull();
    expect(store.getState().history).toEqual([]);
    expect(daemon.latest.received.map((m) => m.type)).toEqual(['hello']);
    connection.stop();
  });

  it('says "Not connected" instead of reading the document when there is no daemon', async () => {
    const { store, editor, controller, connection } = await setup({ daemonUp: false });
    await controller.generate();
    expect(store.getState().banner?.code).toBe('NOT_CONNECTED');
    expect(editor.calls).toEqual([]);
    connection.stop();
  });

  it('after a job the first variant is previewed in the document at once', async () => {
    const { daemon, store, controller, editor, connection } = await setup();
    store.dispatch({ type: 'task/select', task: 'colorize' });
    const running = controller.generate();
    answer(daemon.latest, await daemon.latest.nextGenerate(), () => ({ x: 0, y: 0, w: W, h: H, cw: W, ch: H }));
    await running;
    expect(store.getState().previewedVariant).toBe(0);
    expect(editor.calls.at(-1)).toBe('showPreview');
    connection.stop();
  });

  it('A→B: a fill made on photo A never lands on photo B, whether Keep is pressed or called', async () => {
    const editor = new TwoDocumentEditor();
    const { daemon, store, controller, connection } = await setup({ editor });
    editor.selection = { width: W, height: H, data: new Uint8Array(W * H).fill(255) };
    const running = controller.generate();
    answer(daemon.latest, await daemon.latest.nextGenerate(), () => ({ x: 0, y: 0, w: 4, h: 3, cw: W, ch: H }));
    await running;
    expect(store.getState().strip?.documentId).toBe('A');
    editor.open('B');
    await flush();
    expect(store.getState().strip).toBeNull();
    await controller.keep(0);
    await controller.keepAll();
    expect(editor.layers).toEqual([]);
    expect(editor.groups).toEqual([]);
    expect(store.getState().banner?.code).toBe('NOTHING_TO_KEEP');

    // Without the change notice (a host that only answers documentId), the check before Keep refuses too.
    const quiet = new TwoDocumentEditor();
    const second = await setup({ editor: quiet });
    quiet.selection = editor.selection;
    const again = second.controller.generate();
    answer(second.daemon.latest, await second.daemon.latest.nextGenerate(), () => ({ x: 0, y: 0, w: 4, h: 3, cw: W, ch: H }));
    await again;
    quiet.current = 'B';
    await second.controller.keep(0);
    expect(quiet.layers).toEqual([]);
    expect(second.store.getState().banner?.code).toBe('OTHER_DOCUMENT');
    expect(second.store.getState().strip).toBeNull();
    connection.stop();
    second.connection.stop();
  });
});
