/**
 * A fake Photopea for the adapter's tests. It really runs the scripts it is sent (node:vm) against a
 * small Photoshop-like document model — layers and groups (layers[0] is the top), visibility,
 * activeLayer, selection.bounds/fill, artLayers/layerSets.add, resizeCanvas with AnchorPosition,
 * app.open(dataURL, null, true) that adds a smart-object layer asynchronously, rasterize, translate,
 * remove, move — and answers like Photopea: echoToOE strings and saveToOE ArrayBuffers in order,
 * then "done". `saveToOE("png")` composites the visible layers and encodes them with sharp.
 */
import { createContext, runInContext, type Context } from 'node:vm';
import sharp from 'sharp';
import type { PhotopeaTransport } from '../../../plugin/editor/photopea-runner.ts';

type Node = FakePpLayer | FakePpGroup;

export class FakePpLayer {
  readonly typename = 'ArtLayer';
  visible = true;
  kind: 'pixel' | 'smart' = 'pixel';
  constructor(public pp: FakePhotopea, public name: string, public x: number, public y: number,
    public width: number, public height: number, public pixels: Uint8Array) {}
  get bounds(): number[] {
    if (this.pp.boundsMode === 'box') return [this.x, this.y, this.x + this.width, this.y + this.height];
    let l = Infinity, t = Infinity, r = -Infinity, b = -Infinity;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        if (this.pixels[(y * this.width + x) * 4 + 3] === 0) continue;
        l = Math.min(l, x); r = Math.max(r, x + 1); t = Math.min(t, y); b = Math.max(b, y + 1);
      }
    }
    return r < 0 ? [0, 0, 0, 0] : [this.x + l, this.y + t, this.x + r, this.y + b];
  }
  translate(dx: number, dy: number): void { this.x += dx; this.y += dy; }
  rasterize(): void { this.kind = 'pixel'; }
  remove(): void { this.pp.detach(this); }
  move(target: FakePpGroup, placement: string): void {
    if (placement !== 'INSIDE') throw new Error('fake only moves INSIDE');
    this.pp.detach(this);
    target.layers.unshift(this);
  }
}

export class FakePpGroup {
  readonly typename = 'LayerSet';
  visible = true;
  layers: Node[] = [];
  constructor(public pp: FakePhotopea, public name: string) {}
  remove(): void { this.pp.detach(this); }
}

export class FakePpDocument {
  layers: Node[] = [];
  private active: Node | null = null;
  /** Coverage 0–255 per pixel, or null for no selection. */
  mask: Uint8Array | null = null;
  name = 'Untitled-1';
  constructor(private readonly pp: FakePhotopea, public width: number, public height: number) {}

  get activeLayer(): Node | null { return this.active; }
  set activeLayer(layer: Node | null) {
    if (layer && !this.pp.all().includes(layer)) throw new Error('not a layer of this document');
    this.active = layer;
  }

  get selection() {
    return {
      bounds: (() => {
        if (!this.mask) throw new Error('no selection'); // like Photopea after a deselect
        let l = Infinity, t = Infinity, r = -1, b = -1;
        this.mask.forEach((v, i) => {
          if (!v) return;
          const x = i % this.width, y = Math.floor(i / this.width);
          l = Math.min(l, x); t = Math.min(t, y); r = Math.max(r, x + 1); b = Math.max(b, y + 1);
        });
        return r < 0 ? null : [l, t, r, b];
      })(),
      fill: (color: { rgb: { red: number; green: number; blue: number } }) => {
        const layer = this.active;
        if (!(layer instanceof FakePpLayer) || !this.mask) throw new Error('cannot fill');
        this.mask.forEach((v, i) => {
          if (!v) return;
          const x = i % this.width - layer.x, y = Math.floor(i / this.width) - layer.y;
          if (x < 0 || y < 0 || x >= layer.width || y >= layer.height) return;
          layer.pixels.set([color.rgb.red, color.rgb.green, color.rgb.blue, v], (y * layer.width + x) * 4);
        });
      },
    };
  }

  get artLayers() {
    return { add: () => this.insert(new FakePpLayer(this.pp, 'Layer', 0, 0, this.width, this.height, new Uint8Array(this.width * this.height * 4))) };
  }

  get layerSets() {
    return { add: () => this.insert(new FakePpGroup(this.pp, 'Group')) };
  }

  /** New layers go above the active layer, in its group, and become active. */
  insert<T extends Node>(layer: T): T {
    const active = this.active;
    const list = active ? this.pp.parentList(active) : this.layers;
    list.splice(active ? list.indexOf(active) : 0, 0, layer);
    this.active = layer;
    return layer;
  }

  resizeCanvas(width: number, height: number, anchor: string): void {
    this.pp.log.push(`resizeCanvas ${width} ${height} ${anchor}`);
    const dx = anchor.endsWith('LEFT') ? 0 : anchor.endsWith('RIGHT') ? width - this.width : Math.floor((width - this.width) / 2);
    const dy = anchor.startsWith('TOP') ? 0 : anchor.startsWith('BOTTOM') ? height - this.height : Math.floor((height - this.height) / 2);
    for (const layer of this.pp.all()) if (layer instanceof FakePpLayer) layer.translate(dx, dy);
    this.width = width;
    this.height = height;
  }

  saveToOE(format: string): void {
    if (format !== 'png') throw new Error('fake only saves png');
    if (this.pp.failExport) throw new Error('export failed');
    const rgba = this.pp.composite();
    this.pp.outbox.push(sharp(rgba, { raw: { width: this.width, height: this.height, channels: 4 } }).png().toBuffer()
      .then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  }
}

export class FakePhotopea {
  doc: FakePpDocument | null = null;
  boundsMode: 'content' | 'box' = 'content';
  failExport = false;
  /** Scripts containing this text never answer (a fatal error in Photopea). */
  hangOn: string | null = null;
  /** Like a Photopea that hands each script a new wrapper of the document: properties set on it are lost. */
  dropsExpandos = false;
  readonly scripts: string[] = [];
  readonly log: string[] = [];
  outbox: (unknown | Promise<unknown>)[] = [];
  private readonly listeners = new Set<(data: unknown) => void>();
  private readonly context: Context;
  private chain: Promise<void> = Promise.resolve();

  constructor() {
    const pp = this;
    const app = {
      get documents() { return { length: pp.doc ? 1 : 0 }; },
      get activeDocument() { return pp.doc && pp.dropsExpandos ? pp.wrapper(pp.doc) : pp.doc; },
      echoToOE: (s: unknown) => { this.outbox.push(String(s)); },
      open: (url: string, _as: unknown, asSmart: boolean) => { this.open(url, asSmart); },
    };
    this.context = createContext({
      app,
      SolidColor: class { rgb = { red: 0, green: 0, blue: 0 }; },
      AnchorPosition: Object.fromEntries(['TOPLEFT', 'TOPCENTER', 'TOPRIGHT', 'MIDDLELEFT', 'MIDDLECENTER', 'MIDDLERIGHT',
        'BOTTOMLEFT', 'BOTTOMCENTER', 'BOTTOMRIGHT'].map((a) => [a, a])),
      RasterizeType: { ENTIRELAYER: 'ENTIRELAYER' },
      ElementPlacement: { INSIDE: 'INSIDE', PLACEATBEGINNING: 'PLACEATBEGINNING' },
    });
  }

  private wrapped: { doc: FakePpDocument; wrapper: FakePpDocument; script: number } | null = null;

  /** One wrapper per script run (the same within a script, a new one in the next). */
  wrapper(doc: FakePpDocument): FakePpDocument {
    if (this.wrapped?.doc !== doc || this.wrapped.script !== this.scripts.length) {
      this.wrapped = { doc, wrapper: Object.create(doc) as FakePpDocument, script: this.scripts.length };
    }
    return this.wrapped.wrapper;
  }

  transport(): PhotopeaTransport {
    return {
      post: (script) => {
        this.chain = this.chain.then(() => this.run(script)).catch((error: unknown) => { this.log.push(`script crashed: ${String(error)}`); });
      },
      onMessage: (listener) => { this.listeners.add(listener); return () => this.listeners.delete(listener); },
    };
  }

  /** Sends a message out of turn (Photopea's own "done" when a document opens, say). */
  emit(data: unknown): void {
    for (const listener of this.listeners) listener(data);
  }

  all(): Node[] {
    const walk = (ls: Node[]): Node[] => ls.flatMap((l) => [l, ...(l instanceof FakePpGroup ? walk(l.layers) : [])]);
    return this.doc ? walk(this.doc.layers) : [];
  }

  parentList(layer: Node): Node[] {
    if (this.doc!.layers.includes(layer)) return this.doc!.layers;
    const group = this.all().find((g): g is FakePpGroup => g instanceof FakePpGroup && g.layers.includes(layer));
    if (!group) throw new Error('layer not in document');
    return group.layers;
  }

  detach(layer: Node): void {
    const list = this.parentList(layer);
    list.splice(list.indexOf(layer), 1);
    if (this.doc!.activeLayer === layer) this.doc!.activeLayer = null;
  }

  /** Visible layers composited over transparency (straight alpha). */
  composite(): Uint8Array {
    const doc = this.doc!;
    const out = new Uint8Array(doc.width * doc.height * 4);
    const draw = (ls: Node[]) => {
      for (const l of [...ls].reverse()) {
        if (!l.visible) continue;
        if (l instanceof FakePpGroup) { draw(l.layers); continue; }
        for (let y = 0; y < l.height; y++) {
          for (let x = 0; x < l.width; x++) {
            const dx = l.x + x, dy = l.y + y;
            if (dx < 0 || dy < 0 || dx >= doc.width || dy >= doc.height) continue;
            const s = (y * l.width + x) * 4, d = (dy * doc.width + dx) * 4;
            const a = l.pixels[s + 3]! / 255, b = (out[d + 3]! / 255) * (1 - a), o = a + b;
            if (o === 0) continue;
            for (let c = 0; c < 3; c++) out[d + c] = Math.round((l.pixels[s + c]! * a + out[d + c]! * b) / o);
            out[d + 3] = Math.round(o * 255);
          }
        }
      }
    };
    draw(doc.layers);
    return out;
  }

  private open(url: string, asSmart: boolean): void {
    const doc = this.doc!;
    const match = /^data:image\/png;base64,(.*)$/.exec(url);
    if (!match || !asSmart) throw new Error('fake only places PNG data URLs');
    void sharp(Buffer.from(match[1]!, 'base64')).ensureAlpha().raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => {
      setTimeout(() => { // the layer appears after the script's "done", as in Photopea
        const layer = new FakePpLayer(this, 'Image', Math.floor((doc.width - info.width) / 2), Math.floor((doc.height - info.height) / 2),
          info.width, info.height, new Uint8Array(data));
        layer.kind = 'smart';
        doc.insert(layer);
      }, 30);
    });
  }

  private async run(script: string): Promise<void> {
    this.scripts.push(script);
    this.outbox = [];
    runInContext(script, this.context);
    if (this.hangOn && script.includes(this.hangOn)) return;
    for (const message of this.outbox) this.emit(await message);
    this.emit('done');
  }
}
