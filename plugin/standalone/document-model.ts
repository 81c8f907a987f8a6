/**
 * The standalone editor's document: a canvas size, a stack of RGBA layers (index 0 = bottom), layer
 * groups, the active layer, a selection mask and one temporary preview layer drawn above everything.
 * Pure data and pixel math — no DOM — so the EditorDocument implementation and the view share it and
 * tests can run it in Node. Observers are told after every change (`subscribe`), and `version` increases.
 *
 * Every edit of the layers or the selection is one undo step (undo-history.ts). Layer pixels are never
 * changed in place, so a snapshot is a shallow copy of the stack. Masks given to `setSelection` belong
 * to the model from then on: a brush stroke may keep growing the mask it passed and pass it again
 * (the same object = the same undo step), but no caller may change a mask it got from the model.
 *
 * `documentId` changes whenever another image replaces the document, so results made from one photo
 * can tell they no longer belong (plugin/editor/standalone-document.ts).
 */
import type { MaskPixels, RgbaPixels, Size } from '../editor/editor-document.ts';
import { blendRow, forEachOverlap } from './layer-compositing.ts';
import { groupRange, layerMoveTarget, withGroupMoved } from './layer-stack.ts';
import { UndoHistory } from './undo-history.ts';

/** What the layer list shows of a layer: everything but its pixels. */
export interface LayerInfo {
  name: string;
  /** Position of the layer's top-left corner in document pixels (may be negative or past the canvas). */
  x: number;
  y: number;
  width: number;
  height: number;
  visible: boolean;
  /** The id of the group the layer is in (its layers are consecutive in the stack); absent when none. */
  groupId?: number;
}

export interface EditorLayer extends LayerInfo {
  /** width * height * 4, straight alpha. Never changed in place (undo snapshots share it). */
  pixels: Uint8Array;
}

export interface LayerGroup {
  id: number;
  name: string;
  /** Hiding a group hides all its layers, whatever their own visibility. */
  visible: boolean;
  /** Only the layer list's view: not an edit, not an undo step. */
  collapsed: boolean;
}

interface DocumentSnapshot {
  width: number;
  height: number;
  layers: EditorLayer[];
  groups: LayerGroup[];
  activeIndex: number;
  selection: Uint8Array | null;
}

export class EditorModel {
  width = 0;
  height = 0;
  layers: EditorLayer[] = [];
  groups: LayerGroup[] = [];
  activeIndex = -1;
  /** Document-size coverage (255 = selected), or null when nothing is selected. */
  selection: Uint8Array | null = null;
  preview: EditorLayer | null = null;
  version = 0;
  /** Increases each time an image replaces the document (0: none opened yet). */
  documentId = 0;
  readonly history = new UndoHistory<DocumentSnapshot>({ cost: (s) => s.selection?.length ?? 0, maxCost: 256 * 1024 * 1024 });
  private readonly listeners = new Set<() => void>();
  private saved: DocumentSnapshot | null = null;
  private nextGroupId = 1;
  /** Set by a change that the next one completes (extend: resize, then the layer): they make one step. */
  private joinNextChange: string | null = null;

  get hasDocument(): boolean {
    return this.width > 0 && this.height > 0;
  }

  get size(): Size {
    return { width: this.width, height: this.height };
  }

  /**
   * The selection the view should tint: none while a preview is shown, so the tint never covers the
   * result being judged. The selection itself is kept.
   */
  get shownSelection(): Uint8Array | null {
    return this.preview ? null : this.selection;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces the document with one layer holding `image`; the history starts afresh. */
  openImage(name: string, image: RgbaPixels): void {
    this.width = image.width;
    this.height = image.height;
    this.layers = [{ name, x: 0, y: 0, width: image.width, height: image.height, visible: true, pixels: image.data }];
    this.groups = [];
    this.activeIndex = 0;
    this.selection = null;
    this.preview = null;
    this.documentId++;
    this.history.clear();
    this.joinNextChange = null;
    this.saved = this.snapshot();
    this.changed();
  }

  /** Layers added, deleted, renamed, hidden or moved since the image was opened or last exported. */
  get hasUnsavedLayers(): boolean {
    const saved = this.saved;
    if (!saved) return false;
    if (saved.width !== this.width || saved.height !== this.height || saved.layers.length !== this.layers.length) return true;
    const layerDiffers = this.layers.some((layer, i) => {
      const s = saved.layers[i]!;
      return s.pixels !== layer.pixels || s.name !== layer.name || s.visible !== layer.visible
        || s.x !== layer.x || s.y !== layer.y || s.groupId !== layer.groupId;
    });
    const groupDiffers = (group: LayerGroup) => {
      const s = saved.groups.find((g) => g.id === group.id);
      return !s || s.name !== group.name || s.visible !== group.visible;
    };
    return layerDiffers || saved.groups.length !== this.groups.length || this.groups.some(groupDiffers);
  }

  /** The document as it is now counts as saved (after an export). */
  markSaved(): void {
    this.saved = this.snapshot();
    this.changed();
  }

  /** Inserts a layer above the active one (above the active one's group) and makes it active; returns its index. */
  addLayer(layer: EditorLayer, label = 'Add layer'): number {
    checkLayer(layer);
    const index = this.insertIndex();
    const { groupId: _ignored, ...ungrouped } = layer;
    this.change(label, () => {
      this.layers.splice(index, 0, ungrouped);
      this.activeIndex = index;
    });
    return index;
  }

  /** Adds `layers` (bottom first) as one new group above the active layer; one undo step. Returns the group id. */
  addLayerGroup(name: string, layers: EditorLayer[], label = 'Add group'): number {
    if (layers.length === 0) throw new RangeError('A group needs at least one layer');
    for (const layer of layers) checkLayer(layer);
    const id = this.nextGroupId++;
    const index = this.insertIndex();
    this.change(label, () => {
      this.groups.push({ id, name: cleanName(name), visible: true, collapsed: false });
      this.layers.splice(index, 0, ...layers.map((layer) => ({ ...layer, groupId: id })));
      this.activeIndex = index + layers.length - 1;
    });
    return id;
  }

  setActive(index: number): void {
    this.layerAt(index);
    this.activeIndex = index;
    this.changed();
  }

  setVisible(index: number, visible: boolean): void {
    const layer = this.layerAt(index);
    if (layer.visible === visible) return;
    this.change(visible ? 'Show layer' : 'Hide layer', () => {
      this.layers[index] = { ...layer, visible };
    });
  }

  renameLayer(index: number, name: string): void {
    const layer = this.layerAt(index);
    const clean = cleanName(name);
    if (clean === layer.name) return;
    this.change('Rename layer', () => {
      this.layers[index] = { ...layer, name: clean };
    });
  }

  /** Deletes a layer (a group emptied by it goes too); the document keeps at least one layer. */
  deleteLayer(index: number): void {
    const layer = this.layerAt(index);
    if (this.layers.length === 1) throw new RangeError('The document needs at least one layer');
    this.change('Delete layer', () => {
      this.layers.splice(index, 1);
      if (layer.groupId !== undefined && !this.layers.some((l) => l.groupId === layer.groupId)) {
        this.groups = this.groups.filter((g) => g.id !== layer.groupId);
      }
      this.activeIndex = Math.max(0, Math.min(index, this.layers.length) - 1);
    });
  }

  group(id: number): LayerGroup | undefined {
    return this.groups.find((g) => g.id === id);
  }

  setGroupVisible(id: number, visible: boolean): void {
    const group = this.groupAt(id);
    if (group.visible === visible) return;
    this.change(visible ? 'Show group' : 'Hide group', () => {
      this.groups = this.groups.map((g) => (g.id === id ? { ...g, visible } : g));
    });
  }

  setGroupCollapsed(id: number, collapsed: boolean): void {
    this.groupAt(id);
    this.groups = this.groups.map((g) => (g.id === id ? { ...g, collapsed } : g));
    this.changed();
  }

  renameGroup(id: number, name: string): void {
    const group = this.groupAt(id);
    const clean = cleanName(name);
    if (clean === group.name) return;
    this.change('Rename group', () => {
      this.groups = this.groups.map((g) => (g.id === id ? { ...g, name: clean } : g));
    });
  }

  /** Deletes a group with all its layers; refused when they are all the document has. */
  deleteGroup(id: number): void {
    this.groupAt(id);
    const remaining = this.layers.filter((l) => l.groupId !== id);
    if (remaining.length === 0) throw new RangeError('The document needs at least one layer');
    this.change('Delete group', () => {
      const below = this.layers.findIndex((l) => l.groupId === id);
      this.layers = remaining;
      this.groups = this.groups.filter((g) => g.id !== id);
      this.activeIndex = Math.max(0, Math.min(below, remaining.length) - 1);
    });
  }

  /** Where a layer would go moving one place up (+1) or down (−1) (layer-stack.ts); null when it cannot. */
  moveTarget(index: number, direction: 1 | -1): number | null {
    this.layerAt(index);
    return layerMoveTarget(this.layers, index, direction);
  }

  /** Whether group `id` can move one place up (+1) or down (−1) as a block. */
  canMoveGroup(id: number, direction: 1 | -1): boolean {
    return withGroupMoved(this.layers, this.groupAt(id).id, direction) !== null;
  }

  /** Moves a whole group past its neighbour (a layer or another group); one undo step. */
  moveGroup(id: number, direction: 1 | -1): void {
    const moved = withGroupMoved(this.layers, this.groupAt(id).id, direction);
    if (!moved) return;
    this.change(direction > 0 ? 'Move group up' : 'Move group down', () => {
      const active = this.layers[this.activeIndex];
      this.layers = moved;
      if (active) this.activeIndex = moved.indexOf(active); // the same layer stays active
    });
  }

  moveLayer(index: number, direction: 1 | -1): void {
    const target = this.moveTarget(index, direction);
    if (target === null) return;
    this.change(direction > 0 ? 'Move layer up' : 'Move layer down', () => {
      const [layer] = this.layers.splice(index, 1);
      this.layers.splice(target, 0, layer!);
      this.activeIndex = target;
    });
  }

  /** Sets the selection; an all-zero mask counts as no selection. Passing the mask already held again is the same step. */
  setSelection(mask: Uint8Array | null): void {
    if (mask && mask.length !== this.width * this.height) throw new RangeError('Selection mask does not match the document');
    const next = mask && mask.some((v) => v !== 0) ? mask : null;
    if (next === null && this.selection === null) return;
    if (next !== null && next === this.selection) {
      this.changed(); // a stroke growing its own mask: still the step it started
      return;
    }
    this.change(next ? 'Select' : 'Deselect', () => {
      this.selection = next;
    });
  }

  /** The temporary preview: not part of the document's history. */
  setPreview(layer: EditorLayer | null): void {
    if (layer) checkLayer(layer);
    this.preview = layer;
    this.changed();
  }

  /**
   * New canvas size; every layer (and the preview and selection) moves by the offset. With
   * `joinNext`, the next change is part of the same undo step (extend's Keep: resize, then the layer).
   */
  resizeCanvas(width: number, height: number, offsetX: number, offsetY: number, options: { joinNext?: string } = {}): void {
    if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
      throw new RangeError(`Bad canvas size ${width}×${height}`);
    }
    this.change('Resize canvas', () => {
      this.layers = this.layers.map((layer) => ({ ...layer, x: layer.x + offsetX, y: layer.y + offsetY }));
      if (this.preview) this.preview = { ...this.preview, x: this.preview.x + offsetX, y: this.preview.y + offsetY };
      if (this.selection) {
        const moved = new Uint8Array(width * height);
        for (let y = 0; y < this.height; y++) {
          const ny = y + offsetY;
          if (ny < 0 || ny >= height) continue;
          for (let x = 0; x < this.width; x++) {
            const nx = x + offsetX;
            if (nx >= 0 && nx < width) moved[ny * width + nx] = this.selection[y * this.width + x]!;
          }
        }
        this.selection = moved.some((v) => v !== 0) ? moved : null;
      }
      this.width = width;
      this.height = height;
    });
    if (options.joinNext) this.joinNextChange = options.joinNext;
  }

  /** Reverts the newest step; false when there is none. */
  undo(): boolean {
    return this.travel(this.history.undo(this.snapshot()));
  }

  redo(): boolean {
    return this.travel(this.history.redo(this.snapshot()));
  }

  layerInfo(): LayerInfo[] {
    return this.layers.map(({ name, x, y, width, height, visible, groupId }) => ({
      name, x, y, width, height, visible, ...(groupId !== undefined ? { groupId } : {}),
    }));
  }

  /** Whether layer `index` is drawn: its own visibility and its group's. */
  isShown(index: number): boolean {
    const layer = this.layerAt(index);
    return layer.visible && (layer.groupId === undefined || this.group(layer.groupId)?.visible !== false);
  }

  /** A layer's pixels over the document bounds (transparent where the layer has none). */
  layerOnDocument(index: number): RgbaPixels {
    const layer = this.layerAt(index);
    const out = new Uint8Array(this.width * this.height * 4);
    forEachOverlap(layer, this.size, (src, dst, count) => out.set(layer.pixels.subarray(src, src + count * 4), dst));
    return { width: this.width, height: this.height, data: out };
  }

  selectionMask(): MaskPixels | null {
    return this.selection ? { width: this.width, height: this.height, data: this.selection.slice() } : null;
  }

  /** Shown layers (and the preview, when asked) composited "over", straight alpha. */
  composite(includePreview: boolean): RgbaPixels {
    const out = new Uint8Array(this.width * this.height * 4);
    const stack = this.layers.filter((_, i) => this.isShown(i));
    if (includePreview && this.preview) stack.push(this.preview);
    for (const layer of stack) {
      forEachOverlap(layer, this.size, (src, dst, count) => blendRow(layer.pixels, src, out, dst, count));
    }
    return { width: this.width, height: this.height, data: out };
  }

  // -------------------------------------------------------------------------------------------

  private change(label: string, mutate: () => void): void {
    const before = this.snapshot();
    mutate();
    if (this.joinNextChange !== null) {
      this.history.relabelLast(this.joinNextChange);
      this.joinNextChange = null;
    } else {
      this.history.record(label, before);
    }
    this.changed();
  }

  private travel(step: { state: DocumentSnapshot } | null): boolean {
    if (!step) return false;
    this.joinNextChange = null;
    const s = step.state;
    this.preview = this.previewFollowing(s.layers);
    this.width = s.width;
    this.height = s.height;
    this.layers = s.layers.map((layer) => ({ ...layer }));
    // Collapsing is a view choice: keep the groups folded as they are now.
    const collapsed = new Map(this.groups.map((g) => [g.id, g.collapsed]));
    this.groups = s.groups.map((g) => ({ ...g, collapsed: collapsed.get(g.id) ?? g.collapsed }));
    this.activeIndex = Math.min(s.activeIndex, this.layers.length - 1);
    this.selection = s.selection;
    this.changed();
    return true;
  }

  /**
   * The preview is not in the history, but it must stay lined up with the layers when an undo or
   * redo moves them (an extend's canvas resize undone while a variant is previewed): it moves as a
   * layer present on both sides of the step (the same pixels) moved.
   */
  private previewFollowing(target: EditorLayer[]): EditorLayer | null {
    const preview = this.preview;
    if (!preview) return null;
    for (const layer of this.layers) {
      const same = target.find((t) => t.pixels === layer.pixels);
      if (!same) continue;
      const dx = same.x - layer.x;
      const dy = same.y - layer.y;
      return dx === 0 && dy === 0 ? preview : { ...preview, x: preview.x + dx, y: preview.y + dy };
    }
    return preview;
  }

  private snapshot(): DocumentSnapshot {
    return {
      width: this.width,
      height: this.height,
      layers: this.layers.map((layer) => ({ ...layer })),
      groups: this.groups.map((group) => ({ ...group })),
      activeIndex: this.activeIndex,
      selection: this.selection,
    };
  }

  /** Where a new layer or group goes: above the active layer, or above the active layer's group. */
  private insertIndex(): number {
    const active = this.layers[this.activeIndex];
    if (!active) return this.layers.length;
    return active.groupId === undefined ? this.activeIndex + 1 : groupRange(this.layers, active.groupId)[1] + 1;
  }

  private layerAt(index: number): EditorLayer {
    const layer = this.layers[index];
    if (!layer) throw new RangeError(`No layer ${index}`);
    return layer;
  }

  private groupAt(id: number): LayerGroup {
    const group = this.group(id);
    if (!group) throw new RangeError(`No group ${id}`);
    return group;
  }

  private changed(): void {
    this.version++;
    for (const listener of [...this.listeners]) listener();
  }
}

function cleanName(name: string): string {
  const clean = name.trim();
  if (!clean) throw new RangeError('A name cannot be empty');
  return clean;
}

function checkLayer(layer: EditorLayer): void {
  if (layer.pixels.length !== layer.width * layer.height * 4) {
    throw new RangeError(`Layer "${layer.name}" has ${layer.pixels.length} bytes for ${layer.width}×${layer.height}`);
  }
}
