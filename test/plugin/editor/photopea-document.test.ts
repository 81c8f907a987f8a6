import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { MARKER, PhotopeaDocument, PREVIEW_LAYER_NAME, shiftedByInsert } from '../../../plugin/editor/photopea-document.ts';
import { PhotopeaScriptRunner, type PhotopeaTransport } from '../../../plugin/editor/photopea-runner.ts';
import { FakePhotopea, FakePpDocument, FakePpGroup, FakePpLayer } from './fake-photopea.ts';

const W = 32;
const H = 24;

function pattern(width: number, height: number, seed: number, alpha?: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  for (let i = 0; i < px.length; i++) px[i] = (i * seed + 17) % 256;
  if (alpha !== undefined) for (let i = 3; i < px.length; i += 4) px[i] = alpha;
  return px;
}

async function png(width: number, height: number, pixels: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(pixels, { raw: { width, height, channels: 4 } }).png().toBuffer());
}

/** Everything about the user's layers that the adapter must not change. */
function userState(doc: FakePpDocument, pp: FakePhotopea): string {
  return JSON.stringify(pp.all().filter((l) => l.name !== PREVIEW_LAYER_NAME && !l.name.startsWith('Palette')).map((l) => (
    l instanceof FakePpLayer ? { n: l.name, v: l.visible, x: l.x, y: l.y, p: Array.from(l.pixels) } : { n: l.name, v: l.visible })));
}

describe('PhotopeaDocument', () => {
  let pp: FakePhotopea;
  let doc: FakePpDocument;
  let top: FakePpLayer;
  let inner: FakePpLayer;
  let hidden: FakePpLayer;
  let background: FakePpLayer;
  let editor: PhotopeaDocument;

  beforeEach(() => {
    pp = new FakePhotopea();
    doc = pp.doc = new FakePpDocument(pp, W, H);
    top = new FakePpLayer(pp, 'Text', 2, 3, 10, 5, pattern(10, 5, 3, 180));
    inner = new FakePpLayer(pp, 'Inner', 4, 2, 20, 18, pattern(20, 18, 5, 255));
    hidden = new FakePpLayer(pp, 'Hidden', 0, 0, W, H, pattern(W, H, 7, 255));
    hidden.visible = false;
    background = new FakePpLayer(pp, 'Background', 0, 0, W, H, pattern(W, H, 11, 255));
    const group = new FakePpGroup(pp, 'Group');
    group.layers = [inner, hidden];
    doc.layers = [top, group, background];
    doc.activeLayer = inner;
    editor = new PhotopeaDocument(pp.transport(), { timeoutMs: 2000, pollMs: 10 });
  });

  it('knows when no document is open', async () => {
    pp.doc = null;
    expect(await editor.hasDocument()).toBe(false);
    await expect(editor.readActiveLayer()).rejects.toMatchObject({ code: 'NO_DOCUMENT' });
  });

  it('reads the active layer alone (others hidden for the export) and restores visibility', async () => {
    const before = userState(doc, pp);
    const layer = await editor.readActiveLayer();
    expect(layer.width).toBe(W);
    const at = (x: number, y: number) => Array.from(layer.data.subarray((y * W + x) * 4, (y * W + x) * 4 + 4));
    expect(at(4, 2)).toEqual(Array.from(inner.pixels.subarray(0, 4)));
    expect(at(23, 19)).toEqual(Array.from(inner.pixels.subarray((17 * 20 + 19) * 4, (17 * 20 + 19) * 4 + 4)));
    expect(at(0, 0)).toEqual([0, 0, 0, 0]); // background hidden during the export
    expect(userState(doc, pp)).toBe(before);
    expect(pp.scripts.map(kindOf)).toEqual(['size', 'isolate', 'export', 'restore']);
  });

  it('exports a hidden active layer and hides it again', async () => {
    doc.activeLayer = hidden;
    const layer = await editor.readActiveLayer();
    expect(Array.from(layer.data.subarray(0, 4))).toEqual(Array.from(hidden.pixels.subarray(0, 4)));
    expect(hidden.visible).toBe(false);
  });

  it('restores visibility when the export fails', async () => {
    const before = userState(doc, pp);
    pp.failExport = true;
    await expect(editor.readActiveLayer()).rejects.toMatchObject({ code: 'HOST_ERROR' });
    expect(userState(doc, pp)).toBe(before);
  });

  it('restores visibility when Photopea never answers the export (HOST_TIMEOUT)', async () => {
    editor = new PhotopeaDocument(pp.transport(), { timeoutMs: 300 });
    const before = userState(doc, pp);
    pp.hangOn = 'saveToOE';
    await expect(editor.readActiveLayer()).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    expect(userState(doc, pp)).toBe(before);
  });

  it('reads no selection as null', async () => {
    expect(await editor.readSelection()).toBeNull();
    expect(pp.all()).toHaveLength(5);
  });

  it('reads the selection through a temporary layer that it deletes again', async () => {
    const mask = new Uint8Array(W * H);
    for (let y = 5; y < 9; y++) for (let x = 6; x < 14; x++) mask[y * W + x] = x === 6 ? 100 : 255;
    doc.mask = mask;
    const before = userState(doc, pp);
    const selection = (await editor.readSelection())!;
    expect(Array.from(selection.data)).toEqual(Array.from(mask));
    expect(pp.all()).toHaveLength(5);
    expect(doc.activeLayer).toBe(inner);
    expect(userState(doc, pp)).toBe(before);
  });

  for (const mode of ['content', 'box'] as const) {
    it(`places the preview at (x, y) with its pixels (layer bounds = ${mode})`, async () => {
      pp.boundsMode = mode;
      const pixels = pattern(12, 8, 13, 255);
      for (let x = 0; x < 12; x++) pixels[x * 4 + 3] = 0; // a transparent first row: content ≠ box
      const before = userState(doc, pp);
      await editor.showPreview({ x: 5, y: 7, width: 12, height: 8, png: await png(12, 8, pixels) });
      const preview = pp.all().find((l) => l.name === PREVIEW_LAYER_NAME) as FakePpLayer;
      expect([preview.x, preview.y, preview.width, preview.height]).toEqual([5, 7, 12, 8]);
      expect(Buffer.from(preview.pixels).equals(Buffer.from(pixels))).toBe(true);
      expect(preview.kind).toBe('pixel');
      expect(doc.activeLayer).toBe(inner); // the user's layer is active again
      expect(userState(doc, pp)).toBe(before);
    });
  }

  it('keeps a single preview and removes only it', async () => {
    const before = userState(doc, pp);
    const image = await png(4, 4, pattern(4, 4, 3, 255));
    await editor.showPreview({ x: 0, y: 0, width: 4, height: 4, png: image });
    await editor.showPreview({ x: 8, y: 8, width: 4, height: 4, png: image });
    expect(pp.all().filter((l) => l.name === PREVIEW_LAYER_NAME)).toHaveLength(1);
    await editor.clearPreview();
    expect(pp.all()).toHaveLength(5);
    expect(userState(doc, pp)).toBe(before);
  });

  it('adds kept layers and groups', async () => {
    const image = await png(6, 6, pattern(6, 6, 9, 255));
    await editor.addLayer({ x: 1, y: 2, width: 6, height: 6, png: image, name: 'Palette fill · seed 3' });
    const kept = pp.all().find((l) => l.name === 'Palette fill · seed 3') as FakePpLayer;
    expect([kept.x, kept.y]).toEqual([1, 2]);
    await editor.addLayerGroup('Palette fill ×2', [
      { x: 0, y: 0, width: 6, height: 6, png: image, name: 'v1' },
      { x: 10, y: 10, width: 6, height: 6, png: image, name: 'v2' },
    ]);
    const group = pp.all().find((l) => l.name === 'Palette fill ×2') as FakePpGroup;
    expect(group.layers.map((l) => l.name).sort()).toEqual(['v1', 'v2']);
    expect(group.layers.map((l) => [(l as FakePpLayer).x, (l as FakePpLayer).y]).sort()).toEqual([[0, 0], [10, 10]]);
  });

  it('adds a fully transparent result as an empty layer', async () => {
    await editor.addLayer({ x: 0, y: 0, width: 3, height: 3, png: await png(3, 3, new Uint8Array(36)), name: 'empty' });
    expect(pp.all().some((l) => l.name === 'empty')).toBe(true);
    expect(pp.scripts.some((s) => s.includes('app.open('))).toBe(false);
  });

  it('resizes the canvas with anchors (one call when an anchor fits, two otherwise)', async () => {
    await editor.resizeCanvas({ width: 48, height: 24, offsetX: 0, offsetY: 0 });
    expect(pp.log).toEqual(['resizeCanvas 48 24 TOPLEFT']);
    await editor.resizeCanvas({ width: 60, height: 30, offsetX: 5, offsetY: 2 });
    expect(pp.log.slice(1)).toEqual(['resizeCanvas 53 26 BOTTOMRIGHT', 'resizeCanvas 60 30 TOPLEFT']);
    expect([background.x, background.y, doc.width, doc.height]).toEqual([5, 2, 60, 30]);
  });

  it('sends ES5-style scripts only', async () => {
    doc.mask = new Uint8Array(W * H).fill(255);
    await editor.readActiveLayer();
    await editor.readSelection();
    await editor.showPreview({ x: 0, y: 0, width: 2, height: 2, png: await png(2, 2, pattern(2, 2, 3, 255)) });
    for (const script of pp.scripts) expect(script).not.toMatch(/=>|`|\blet\b|\bconst\b|\bclass\b/);
  });
});

describe('PhotopeaScriptRunner', () => {
  function manual() {
    const posted: string[] = [];
    const listeners = new Set<(d: unknown) => void>();
    const transport: PhotopeaTransport = {
      post: (s) => posted.push(s),
      onMessage: (l) => { listeners.add(l); return () => listeners.delete(l); },
    };
    const send = (...messages: unknown[]) => messages.forEach((m) => listeners.forEach((l) => l(m)));
    return { posted, transport, send };
  }

  it('ignores stray "done" messages and collects strings and buffers between its tags', async () => {
    const { posted, transport, send } = manual();
    const runner = new PhotopeaScriptRunner(transport, 1000);
    const answer = runner.run('x();');
    await Promise.resolve();
    expect(posted).toHaveLength(1);
    send('done', 'palette:begin:1', 'hello', new ArrayBuffer(3), 'done', 'palette:end:1');
    let settled = false;
    void answer.then(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false); // the "done" before our end tag was not ours
    send(new ArrayBuffer(2), 'done');
    const result = await answer;
    expect(result.strings).toEqual(['hello']);
    expect(result.buffers.map((b) => b.length)).toEqual([3, 2]);
  });

  it('runs one script at a time and times out with HOST_TIMEOUT', async () => {
    const { posted, transport, send } = manual();
    const runner = new PhotopeaScriptRunner(transport, 100);
    const first = runner.run('a();');
    const second = runner.run('b();');
    await Promise.resolve();
    expect(posted).toHaveLength(1);
    await expect(first).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 0));
    expect(posted).toHaveLength(2);
    send('palette:end:1', 'done'); // late answer to the first script: ignored
    send('palette:begin:2', 'palette:error:2:TypeError: boom', 'palette:end:2', 'done');
    await expect(second).rejects.toThrow(/boom/);
  });

  it('maps layer paths across an insertion', () => {
    expect(shiftedByInsert([1, 0], [1, 0])).toEqual([1, 1]);
    expect(shiftedByInsert([2], [1])).toEqual([3]);
    expect(shiftedByInsert([0], [1])).toEqual([0]);
    expect(shiftedByInsert([0, 3], [1, 0])).toEqual([0, 3]);
    expect(shiftedByInsert([1], [1, 0])).toEqual([1]);
  });
});

function kindOf(script: string): string {
  if (script.includes('saveToOE')) return 'export';
  if (script.includes('pl_num(pl_d.width)')) return 'size';
  if (script.includes('pl_isolate(pl_path')) return 'isolate';
  if (script.includes('pl_at(h[i]).visible = true')) return 'restore';
  return 'other';
}


describe('PhotopeaDocument.documentId (the A→B guard in Photopea)', () => {
  const opened = (pp: FakePhotopea, name: string) => {
    const doc = pp.doc = new FakePpDocument(pp, W, H);
    doc.name = name;
    doc.layers = [new FakePpLayer(pp, 'Background', 0, 0, W, H, pattern(W, H, 3, 255))];
    return doc;
  };

  it('marks the document with a generated id, reads it back the same, and another document gets another', async () => {
    const pp = new FakePhotopea();
    const editor = new PhotopeaDocument(pp.transport(), { timeoutMs: 2000, pollMs: 10 });
    expect(await editor.documentId()).toBeNull();
    const a = opened(pp, 'photo.jpg');
    const idA = await editor.documentId();
    expect(idA).toMatch(/^photopea-[a-z0-9]+-[a-z0-9]+$/);
    expect(await editor.documentId()).toBe(idA);
    expect((a as unknown as Record<string, unknown>)[MARKER]).toBe(idA!.replace('photopea-', ''));
    opened(pp, 'photo.jpg'); // B: even with the same name and size
    const idB = await editor.documentId();
    expect(idB).not.toBe(idA);
    pp.doc = a; // switched back to A's tab
    expect(await editor.documentId()).toBe(idA);
    // Resizing the canvas (an extend's Keep) leaves the document the same one.
    a.width += 10;
    expect(await editor.documentId()).toBe(idA);
  });

  it('where Photopea drops properties set on its documents, tells them apart by place and name', async () => {
    const pp = new FakePhotopea();
    pp.dropsExpandos = true;
    const editor = new PhotopeaDocument(pp.transport(), { timeoutMs: 2000, pollMs: 10 });
    opened(pp, 'a.jpg');
    const idA = await editor.documentId();
    expect(await editor.documentId()).toBe(idA); // stable, although every script marks it afresh
    opened(pp, 'b.jpg');
    expect(await editor.documentId()).not.toBe(idA);
  });
});
