import { describe, expect, it } from 'vitest';
import { EditorModel, type EditorLayer } from '../../../plugin/standalone/document-model.ts';
import { historyKeyOf } from '../../../plugin/standalone/history-keys.ts';
import { layerRows } from '../../../plugin/standalone/layers-panel.tsx';
import { UndoHistory } from '../../../plugin/standalone/undo-history.ts';

const W = 4;
const H = 3;
/** Opaque gray v. */
const solid = (w: number, h: number, v: number) => new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : v));
const layer = (name: string, v = 200): EditorLayer => ({ name, x: 0, y: 0, width: W, height: H, visible: true, pixels: solid(W, H, v) });
const names = (model: EditorModel) => model.layers.map((l) => l.name);

function opened(): EditorModel {
  const model = new EditorModel();
  model.openImage('photo', { width: W, height: H, data: solid(W, H, 255) });
  return model;
}

describe('EditorModel history', () => {
  it('undoes and redoes a kept layer, and a new edit ends the redo branch', () => {
    const model = opened();
    model.addLayer(layer('Palette fill · seed 1'), 'Keep Palette fill · seed 1');
    expect(model.history.undoLabel).toBe('Keep Palette fill · seed 1');
    expect(model.undo()).toBe(true);
    expect(names(model)).toEqual(['photo']);
    expect(model.activeIndex).toBe(0);
    expect(model.history.redoLabel).toBe('Keep Palette fill · seed 1');
    expect(model.redo()).toBe(true);
    expect(names(model)).toEqual(['photo', 'Palette fill · seed 1']);
    model.undo();
    model.setVisible(0, false);
    expect(model.history.redoLabel).toBeNull();
    expect(model.redo()).toBe(false);
  });

  it('records delete, visibility, rename and reorder as one step each', () => {
    const model = opened();
    model.addLayer(layer('a'));
    model.addLayer(layer('b'));
    const steps: Array<[() => void, string[], boolean[]]> = [
      [() => model.deleteLayer(1), ['photo', 'b'], [true, true]],
      [() => model.setVisible(1, false), ['photo', 'b'], [true, false]],
      [() => model.renameLayer(1, '  sky  '), ['photo', 'sky'], [true, false]],
      [() => model.moveLayer(1, -1), ['sky', 'photo'], [false, true]],
    ];
    const states = [[names(model), model.layers.map((l) => l.visible)]];
    for (const [edit, expectedNames, expectedVisible] of steps) {
      edit();
      expect(names(model)).toEqual(expectedNames);
      expect(model.layers.map((l) => l.visible)).toEqual(expectedVisible);
      states.push([names(model), model.layers.map((l) => l.visible)]);
    }
    for (let i = states.length - 2; i >= 0; i--) {
      model.undo();
      expect([names(model), model.layers.map((l) => l.visible)]).toEqual(states[i]);
    }
    model.undo();
    model.undo(); // the two added layers
    expect(names(model)).toEqual(['photo']);
    expect(model.undo()).toBe(false);
  });

  it('a brush stroke growing its own mask is one selection step; select none is another', () => {
    const model = opened();
    const stroke = new Uint8Array(W * H);
    stroke[0] = 255;
    model.setSelection(stroke);
    stroke[1] = 255;
    model.setSelection(stroke);
    model.setSelection(null);
    expect(model.history.undoLabel).toBe('Deselect');
    model.undo();
    expect(model.selection?.[1]).toBe(255);
    expect(model.history.undoLabel).toBe('Select');
    model.undo();
    expect(model.selection).toBeNull();
    expect(model.history.canUndo).toBe(false);
  });

  it('opening another image starts a new history and a new document id', () => {
    const model = opened();
    const first = model.documentId;
    model.addLayer(layer('kept'));
    model.openImage('other', { width: 2, height: 2, data: solid(2, 2, 9) });
    expect(model.documentId).toBe(first + 1);
    expect(model.history.canUndo).toBe(false);
  });

  it('extend: the resize and the layer it makes room for undo together', () => {
    const model = opened();
    model.resizeCanvas(W * 2, H, 0, 0, { joinNext: 'Keep extended canvas' });
    model.addLayer({ ...layer('extension'), width: W * 2, pixels: solid(W * 2, H, 1) });
    expect(model.history.undoLabel).toBe('Keep extended canvas');
    model.undo();
    expect(model.size).toEqual({ width: W, height: H });
    expect(names(model)).toEqual(['photo']);
  });

  it('undoing an extend restores the canvas and the layers, and moves a shown preview with them', () => {
    const model = opened();
    model.addLayer(layer('earlier'));
    model.resizeCanvas(W + 3, H + 2, 3, 2, { joinNext: 'Keep extended canvas' });
    model.addLayer({ ...layer('extension'), width: W + 3, height: H + 2, pixels: solid(W + 3, H + 2, 1) });
    expect(model.layers.map((l) => [l.x, l.y])).toEqual([[3, 2], [3, 2], [0, 0]]);
    model.setPreview({ ...layer('Palette preview'), width: W + 3, height: H + 2, pixels: solid(W + 3, H + 2, 7) });
    model.undo();
    expect(model.size).toEqual({ width: W, height: H });
    expect(model.layers.map((l) => [l.name, l.x, l.y])).toEqual([['photo', 0, 0], ['earlier', 0, 0]]);
    expect([model.preview?.x, model.preview?.y]).toEqual([-3, -2]); // still lined up with the photo
    expect(model.composite(true).data[0]).toBe(7);
    model.redo();
    expect(model.size).toEqual({ width: W + 3, height: H + 2 });
    expect(model.layers.map((l) => [l.x, l.y])).toEqual([[3, 2], [3, 2], [0, 0]]);
    expect([model.preview?.x, model.preview?.y]).toEqual([0, 0]);
  });
});

describe('EditorModel groups and unsaved work', () => {
  it('keep all makes one group: hidden as one, collapsed in the list, deleted and undone as one', () => {
    const model = opened();
    const id = model.addLayerGroup('Palette fill · 2 variants', [layer('v1', 10), layer('v2', 20)]);
    expect(model.layerInfo().map((l) => l.groupId)).toEqual([undefined, id, id]);
    expect(model.composite(false).data[0]).toBe(20);
    model.setGroupVisible(id, false);
    expect(model.composite(false).data[0]).toBe(255);
    expect(model.layers[2]!.visible).toBe(true); // the layers' own visibility is untouched
    model.setGroupCollapsed(id, true);
    expect(layerRows(model).map((r) => r.kind)).toEqual(['group', 'layer']);
    model.deleteGroup(id);
    expect(names(model)).toEqual(['photo']);
    model.undo();
    expect(names(model)).toEqual(['photo', 'v1', 'v2']);
    expect(model.group(id)?.visible).toBe(false);
    // A layer added while the group's top layer is active goes above the group, not into it.
    model.addLayer(layer('next'));
    expect(model.layerInfo().at(-1)).not.toHaveProperty('groupId');
  });

  it('a layer outside groups steps over a whole group; one inside stays in it', () => {
    const model = opened();
    const id = model.addLayerGroup('g', [layer('v1'), layer('v2')]);
    model.setActive(0);
    model.moveLayer(0, 1);
    expect(names(model)).toEqual(['v1', 'v2', 'photo']);
    expect(model.moveTarget(1, 1)).toBeNull(); // v2 is the group's top
    expect(model.moveTarget(0, 1)).toBe(1);
    expect(model.group(id)).toBeDefined();
  });

  it('a group moves as one past a layer or another group; the active layer stays; undo puts it back', () => {
    const model = opened();
    const id = model.addLayerGroup('g', [layer('v1'), layer('v2')]);
    model.setActive(0);
    model.addLayer(layer('top'));
    expect(names(model)).toEqual(['photo', 'top', 'v1', 'v2']);
    model.setActive(2); // v1
    expect(model.canMoveGroup(id, 1)).toBe(false);
    model.moveGroup(id, -1);
    expect(names(model)).toEqual(['photo', 'v1', 'v2', 'top']);
    expect(model.layers[model.activeIndex]!.name).toBe('v1');
    expect(model.history.undoLabel).toBe('Move group down');
    model.moveGroup(id, -1);
    expect(names(model)).toEqual(['v1', 'v2', 'photo', 'top']);
    expect(model.canMoveGroup(id, -1)).toBe(false);
    model.setActive(3); // top: a new group goes above it
    const other = model.addLayerGroup('h', [layer('w1')]);
    model.moveGroup(other, -1);
    model.moveGroup(other, -1);
    expect(names(model)).toEqual(['v1', 'v2', 'w1', 'photo', 'top']);
    model.moveGroup(other, -1); // past the whole group g, not into it
    expect(names(model)).toEqual(['w1', 'v1', 'v2', 'photo', 'top']);
    expect(model.layerInfo().map((l) => l.groupId)).toEqual([other, id, id, undefined, undefined]);
    for (let i = 0; i < 6; i++) model.undo();
    expect(names(model)).toEqual(['photo', 'top', 'v1', 'v2']);
    expect(model.layerInfo().map((l) => l.groupId)).toEqual([undefined, undefined, id, id]);
  });

  it('keeps at least one layer', () => {
    const model = opened();
    expect(() => model.deleteLayer(0)).toThrow(RangeError);
  });

  it('has unsaved layers after Keep until undone or exported', () => {
    const model = opened();
    expect(model.hasUnsavedLayers).toBe(false);
    model.setSelection(new Uint8Array(W * H).fill(255));
    expect(model.hasUnsavedLayers).toBe(false); // a selection is not work to lose
    model.addLayer(layer('kept'));
    expect(model.hasUnsavedLayers).toBe(true);
    model.undo();
    expect(model.hasUnsavedLayers).toBe(false);
    model.redo();
    model.markSaved();
    expect(model.hasUnsavedLayers).toBe(false);
  });

  it('hides the selection tint while a preview is shown, keeping the selection', () => {
    const model = opened();
    const mask = new Uint8Array(W * H).fill(255);
    model.setSelection(mask);
    model.setPreview(layer('Palette preview'));
    expect(model.shownSelection).toBeNull();
    expect(model.selection).toBe(mask);
    model.setPreview(null);
    expect(model.shownSelection).toBe(mask);
  });
});

describe('UndoHistory', () => {
  it('drops the oldest steps past its step and byte budgets, keeping the newest', () => {
    const history = new UndoHistory<number>({ maxSteps: 3, cost: (n) => n, maxCost: 10 });
    for (const n of [1, 2, 3, 4]) history.record(`s${n}`, n);
    expect(history.undo(0)?.label).toBe('s4');
    history.record('big', 50);
    expect(history.undoLabel).toBe('big');
    expect(history.undo(0)?.state).toBe(50);
    expect(history.canUndo).toBe(false);
  });
});

describe('history keys', () => {
  const key = (key: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) =>
    historyKeyOf({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
  it('maps Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y and ⌘Z', () => {
    expect(key('z', { ctrlKey: true })).toBe('undo');
    expect(key('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(key('y', { ctrlKey: true })).toBe('redo');
    expect(key('z', { metaKey: true })).toBe('undo');
    expect(key('z')).toBeNull();
    expect(key('z', { ctrlKey: true, altKey: true })).toBeNull();
  });
});
