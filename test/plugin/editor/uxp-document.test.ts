import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { EditorError } from '../../../plugin/editor/editor-document.ts';
import { canvasSteps } from '../../../plugin/editor/pixel-geometry.ts';
import { PREVIEW_LAYER_NAME, SRGB_PROFILE, UxpDocumentAdapter } from '../../../plugin/editor/uxp-document.ts';
import { allLayers, FakePhotoshop, type FakeDoc, type FakeLayer } from './fake-photoshop.ts';

/** A solid RGBA image encoded as PNG, plus its raw bytes. */
async function solidPng(width: number, height: number, rgba: [number, number, number, number]) {
  const raw = new Uint8Array(width * height * 4);
  for (let i = 0; i < raw.length; i += 4) raw.set(rgba, i);
  const png = new Uint8Array(await sharp(raw, { raw: { width, height, channels: 4 } }).png().toBuffer());
  return { raw, png };
}

function userLayer(ps: FakePhotoshop, name: string, left: number, top: number, width: number, height: number, seed: number): FakeLayer {
  const pixels = new Uint8Array(width * height * 4);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * seed + 11) % 251;
  return ps.newLayer(name, { left, top, right: left + width, bottom: top + height }, pixels);
}

const modalCalls = (ps: FakePhotoshop) => ps.calls.filter((c) => c.method === 'executeAsModal').length;

describe('UxpDocumentAdapter', () => {
  let ps: FakePhotoshop;
  let doc: FakeDoc;
  let photo: FakeLayer;
  let small: FakeLayer;
  let adapter: UxpDocumentAdapter;

  beforeEach(() => {
    ps = new FakePhotoshop();
    doc = ps.openDocument(40, 30);
    photo = userLayer(ps, 'Photo', 0, 0, 40, 30, 3);
    small = userLayer(ps, 'Sticker', -4, 20, 10, 15, 7); // partly off the canvas (left and bottom)
    doc.layers = [small, photo];
    doc.activeLayers = [photo];
    adapter = new UxpDocumentAdapter(ps.host());
  });

  it('reports no document, and rejects with NO_DOCUMENT', async () => {
    ps.doc = null;
    expect(await adapter.hasDocument()).toBe(false);
    await expect(adapter.readActiveLayer()).rejects.toMatchObject({ code: 'NO_DOCUMENT' });
    await expect(adapter.documentSize()).rejects.toBeInstanceOf(EditorError);
  });

  it("names the active document by Photoshop's id, so results are never placed into another one", async () => {
    expect(await adapter.documentId()).toBe('photoshop-7');
    const other = ps.openDocument(40, 30);
    other.id = 12;
    expect(await adapter.documentId()).toBe('photoshop-12');
    ps.doc = null;
    expect(await adapter.documentId()).toBeNull();
  });

  it('reads the active layer inside executeAsModal with the documented getPixels options', async () => {
    const pixels = await adapter.readActiveLayer();
    expect(pixels.width).toBe(40);
    expect(Array.from(pixels.data)).toEqual(Array.from(photo.state.pixels));
    const call = ps.calls.find((c) => c.method === 'getPixels')!;
    expect(call.args[0]).toMatchObject({ documentID: 7, layerID: photo.id, componentSize: 8, applyAlpha: false, colorProfile: SRGB_PROFILE });
    expect(modalCalls(ps)).toBe(1);
    expect(ps.disposals).toEqual(['dispose']);
    expect(ps.history).toEqual([]); // reading is not a history step
  });

  it('places a smaller layer by its sourceBounds and clips what lies off the canvas', async () => {
    doc.activeLayers = [small];
    const { data } = await adapter.readActiveLayer();
    const at = (x: number, y: number) => Array.from(data.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 4));
    const src = (x: number, y: number) => Array.from(small.state.pixels.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 4));
    expect(at(0, 20)).toEqual(src(4, 0)); // layer x = -4
    expect(at(5, 29)).toEqual(src(9, 9));
    expect(at(6, 20)).toEqual([0, 0, 0, 0]); // right of the layer
    expect(at(0, 19)).toEqual([0, 0, 0, 0]); // above it
  });

  it('reads an empty layer as transparent without asking for its pixels', async () => {
    const empty = ps.newLayer('Empty', { left: 0, top: 0, right: 0, bottom: 0 }, new Uint8Array(0));
    doc.layers.unshift(empty);
    doc.activeLayers = [empty];
    const pixels = await adapter.readActiveLayer();
    expect(pixels.data.every((v) => v === 0)).toBe(true);
    expect(ps.calls.some((c) => c.method === 'getPixels')).toBe(false);
  });

  it('reads no selection as null and a selection as a document-size mask', async () => {
    expect(await adapter.readSelection()).toBeNull();
    expect(ps.calls.some((c) => c.method === 'getSelection')).toBe(false);
    const mask = new Uint8Array(6 * 4).fill(255);
    mask[0] = 128;
    doc.selection = { bounds: { left: 10, top: 5, right: 16, bottom: 9 }, mask };
    const selection = (await adapter.readSelection())!;
    expect(selection.width * selection.height).toBe(1200);
    expect(selection.data[5 * 40 + 10]).toBe(128);
    expect(selection.data[8 * 40 + 15]).toBe(255);
    expect(selection.data[9 * 40 + 15]).toBe(0);
    expect(selection.data.reduce((n, v) => n + (v > 0 ? 1 : 0), 0)).toBe(24);
  });

  it('shows the preview as one new layer in one history step and gives the active layer back', async () => {
    const before = JSON.stringify([photo.state, small.state].map((s) => ({ ...s, pixels: Array.from(s.pixels) })));
    const { raw, png } = await solidPng(8, 6, [255, 0, 0, 200]);
    await adapter.showPreview({ x: 3, y: 4, width: 8, height: 6, png });
    const preview = allLayers(doc.layers).find((l) => l.name === PREVIEW_LAYER_NAME)!;
    expect(preview.state.bounds).toEqual({ left: 3, top: 4, right: 11, bottom: 10 });
    expect(Array.from(preview.state.pixels)).toEqual(Array.from(raw));
    expect(ps.history).toEqual(['Palette preview']);
    expect(doc.activeLayers.map((l) => l.id)).toEqual([photo.id]);
    expect(JSON.stringify([photo.state, small.state].map((s) => ({ ...s, pixels: Array.from(s.pixels) })))).toBe(before);
    const put = ps.calls.find((c) => c.method === 'putPixels')!.args[0] as { targetBounds: unknown };
    expect(put.targetBounds).toEqual({ left: 3, top: 4, right: 11, bottom: 10 }); // full Bounds, as @types/photoshop has it
    const create = ps.calls.find((c) => c.method === 'createImageDataFromBuffer')!.args[0];
    expect(create).toMatchObject({ width: 8, height: 6, components: 4, colorSpace: 'RGB', colorProfile: SRGB_PROFILE });
  });

  it('replaces its own preview and never deletes a user layer that has the same name', async () => {
    const impostor = userLayer(ps, PREVIEW_LAYER_NAME, 0, 0, 2, 2, 5);
    doc.layers.unshift(impostor);
    const { png } = await solidPng(4, 4, [0, 255, 0, 255]);
    await adapter.showPreview({ x: 0, y: 0, width: 4, height: 4, png });
    await adapter.showPreview({ x: 1, y: 1, width: 4, height: 4, png });
    const previews = allLayers(doc.layers).filter((l) => l.name === PREVIEW_LAYER_NAME);
    expect(previews).toHaveLength(2); // the impostor and our single preview
    expect(previews).toContain(impostor);
    expect(ps.calls.filter((c) => c.method === 'Layer.delete')).toHaveLength(1);
    await adapter.clearPreview();
    expect(allLayers(doc.layers).filter((l) => l.name === PREVIEW_LAYER_NAME)).toEqual([impostor]);
    expect(ps.history).toEqual(['Palette preview', 'Palette preview', 'Palette: remove preview']);
    await adapter.clearPreview(); // nothing left to remove: no modal scope, no history
    expect(ps.history).toHaveLength(3);
  });

  it('forgets a preview the user deleted instead of deleting something else', async () => {
    const { png } = await solidPng(4, 4, [0, 0, 255, 255]);
    await adapter.showPreview({ x: 0, y: 0, width: 4, height: 4, png });
    const preview = allLayers(doc.layers).find((l) => l.name === PREVIEW_LAYER_NAME)!;
    doc.remove(preview);
    const deletes = ps.calls.filter((c) => c.method === 'Layer.delete').length;
    await adapter.clearPreview();
    expect(ps.calls.filter((c) => c.method === 'Layer.delete').length).toBe(deletes);
    expect(allLayers(doc.layers)).toEqual([small, photo]);
  });

  it('adds a kept layer in one named history step, cropped to the canvas', async () => {
    const { png } = await solidPng(10, 10, [10, 20, 30, 255]);
    await adapter.addLayer({ x: 35, y: -5, width: 10, height: 10, png, name: 'Palette fill · seed 7' });
    const layer = allLayers(doc.layers).find((l) => l.name === 'Palette fill · seed 7')!;
    expect(layer.state.bounds).toEqual({ left: 35, top: 0, right: 40, bottom: 5 });
    expect(Array.from(layer.state.pixels.subarray(0, 4))).toEqual([10, 20, 30, 255]);
    expect(ps.history).toEqual(['Palette fill · seed 7']);
    expect(doc.layers.indexOf(layer)).toBe(doc.layers.indexOf(photo) - 1); // directly above the active layer
  });

  it('adds a group of layers as one history step', async () => {
    const { png } = await solidPng(5, 5, [1, 2, 3, 255]);
    await adapter.addLayerGroup('Palette fill ×2', [
      { x: 0, y: 0, width: 5, height: 5, png, name: 'v1' },
      { x: 5, y: 5, width: 5, height: 5, png, name: 'v2' },
    ]);
    const group = allLayers(doc.layers).find((l) => l.name === 'Palette fill ×2')!;
    expect(group.state.children.map((l) => l.name).sort()).toEqual(['v1', 'v2']);
    expect(ps.history).toEqual(['Palette fill ×2']);
  });

  it('rolls a failed action back: no history step, document unchanged, HOST_ERROR', async () => {
    const before = ps.snapshot();
    ps.failPutPixels = true;
    const { png } = await solidPng(4, 4, [9, 9, 9, 255]);
    await expect(adapter.addLayer({ x: 0, y: 0, width: 4, height: 4, png, name: 'x' })).rejects.toMatchObject({ code: 'HOST_ERROR' });
    expect(ps.history).toEqual([]);
    expect(ps.snapshot()).toBe(before);
    expect(ps.calls.some((c) => c.method === 'resumeHistory' && c.args[1] === false)).toBe(true);
  });

  it('says Photoshop is busy when another plugin holds the modal state', async () => {
    ps.busy = true;
    await expect(adapter.readActiveLayer()).rejects.toThrow(/busy/);
  });

  it('extends the canvas to the right with one anchored resize, as one history step', async () => {
    await adapter.resizeCanvas({ width: 60, height: 30, offsetX: 0, offsetY: 0 });
    expect(ps.calls.filter((c) => c.method === 'resizeCanvas').map((c) => c.args)).toEqual([[60, 30, 'topLeft']]);
    expect(photo.state.bounds.left).toBe(0);
    expect(ps.history).toEqual(['Palette: extend canvas']);
  });

  it('extends to the left and top with the matching anchor, and any other offset in two steps', async () => {
    await adapter.resizeCanvas({ width: 60, height: 40, offsetX: 20, offsetY: 10 });
    expect(ps.calls.filter((c) => c.method === 'resizeCanvas').map((c) => c.args)).toEqual([[60, 40, 'bottomRight']]);
    expect(photo.state.bounds).toMatchObject({ left: 20, top: 10 });
    await adapter.resizeCanvas({ width: 70, height: 50, offsetX: 3, offsetY: 4 });
    expect(photo.state.bounds).toMatchObject({ left: 23, top: 14 });
    expect(doc.width).toBe(70);
    expect(doc.height).toBe(50);
    expect(ps.history).toEqual(['Palette: extend canvas', 'Palette: extend canvas']);
  });

  it('plans canvas steps for centred, mixed and shrinking resizes', () => {
    expect(canvasSteps({ width: 10, height: 10 }, { width: 20, height: 10, offsetX: 5, offsetY: 0 }))
      .toEqual([{ width: 20, height: 10, anchor: 'TOPCENTER' }]);
    expect(canvasSteps({ width: 10, height: 10 }, { width: 21, height: 10, offsetX: 5, offsetY: 0 }))
      .toEqual([{ width: 15, height: 10, anchor: 'BOTTOMRIGHT' }, { width: 21, height: 10, anchor: 'TOPLEFT' }]);
    expect(canvasSteps({ width: 10, height: 10 }, { width: 6, height: 10, offsetX: -4, offsetY: 0 }))
      .toEqual([{ width: 6, height: 10, anchor: 'TOPRIGHT' }]);
    expect(() => canvasSteps({ width: 10, height: 10 }, { width: 30, height: 10, offsetX: -12, offsetY: 1 })).toThrow(EditorError);
  });

  it('wraps every call that touches the document in executeAsModal', async () => {
    const { png } = await solidPng(2, 2, [0, 0, 0, 255]);
    await adapter.showPreview({ x: 0, y: 0, width: 2, height: 2, png });
    await adapter.addLayer({ x: 0, y: 0, width: 2, height: 2, png, name: 'k' });
    await adapter.resizeCanvas({ width: 50, height: 30, offsetX: 0, offsetY: 0 });
    await adapter.clearPreview();
    expect(modalCalls(ps)).toBe(4);
    expect(ps.calls.filter((c) => c.method === 'suspendHistory')).toHaveLength(4);
    expect(ps.calls.filter((c) => c.method === 'resumeHistory' && c.args[1] === true)).toHaveLength(4);
  });
});
