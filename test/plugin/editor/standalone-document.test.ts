import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { StandaloneDocument } from '../../../plugin/editor/standalone-document.ts';
import { EditorModel } from '../../../plugin/standalone/document-model.ts';
import { brushStroke, maskEdges, polygonMask, rectMask } from '../../../plugin/standalone/selection-tools.ts';

function solid(width: number, height: number, rgba: number[]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return data;
}

async function png(width: number, height: number, rgba: number[]): Promise<Uint8Array> {
  return new Uint8Array(await sharp(solid(width, height, rgba), { raw: { width, height, channels: 4 } }).png().toBuffer());
}

const pixel = (data: Uint8Array, width: number, x: number, y: number) => Array.from(data.subarray((y * width + x) * 4, (y * width + x) * 4 + 4));
const count = (mask: Uint8Array) => mask.reduce((n, v) => n + (v ? 1 : 0), 0);

describe('StandaloneDocument over EditorModel', () => {
  let model: EditorModel;
  let editor: StandaloneDocument;

  beforeEach(() => {
    model = new EditorModel();
    editor = new StandaloneDocument(model);
  });

  it('has no document until an image is opened', async () => {
    expect(await editor.hasDocument()).toBe(false);
    await expect(editor.readActiveLayer()).rejects.toMatchObject({ code: 'NO_DOCUMENT' });
    model.openImage('photo', { width: 4, height: 3, data: solid(4, 3, [10, 20, 30, 255]) });
    expect(await editor.hasDocument()).toBe(true);
    expect(await editor.documentSize()).toEqual({ width: 4, height: 3 });
    expect(model.layerInfo()).toEqual([{ name: 'photo', x: 0, y: 0, width: 4, height: 3, visible: true }]);
  });

  it('reads the active layer over the document bounds and the selection as a copy', async () => {
    model.openImage('photo', { width: 6, height: 4, data: solid(6, 4, [1, 2, 3, 255]) });
    model.addLayer({ name: 'patch', x: 4, y: -1, width: 3, height: 3, visible: true, pixels: solid(3, 3, [9, 9, 9, 255]) });
    const layer = await editor.readActiveLayer();
    expect(pixel(layer.data, 6, 4, 0)).toEqual([9, 9, 9, 255]);
    expect(pixel(layer.data, 6, 5, 1)).toEqual([9, 9, 9, 255]);
    expect(pixel(layer.data, 6, 3, 0)).toEqual([0, 0, 0, 0]);
    expect(await editor.readSelection()).toBeNull();
    model.setSelection(rectMask(model.size, { x: 1, y: 1 }, { x: 3, y: 2 }));
    const selection = (await editor.readSelection())!;
    expect(count(selection.data)).toBe(2);
    selection.data.fill(0);
    expect(count(model.selection!)).toBe(2);
  });

  it('draws the preview above everything without adding a layer, and Keep adds one above the active layer', async () => {
    model.openImage('photo', { width: 8, height: 8, data: solid(8, 8, [0, 0, 255, 255]) });
    model.addLayer({ name: 'top', x: 0, y: 0, width: 8, height: 8, visible: true, pixels: solid(8, 8, [0, 0, 0, 0]) });
    model.setActive(0);
    await editor.showPreview({ x: 2, y: 2, width: 2, height: 2, png: await png(2, 2, [255, 0, 0, 255]) });
    expect(model.layers).toHaveLength(2);
    expect(pixel(model.composite(true).data, 8, 2, 2)).toEqual([255, 0, 0, 255]);
    expect(pixel(model.composite(false).data, 8, 2, 2)).toEqual([0, 0, 255, 255]);
    await editor.clearPreview();
    expect(model.preview).toBeNull();
    await editor.addLayer({ x: 1, y: 1, width: 2, height: 2, png: await png(2, 2, [0, 255, 0, 128]), name: 'Palette fill · seed 1' });
    expect(model.layerInfo().map((l) => l.name)).toEqual(['photo', 'Palette fill · seed 1', 'top']);
    expect(model.activeIndex).toBe(1);
    expect(pixel(model.composite(false).data, 8, 1, 1)).toEqual([0, 128, 127, 255]); // half green over blue
  });

  it('adds Keep all as one real group, one undo step', async () => {
    model.openImage('photo', { width: 4, height: 4, data: solid(4, 4, [0, 0, 0, 255]) });
    const image = await png(1, 1, [1, 1, 1, 255]);
    await editor.addLayerGroup('Palette fill ×2', [
      { x: 0, y: 0, width: 1, height: 1, png: image, name: 'a' },
      { x: 1, y: 1, width: 1, height: 1, png: image, name: 'b' },
    ]);
    expect(model.layerInfo().map((l) => l.name)).toEqual(['photo', 'a', 'b']);
    expect(model.groups.map((g) => g.name)).toEqual(['Palette fill ×2']);
    expect(model.layerInfo().map((l) => l.groupId)).toEqual([undefined, model.groups[0]!.id, model.groups[0]!.id]);
    expect(model.history.undoLabel).toBe('Keep all (Palette fill ×2)');
    model.undo();
    expect(model.layerInfo().map((l) => l.name)).toEqual(['photo']);
  });

  it('binds results to the image: another image opened while a layer decodes gets nothing (DOCUMENT_CHANGED)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const slow = new StandaloneDocument(model, async () => {
      await gate;
      return { width: 1, height: 1, data: new Uint8Array([1, 1, 1, 255]) };
    });
    model.openImage('A', { width: 4, height: 4, data: solid(4, 4, [0, 0, 0, 255]) });
    const idA = await slow.documentId();
    const changes: string[] = [];
    slow.onDocumentChange(() => changes.push('changed'));
    const adding = slow.addLayer({ x: 0, y: 0, width: 1, height: 1, png: new Uint8Array(), name: 'fill from A' });
    model.openImage('B', { width: 2, height: 2, data: solid(2, 2, [9, 9, 9, 255]) });
    release();
    await expect(adding).rejects.toMatchObject({ code: 'DOCUMENT_CHANGED' });
    expect(model.layerInfo().map((l) => l.name)).toEqual(['B']);
    expect(await slow.documentId()).not.toBe(idA);
    expect(changes).toEqual(['changed']);
  });

  it('grows the canvas keeping layers, preview and selection at the offset', async () => {
    model.openImage('photo', { width: 4, height: 2, data: solid(4, 2, [5, 5, 5, 255]) });
    model.setSelection(rectMask(model.size, { x: 0, y: 0 }, { x: 1, y: 1 }));
    await editor.showPreview({ x: 0, y: 0, width: 1, height: 1, png: await png(1, 1, [7, 7, 7, 255]) });
    await editor.resizeCanvas({ width: 6, height: 2, offsetX: 2, offsetY: 0 });
    expect(model.size).toEqual({ width: 6, height: 2 });
    expect(model.layerInfo()[0]).toMatchObject({ x: 2, y: 0 });
    expect(model.preview).toMatchObject({ x: 2, y: 0 });
    expect(model.selection![2]).toBe(255);
    expect(count(model.selection!)).toBe(1);
    const composite = model.composite(false);
    expect(pixel(composite.data, 6, 0, 0)).toEqual([0, 0, 0, 0]);
    expect(pixel(composite.data, 6, 5, 1)).toEqual([5, 5, 5, 255]);
  });

  it('hides invisible layers from the composite and notifies observers', () => {
    let changes = 0;
    model.subscribe(() => changes++);
    model.openImage('photo', { width: 2, height: 2, data: solid(2, 2, [5, 5, 5, 255]) });
    model.setVisible(0, false);
    expect(pixel(model.composite(true).data, 2, 0, 0)).toEqual([0, 0, 0, 0]);
    expect(changes).toBe(2);
    expect(() => model.setVisible(3, true)).toThrow(RangeError);
  });
});

describe('selection tools', () => {
  const doc = { width: 20, height: 10 };

  it('rasterises a rectangle from any two corners, clipped to the canvas', () => {
    expect(count(rectMask(doc, { x: 2, y: 3 }, { x: 6, y: 5 }))).toBe(8);
    expect(count(rectMask(doc, { x: 6, y: 5 }, { x: 2, y: 3 }))).toBe(8);
    expect(count(rectMask(doc, { x: -5, y: -5 }, { x: 3, y: 2 }))).toBe(6);
  });

  it('fills a lasso polygon by pixel centres', () => {
    const square = polygonMask(doc, [{ x: 2, y: 2 }, { x: 6, y: 2 }, { x: 6, y: 6 }, { x: 2, y: 6 }]);
    expect(count(square)).toBe(16);
    expect(square[2 * 20 + 2]).toBe(255);
    expect(square[6 * 20 + 6]).toBe(0);
    const triangle = polygonMask(doc, [{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 0, y: 10 }]);
    expect(count(triangle)).toBe(45); // pixels with x + y + 1 < 10
    expect(count(polygonMask(doc, [{ x: 0, y: 0 }, { x: 5, y: 5 }]))).toBe(0);
  });

  it('paints round brush strokes', () => {
    const mask = new Uint8Array(200);
    brushStroke(mask, doc, { x: 5.5, y: 5.5 }, { x: 5.5, y: 5.5 }, 3);
    expect(count(mask)).toBe(9); // a 3-pixel disc covers the 3×3 block of centres within 1.5
    brushStroke(mask, doc, { x: 2, y: 2 }, { x: 15, y: 2 }, 2);
    expect(mask[2 * 20 + 10]).toBe(255);
    expect(mask[5 * 20 + 10]).toBe(0);
  });

  it('finds the edge pixels of a selection', () => {
    const edges = maskEdges(rectMask(doc, { x: 2, y: 2 }, { x: 6, y: 6 }), doc);
    expect(edges.length).toBe(12); // a 4×4 block: 16 pixels, 4 inside
  });
});
