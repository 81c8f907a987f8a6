/**
 * EditorDocument for Photopea: the panel runs as a Photopea plugin (an iframe) and drives the editor
 * with scripts (see photopea-runner.ts). Photopea has no pixel API, so:
 *  - reading a layer = hide every other layer, `saveToOE("png")`, restore the visibility (always, in a
 *    separate script, so a failed export still restores it), decode the PNG;
 *  - reading the selection = a temporary layer filled white inside the selection, exported alone
 *    (its alpha is the selection's coverage), then deleted;
 *  - results = `app.open(dataURL, null, true)` (placed as a layer, asynchronously), rasterised,
 *    moved to (x, y) and renamed. The preview is the layer named PREVIEW_LAYER_NAME; it is the only
 *    layer we ever remove (besides the temporary selection layer we create and delete in one call).
 * Layers are addressed by index paths from the top of the document (layers[0] is the top layer), which
 * stay valid between our scripts because they run one at a time.
 */
import {
  EditorError,
  type CanvasResize, type EditorDocument, type MaskPixels, type NewLayer, type PlacedImage, type RgbaPixels, type Size,
} from './editor-document.ts';
import { PhotopeaScriptRunner, SCRIPT_ERRORS, type PhotopeaTransport, type ScriptAnswer } from './photopea-runner.ts';
import { decodePng } from './png-decode.ts';
import { canvasSteps, contentBounds } from './pixel-geometry.ts';

export const PREVIEW_LAYER_NAME = 'Palette preview';
export const SELECTION_LAYER_NAME = 'Palette selection (temporary)';
/** The property documentId() marks Photopea's document objects with. */
export const MARKER = 'paletteDocumentId';

export interface PhotopeaDocumentOptions {
  /** Per-script timeout (ms). Default 15000. */
  timeoutMs?: number;
  /** How long to wait for a placed image to appear as a layer (ms). Default 15000. */
  placeTimeoutMs?: number;
  /** Poll interval while waiting for a placed image (ms). Default 50. */
  pollMs?: number;
  /** PNG → RGBA; defaults to png-decode.ts. */
  decode?: (png: Uint8Array) => Promise<RgbaPixels>;
}

type LayerPath = number[];

/** ES5 helpers prepended to scripts that walk the layer tree. */
const HELPERS = `
var pl_d = app.documents.length > 0 ? app.activeDocument : null;
if (!pl_d) throw "${SCRIPT_ERRORS.noDocument}";
function pl_isGroup(l) { return !!(l.layers && l.typename == "LayerSet"); }
function pl_at(p) { var c = pl_d; for (var i = 0; i < p.length; i++) c = c.layers[p[i]]; return c; }
function pl_path(t) {
  function walk(ls, pre) {
    for (var i = 0; i < ls.length; i++) {
      var p = pre.concat([i]);
      if (ls[i] == t) return p;
      if (pl_isGroup(ls[i])) { var r = walk(ls[i].layers, p); if (r) return r; }
    }
    return null;
  }
  return walk(pl_d.layers, []);
}
function pl_count(ls) { var n = 0; for (var i = 0; i < ls.length; i++) { n++; if (pl_isGroup(ls[i])) n += pl_count(ls[i].layers); } return n; }
function pl_num(v) { return typeof v == "number" ? v : (v && v.value !== undefined ? v.value : Number(v)); }
function pl_isolate(tp) {
  var hidden = [], shown = [];
  function walk(ls, pre) {
    for (var i = 0; i < ls.length; i++) {
      var p = pre.concat([i]), onPath = true;
      for (var k = 0; k < p.length; k++) if (p[k] !== tp[k]) onPath = false;
      if (onPath) {
        if (!ls[i].visible) { ls[i].visible = true; shown.push(p); }
        if (p.length < tp.length && pl_isGroup(ls[i])) walk(ls[i].layers, p);
      } else if (ls[i].visible) { ls[i].visible = false; hidden.push(p); }
    }
  }
  walk(pl_d.layers, []);
  return { hidden: hidden, shown: shown };
}
`;

interface Isolation { hidden: LayerPath[]; shown: LayerPath[] }

export class PhotopeaDocument implements EditorDocument {
  readonly host = 'photopea' as const;
  private readonly runner: PhotopeaScriptRunner;
  private readonly decode: (png: Uint8Array) => Promise<RgbaPixels>;
  private readonly placeTimeoutMs: number;
  private readonly pollMs: number;
  /** Whether Photopea keeps the id marked on a document between scripts (null: not yet seen). */
  private marksKept: boolean | null = null;

  constructor(transport: PhotopeaTransport, options: PhotopeaDocumentOptions = {}) {
    this.runner = new PhotopeaScriptRunner(transport, options.timeoutMs ?? 15_000);
    this.decode = options.decode ?? ((png) => decodePng(png));
    this.placeTimeoutMs = options.placeTimeoutMs ?? 15_000;
    this.pollMs = options.pollMs ?? 50;
  }

  dispose(): void {
    this.runner.dispose();
  }

  async hasDocument(): Promise<boolean> {
    const answer = await this.runner.run('app.echoToOE(String(app.documents.length));');
    return Number(answer.strings[0] ?? '0') > 0;
  }

  /**
   * Which document is open. Photopea's scripting DOM has no document id, so the first call marks
   * the document object with a generated one (an expando property, MARKER) and later calls read it
   * back: another document has none (or another). Whether Photopea keeps such properties between
   * scripts is checked once, right after the first mark; where it does not, documents are told
   * apart by their place in app.documents and their name (weaker: a document renamed or reordered
   * counts as another, the guard then refuses a Keep rather than misplace it).
   */
  async documentId(): Promise<string | null> {
    const fresh = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const answer = await this.runner.run(`
      if (app.documents.length == 0) app.echoToOE("{}"); else {
        var d = app.activeDocument, made = !d.${MARKER};
        if (made) d.${MARKER} = ${JSON.stringify(fresh)};
        var index = -1; for (var i = 0; i < app.documents.length; i++) if (app.documents[i] == d) index = i;
        app.echoToOE(JSON.stringify({ id: String(d.${MARKER}), made: made, name: String(d.name), index: index }));
      }`);
    const mark = JSON.parse(answer.strings.at(-1) ?? '{}') as { id?: string; made?: boolean; name?: string; index?: number };
    if (mark.id === undefined) return null;
    if (mark.made && this.marksKept === null) {
      const again = await this.runner.run(`app.echoToOE(String(app.activeDocument.${MARKER}));`);
      this.marksKept = again.strings.at(-1) === mark.id;
    }
    if (!mark.made) this.marksKept = true;
    return this.marksKept === false ? `photopea-doc-${mark.index ?? -1}-${mark.name ?? ''}` : `photopea-${mark.id}`;
  }

  async documentSize(): Promise<Size> {
    const size = await this.json<{ width: number; height: number }>(
      'app.echoToOE(JSON.stringify({ width: pl_num(pl_d.width), height: pl_num(pl_d.height) }));');
    return { width: Math.round(size.width), height: Math.round(size.height) };
  }

  async readActiveLayer(): Promise<RgbaPixels> {
    const size = await this.documentSize();
    const isolation = await this.json<Isolation>(`
      var t = pl_d.activeLayer; if (!t) throw "${SCRIPT_ERRORS.noLayer}";
      app.echoToOE(JSON.stringify(pl_isolate(pl_path(t))));`);
    let png: Uint8Array;
    try {
      png = await this.exportPng();
    } finally {
      await this.restore(isolation);
    }
    return this.decodeDocumentSized(png, size);
  }

  async readSelection(): Promise<MaskPixels | null> {
    const size = await this.documentSize();
    const state = await this.json<(Isolation & { previous: LayerPath; mask: LayerPath }) | null>(`
      var b = null;
      try { b = pl_d.selection.bounds; } catch (e) { b = null; }
      if (!b || pl_num(b[2]) <= pl_num(b[0]) || pl_num(b[3]) <= pl_num(b[1])) { app.echoToOE("null"); } else {
        var prev = pl_d.activeLayer;
        var m = pl_d.artLayers.add();
        m.name = ${JSON.stringify(SELECTION_LAYER_NAME)};
        pl_d.activeLayer = m;
        var white = new SolidColor(); white.rgb.red = 255; white.rgb.green = 255; white.rgb.blue = 255;
        pl_d.selection.fill(white);
        var s = pl_isolate(pl_path(m));
        s.previous = prev ? pl_path(prev) : null; s.mask = pl_path(m);
        app.echoToOE(JSON.stringify(s));
      }`);
    if (state === null) return null;
    let png: Uint8Array;
    try {
      png = await this.exportPng();
    } finally {
      await this.restore(state, `
        var prev = ${JSON.stringify(state.previous)} ? pl_at(${JSON.stringify(state.previous)}) : null;
        var m = pl_at(${JSON.stringify(state.mask)});
        if (m && m.name == ${JSON.stringify(SELECTION_LAYER_NAME)}) m.remove();
        if (prev) pl_d.activeLayer = prev;`);
    }
    const rgba = await this.decodeDocumentSized(png, size);
    const mask = new Uint8Array(size.width * size.height);
    for (let i = 0; i < mask.length; i++) mask[i] = rgba.data[i * 4 + 3]!; // coverage of the white fill
    return { width: size.width, height: size.height, data: mask };
  }

  async showPreview(image: PlacedImage): Promise<void> {
    await this.clearPreview();
    await this.place(image, PREVIEW_LAYER_NAME, true);
  }

  async clearPreview(): Promise<void> {
    await this.runner.run(`${HELPERS}
      var found = [];
      (function walk(ls) {
        for (var i = 0; i < ls.length; i++) {
          if (ls[i].name == ${JSON.stringify(PREVIEW_LAYER_NAME)}) found.push(ls[i]);
          else if (pl_isGroup(ls[i])) walk(ls[i].layers);
        }
      })(pl_d.layers);
      for (var j = 0; j < found.length; j++) found[j].remove();`);
  }

  async addLayer(layer: NewLayer): Promise<void> {
    await this.place(layer, layer.name, false);
  }

  async addLayerGroup(groupName: string, layers: NewLayer[]): Promise<void> {
    let placed: LayerPath[] = [];
    for (const layer of layers) {
      const path = await this.place(layer, layer.name, false);
      placed = [...placed.map((p) => shiftedByInsert(p, path)), path]; // each insert shifts the earlier ones
    }
    await this.runner.run(`${HELPERS}
      var ls = []; var paths = ${JSON.stringify(placed)};
      for (var i = 0; i < paths.length; i++) ls.push(pl_at(paths[i]));
      var g = pl_d.layerSets.add(); g.name = ${JSON.stringify(groupName)};
      for (var k = 0; k < ls.length; k++) ls[k].move(g, ElementPlacement.INSIDE);`);
  }

  async resizeCanvas(resize: CanvasResize): Promise<void> {
    const steps = canvasSteps(await this.documentSize(), resize);
    if (steps.length === 0) return;
    await this.runner.run(`${HELPERS}
      ${steps.map((s) => `pl_d.resizeCanvas(${s.width}, ${s.height}, AnchorPosition.${s.anchor});`).join('\n')}`);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private async json<T>(body: string): Promise<T> {
    const answer = await this.runner.run(`${HELPERS}\n${body}`);
    const text = answer.strings[answer.strings.length - 1];
    if (text === undefined) throw new EditorError('HOST_ERROR', 'Photopea sent no answer to a script.');
    return JSON.parse(text) as T;
  }

  private async exportPng(): Promise<Uint8Array> {
    const answer: ScriptAnswer = await this.runner.run('app.activeDocument.saveToOE("png");');
    const png = answer.buffers[0];
    if (!png) throw new EditorError('HOST_ERROR', 'Photopea did not send the exported PNG.');
    return png;
  }

  private async restore(isolation: Isolation, extra = ''): Promise<void> {
    await this.runner.run(`${HELPERS}
      var h = ${JSON.stringify(isolation.hidden)}, s = ${JSON.stringify(isolation.shown)};
      for (var i = 0; i < h.length; i++) pl_at(h[i]).visible = true;
      for (var j = 0; j < s.length; j++) pl_at(s[j]).visible = false;
      ${extra}`);
  }

  private async decodeDocumentSized(png: Uint8Array, size: Size): Promise<RgbaPixels> {
    const rgba = await this.decode(png);
    if (rgba.width !== size.width || rgba.height !== size.height) {
      throw new EditorError('HOST_ERROR', `Photopea exported ${rgba.width}×${rgba.height}, expected ${size.width}×${size.height}.`);
    }
    return rgba;
  }

  /**
   * Places `image` as a new layer named `name` with its top-left corner at (x, y); returns its path.
   * `keepActive`: give the previously active layer back its selection (for the preview).
   */
  private async place(image: PlacedImage, name: string, keepActive: boolean): Promise<LayerPath> {
    const pixels = await this.decode(image.png);
    const content = contentBounds(pixels);
    const before = await this.json<{ count: number; active: LayerPath | null }>(
      'app.echoToOE(JSON.stringify({ count: pl_count(pl_d.layers), active: pl_d.activeLayer ? pl_path(pl_d.activeLayer) : null }));');
    let created: LayerPath;
    if (!content) {
      created = await this.json<LayerPath>(`
        var l = pl_d.artLayers.add(); l.name = ${JSON.stringify(name)}; app.echoToOE(JSON.stringify(pl_path(l)));`);
    } else {
      await this.runner.run(`app.open(${JSON.stringify(`data:image/png;base64,${bytesToBase64(image.png)}`)}, null, true);`);
      await this.waitForLayerCount(before.count + 1);
      const placed = await this.json<{ path: LayerPath; bounds: number[] }>(`
        var l = pl_d.activeLayer;
        try { l.rasterize(RasterizeType.ENTIRELAYER); } catch (e) {}
        l = pl_d.activeLayer;
        var b = l.bounds;
        app.echoToOE(JSON.stringify({ path: pl_path(l), bounds: [pl_num(b[0]), pl_num(b[1]), pl_num(b[2]), pl_num(b[3])] }));`);
      const [left = 0, top = 0, right = 0, bottom = 0] = placed.bounds.map(Math.round);
      const [dx, dy] = placementShift(image, content, { left, top, width: right - left, height: bottom - top });
      await this.runner.run(`${HELPERS}
        var l = pl_at(${JSON.stringify(placed.path)});
        l.translate(${dx}, ${dy});
        l.name = ${JSON.stringify(name)};`);
      created = placed.path;
    }
    if (keepActive && before.active) {
      const previous = shiftedByInsert(before.active, created);
      await this.runner.run(`${HELPERS}\npl_d.activeLayer = pl_at(${JSON.stringify(previous)});`);
    }
    return created;
  }

  private async waitForLayerCount(count: number): Promise<void> {
    const deadline = Date.now() + this.placeTimeoutMs;
    for (;;) {
      const answer = await this.runner.run('app.echoToOE(String(app.documents.length > 0 ? (function c(ls) { var n = 0; for (var i = 0; i < ls.length; i++) { n++; if (ls[i].layers && ls[i].typename == "LayerSet") n += c(ls[i].layers); } return n; })(app.activeDocument.layers) : -1));');
      if (Number(answer.strings[0]) >= count) return;
      if (Date.now() > deadline) throw new EditorError('HOST_TIMEOUT', 'Photopea did not add the image as a layer in time.');
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}

/**
 * How far to move a freshly placed layer. Its reported bounds are either the visible content (what
 * Photoshop reports for pixel layers) or the whole placed box; we know both sizes, so either works.
 */
export function placementShift(image: PlacedImage, content: { left: number; top: number; width: number; height: number },
  bounds: { left: number; top: number; width: number; height: number }): [number, number] {
  if (bounds.width === content.width && bounds.height === content.height) {
    return [image.x + content.left - bounds.left, image.y + content.top - bounds.top];
  }
  if (bounds.width === image.width && bounds.height === image.height) {
    return [image.x - bounds.left, image.y - bounds.top];
  }
  throw new EditorError('HOST_ERROR',
    `Photopea resized the placed image (${bounds.width}×${bounds.height} instead of ${image.width}×${image.height}).`);
}

/** Where the layer that was at `path` is after a layer was inserted at `inserted`. */
export function shiftedByInsert(path: LayerPath, inserted: LayerPath): LayerPath {
  const depth = inserted.length - 1;
  if (path.length <= depth) return path;
  for (let i = 0; i < depth; i++) if (path[i] !== inserted[i]) return path;
  if (path[depth]! < inserted[depth]!) return path;
  const shifted = [...path];
  shifted[depth] = path[depth]! + 1;
  return shifted;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    chunk += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]!
      + (b === undefined ? '=' : BASE64[(n >> 6) & 63]!) + (c === undefined ? '=' : BASE64[n & 63]!);
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}
