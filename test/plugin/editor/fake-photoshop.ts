/**
 * A fake `require('photoshop')` for the UXP adapter's tests, following the documented signatures
 * (Imaging API, executeAsModal, Document, Layer, batchPlay). It records every call, enforces that
 * imaging calls and document changes happen inside executeAsModal, and keeps a history panel:
 * changes made while history is suspended become one step on resumeHistory(id, true) and are rolled
 * back on resumeHistory(id, false); changes outside a suspension are one step each.
 */
import type { UxpBounds, UxpExecutionContext, UxpHost, UxpImageData } from '../../../plugin/editor/uxp-document.ts';

export interface FakeLayerState {
  id: number;
  name: string;
  kind: 'pixel' | 'group';
  /** Pixel layers: bounds of `pixels` (trimmed, like Photoshop's), RGBA. */
  bounds: UxpBounds;
  pixels: Uint8Array;
  children: FakeLayer[];
}

export class FakeLayer {
  constructor(private readonly ps: FakePhotoshop, readonly state: FakeLayerState) {}
  get id(): number { return this.state.id; }
  get name(): string { return this.state.name; }
  get layers(): FakeLayer[] | null { return this.state.kind === 'group' ? this.state.children : null; }
  get bounds(): UxpBounds { return { ...this.state.bounds }; }
  async delete(): Promise<void> {
    this.ps.requireModal('Layer.delete');
    this.ps.calls.push({ method: 'Layer.delete', args: [this.id] });
    this.ps.mutate(() => this.ps.doc!.remove(this));
  }
}

export class FakeDoc {
  id = 7;
  layers: FakeLayer[] = []; // index 0 = top
  activeLayers: FakeLayer[] = [];
  selection: { bounds: UxpBounds | null; mask: Uint8Array | null } | undefined = { bounds: null, mask: null };

  constructor(private readonly ps: FakePhotoshop, public width: number, public height: number) {}

  async createPixelLayer(options: { name: string }): Promise<FakeLayer> {
    this.ps.requireModal('createPixelLayer');
    this.ps.calls.push({ method: 'createPixelLayer', args: [options] });
    const layer = this.ps.newLayer(options.name, { left: 0, top: 0, right: 0, bottom: 0 }, new Uint8Array(0));
    this.ps.mutate(() => {
      const above = this.activeLayers[0];
      const parent = above ? this.parentList(above) : this.layers;
      parent.splice(above ? parent.indexOf(above) : 0, 0, layer);
      this.activeLayers = [layer];
    });
    return layer;
  }

  async createLayerGroup(options: { name: string; fromLayers?: FakeLayer[] }): Promise<FakeLayer> {
    this.ps.requireModal('createLayerGroup');
    this.ps.calls.push({ method: 'createLayerGroup', args: [options.name, (options.fromLayers ?? []).map((l) => l.id)] });
    const group = this.ps.newLayer(options.name, { left: 0, top: 0, right: 0, bottom: 0 }, new Uint8Array(0), 'group');
    this.ps.mutate(() => {
      const members = options.fromLayers ?? [];
      const first = members[0];
      const parent = first ? this.parentList(first) : this.layers;
      const at = first ? parent.indexOf(first) : 0;
      for (const member of members) this.remove(member);
      group.state.children.push(...members);
      parent.splice(Math.min(at, parent.length), 0, group);
    });
    return group;
  }

  async resizeCanvas(width: number, height: number, anchor?: string): Promise<void> {
    this.ps.requireModal('resizeCanvas');
    this.ps.calls.push({ method: 'resizeCanvas', args: [width, height, anchor] });
    const a = anchor ?? 'middleCenter';
    const dx = a.endsWith('Left') ? 0 : a.endsWith('Right') ? width - this.width : Math.floor((width - this.width) / 2);
    const dy = a.startsWith('top') ? 0 : a.startsWith('bottom') ? height - this.height : Math.floor((height - this.height) / 2);
    this.ps.mutate(() => {
      for (const layer of allLayers(this.layers)) {
        const b = layer.state.bounds;
        layer.state.bounds = { left: b.left + dx, top: b.top + dy, right: b.right + dx, bottom: b.bottom + dy };
      }
      this.width = width;
      this.height = height;
    });
  }

  remove(layer: FakeLayer): void {
    const list = this.parentList(layer);
    list.splice(list.indexOf(layer), 1);
    this.activeLayers = this.activeLayers.filter((l) => l !== layer);
  }

  parentList(layer: FakeLayer): FakeLayer[] {
    if (this.layers.includes(layer)) return this.layers;
    const group = allLayers(this.layers).find((g) => g.state.children.includes(layer));
    if (!group) throw new Error(`layer ${layer.id} is not in the document`);
    return group.state.children;
  }
}

export function allLayers(layers: FakeLayer[]): FakeLayer[] {
  return layers.flatMap((l) => [l, ...allLayers(l.state.children)]);
}

function imageData(data: Uint8Array, width: number, height: number, components: number, log: string[]): UxpImageData {
  return {
    width, height, components,
    async getData(options) {
      if (options?.chunky === false) throw new Error('the fake only does chunky data');
      return data.slice();
    },
    dispose() { log.push('dispose'); },
  };
}

export class FakePhotoshop {
  doc: FakeDoc | null = null;
  readonly calls: { method: string; args: unknown[] }[] = [];
  readonly history: string[] = [];
  readonly disposals: string[] = [];
  modalDepth = 0;
  /** Makes the next executeAsModal reject as when another plugin is modal (error number 9). */
  busy = false;
  failPutPixels = false;
  private nextId = 100;
  private suspensions = new Map<number, { name: string; snapshot: string; changed: boolean }>();
  private nextSuspension = 1;

  newLayer(name: string, bounds: UxpBounds, pixels: Uint8Array, kind: 'pixel' | 'group' = 'pixel'): FakeLayer {
    return new FakeLayer(this, { id: this.nextId++, name, kind, bounds, pixels, children: [] });
  }

  openDocument(width: number, height: number): FakeDoc {
    this.doc = new FakeDoc(this, width, height);
    return this.doc;
  }

  requireModal(what: string): void {
    if (this.modalDepth === 0) throw new Error(`${what} is only allowed from inside a modal scope`);
  }

  /** Applies a document change, recording a history step unless history is suspended. */
  mutate(change: () => void): void {
    change();
    const open = [...this.suspensions.values()];
    if (open.length > 0) open.forEach((s) => { s.changed = true; });
    else this.history.push('(unsuspended change)');
  }

  snapshot(): string {
    const doc = this.doc!;
    return JSON.stringify({
      width: doc.width, height: doc.height,
      layers: allLayers(doc.layers).map((l) => ({ ...l.state, pixels: Array.from(l.state.pixels), children: l.state.children.map((c) => c.id) })),
    });
  }

  private restore(snapshot: string): void {
    const doc = this.doc!;
    const saved = JSON.parse(snapshot) as { width: number; height: number; layers: (Omit<FakeLayerState, 'children' | 'pixels'> & { pixels: number[]; children: number[] })[] };
    const byId = new Map(saved.layers.map((s) => [s.id, new FakeLayer(this, { ...s, pixels: Uint8Array.from(s.pixels), children: [] })]));
    for (const s of saved.layers) byId.get(s.id)!.state.children.push(...s.children.map((id) => byId.get(id)!));
    const nested = new Set(saved.layers.flatMap((s) => s.children));
    doc.width = saved.width;
    doc.height = saved.height;
    doc.layers = saved.layers.filter((s) => !nested.has(s.id)).map((s) => byId.get(s.id)!);
    doc.activeLayers = doc.activeLayers.map((l) => byId.get(l.id)).filter((l): l is FakeLayer => l !== undefined);
  }

  host(): UxpHost {
    const doc = (): FakeDoc | null => this.doc;
    const context: UxpExecutionContext = {
      hostControl: {
        suspendHistory: async ({ documentID, name }) => {
          this.calls.push({ method: 'suspendHistory', args: [documentID, name] });
          const id = this.nextSuspension++;
          this.suspensions.set(id, { name, snapshot: this.snapshot(), changed: false });
          return { historySuspensionID: id };
        },
        resumeHistory: async ({ historySuspensionID: id }, commit = true) => {
          this.calls.push({ method: 'resumeHistory', args: [id, commit] });
          const s = this.suspensions.get(id);
          if (!s) throw new Error(`unknown suspension ${id}`);
          this.suspensions.delete(id);
          if (!commit) this.restore(s.snapshot);
          else if (s.changed) this.history.push(s.name);
        },
      },
    };
    return {
      app: { get activeDocument() { return doc(); } },
      core: {
        executeAsModal: async (target, options) => {
          this.calls.push({ method: 'executeAsModal', args: [options.commandName] });
          if (!options.commandName) throw new Error('commandName is required');
          if (this.busy) throw Object.assign(new Error('host is in a modal state'), { number: 9 });
          this.modalDepth++;
          try {
            return await target(context);
          } finally {
            this.modalDepth--;
            // Photoshop auto-resumes (and cancels on exceptions) suspensions left open.
            for (const [id, s] of this.suspensions) {
              this.suspensions.delete(id);
              this.restore(s.snapshot);
            }
          }
        },
      },
      imaging: {
        getPixels: async (options) => {
          this.requireModal('getPixels');
          this.calls.push({ method: 'getPixels', args: [options] });
          const layer = allLayers(this.doc!.layers).find((l) => l.id === options.layerID);
          if (!layer) throw new Error('no such layer');
          const b = layer.state.bounds;
          const width = b.right - b.left;
          const height = b.bottom - b.top;
          return { imageData: imageData(layer.state.pixels, width, height, 4, this.disposals), sourceBounds: { ...b }, level: 0 };
        },
        getSelection: async (options) => {
          this.requireModal('getSelection');
          this.calls.push({ method: 'getSelection', args: [options] });
          const sel = this.doc!.selection;
          if (!sel?.bounds || !sel.mask) throw new Error('no selection');
          const b = sel.bounds;
          return { imageData: imageData(sel.mask, b.right - b.left, b.bottom - b.top, 1, this.disposals), sourceBounds: { ...b } };
        },
        putPixels: async (options) => {
          this.requireModal('putPixels');
          this.calls.push({ method: 'putPixels', args: [{ ...options, imageData: undefined }] });
          if (this.failPutPixels) throw new Error('Pixel write is not currently available');
          const layer = allLayers(this.doc!.layers).find((l) => l.id === options.layerID);
          if (!layer) throw new Error('no such layer');
          const image = options.imageData as UxpImageData & { raw: Uint8Array };
          const left = options.targetBounds?.left ?? 0;
          const top = options.targetBounds?.top ?? 0;
          this.mutate(() => {
            layer.state.bounds = { left, top, right: left + image.width, bottom: top + image.height };
            layer.state.pixels = image.raw.slice();
          });
        },
        createImageDataFromBuffer: async (data, options) => {
          this.calls.push({ method: 'createImageDataFromBuffer', args: [options] });
          if (data.length !== options.width * options.height * options.components) throw new Error('buffer size mismatch');
          return { ...imageData(data, options.width, options.height, options.components, this.disposals), raw: data.slice() };
        },
      },
      action: {
        batchPlay: async (descriptors, options) => {
          this.calls.push({ method: 'batchPlay', args: [descriptors, options] });
          for (const d of descriptors as { _obj: string; _target: { _ref: string; _id: number }[] }[]) {
            if (d._obj !== 'select') throw new Error(`fake batchPlay does not know ${d._obj}`);
            this.doc!.activeLayers = d._target.map((t) => allLayers(this.doc!.layers).find((l) => l.id === t._id)!);
          }
          return descriptors.map(() => ({}));
        },
      },
    };
  }
}
