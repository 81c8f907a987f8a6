/**
 * The standalone editor's view in real headless Chromium: zoom about the cursor (Ctrl+wheel, +/−),
 * pan (space-drag, middle-drag), Fit / 100 %, smooth scaling below 100 %, the brush on a
 * 24-megapixel photo (time per move measured and logged), selection modes and keys, keyboard
 * reachability, export formats and names, and the layout at 1280×720. Screenshots at 1280×720 and
 * 1920×1080 go to test-output/browser/ (and PALETTE_SHOTS_DIR when set). Skipped without Chromium.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../daemon/model-manifest.ts';
import { browserAvailable, openEditor, type EditorSession } from './editor-harness.ts';

const SHOTS = [join(REPO_ROOT, 'test-output', 'browser'), ...(process.env['PALETTE_SHOTS_DIR'] ? [process.env['PALETTE_SHOTS_DIR']] : [])];

/** A photo-like gradient, or a 1-pixel checkerboard (which shows whether downscaling averages). */
async function writeImage(path: string, width: number, height: number, pattern: 'gradient' | 'checker', format: 'png' | 'jpeg'): Promise<string> {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      if (pattern === 'checker') {
        rgb.fill((x + y) % 2 ? 255 : 0, i, i + 3);
      } else {
        rgb[i] = (x * 255) / width; rgb[i + 1] = (y * 255) / height; rgb[i + 2] = 128 + 100 * Math.sin(x / 37 + y / 23);
      }
    }
  }
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  writeFileSync(path, await (format === 'png' ? image.png({ compressionLevel: 1 }) : image.jpeg({ quality: 85 })).toBuffer());
  return path;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe.skipIf(!browserAvailable)('standalone editor view in Chromium', () => {
  let editor: EditorSession;
  let page: Page;
  let tmp: string;
  const photos: Record<'small' | 'checker' | 'big', string> = { small: '', checker: '', big: '' };

  beforeAll(async () => {
    for (const dir of SHOTS) mkdirSync(dir, { recursive: true });
    editor = await openEditor({ tmpPrefix: 'palette-view-', viewport: { width: 1280, height: 720 }, acceptDownloads: true });
    ({ page, tmp } = editor);
    photos.small = await writeImage(join(tmp, 'photo.png'), 96, 64, 'gradient', 'png');
    photos.checker = await writeImage(join(tmp, 'checker.png'), 1600, 1200, 'checker', 'png');
    photos.big = await writeImage(join(tmp, 'big-24mp.jpg'), 6000, 4000, 'gradient', 'jpeg');
  }, 180_000);

  afterAll(async () => editor?.close());

  const shot = async (name: string) => {
    const [first, ...rest] = SHOTS;
    const path = join(first!, `${name}.png`);
    await page.screenshot({ path });
    for (const dir of rest) writeFileSync(join(dir, `${name}.png`), readFileSync(path));
  };
  const docSize = () => page.evaluate(() => window.__paletteEditor!.documentSize());
  const bounds = () => page.evaluate(() => window.__paletteEditor!.selectionBounds());
  const frame = async () => (await page.getByTestId('document-frame').boundingBox())!;

  async function open(path: string, width: number, height: number): Promise<void> {
    await page.getByTestId('open-file').setInputFiles(path);
    await expect.poll(docSize, { timeout: 60_000 }).toEqual({ width, height });
    await expect.poll(async () => (await frame())?.width ?? 0).toBeGreaterThan(0);
  }

  /** Document coordinates under a page point, from the document's on-screen box. */
  async function documentPointAt(x: number, y: number, width: number): Promise<{ x: number; y: number; scale: number }> {
    const box = await frame();
    const scale = box.width / width;
    return { x: (x - box.x) / scale, y: (y - box.y) / scale, scale };
  }

  /** Drags from one document point to another (document pixels = CSS pixels at 100 %). */
  async function drag(from: [number, number], to: [number, number], modifier?: 'Shift' | 'Alt'): Promise<void> {
    const box = await frame();
    const s = box.width / (await docSize()).width;
    if (modifier) await page.keyboard.down(modifier);
    await page.mouse.move(box.x + from[0] * s, box.y + from[1] * s);
    await page.mouse.down();
    await page.mouse.move(box.x + to[0] * s, box.y + to[1] * s, { steps: 4 });
    await page.mouse.up();
    if (modifier) await page.keyboard.up(modifier);
  }

  it('shows a small photo at 100 % (no upscaling) and averages a large one below 100 %', async () => {
    await open(photos.small, 96, 64);
    expect(await page.getByTestId('zoom-level').innerText()).toBe('100 %');
    expect((await frame()).width).toBe(96);
    await open(photos.checker, 1600, 1200);
    const zoom = (await documentPointAt(0, 0, 1600)).scale;
    expect(zoom).toBeLessThan(1);
    // A 1-pixel checkerboard scaled down must come out grey, not as aliased black and white.
    const box = await frame();
    const extremes = await page.evaluate(({ x, y }) => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="editor-canvas"]')!;
      const rect = canvas.getBoundingClientRect();
      const data = canvas.getContext('2d')!.getImageData(Math.round(x - rect.left), Math.round(y - rect.top), 40, 40).data;
      let far = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! < 60 || data[i]! > 195) far++;
      return far / (data.length / 4);
    }, { x: box.x + box.width / 2, y: box.y + box.height / 2 });
    expect(extremes).toBeLessThan(0.05);
  }, 90_000);

  it('zooms about the cursor with Ctrl+wheel and +/−, pans with space-drag and middle-drag, and has Fit / 100 %', async () => {
    const W = 1600;
    const cursor = { x: 400, y: 300 };
    await page.mouse.move(cursor.x, cursor.y);
    const before = await documentPointAt(cursor.x, cursor.y, W);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -300);
    await page.keyboard.up('Control');
    await expect.poll(async () => (await documentPointAt(cursor.x, cursor.y, W)).scale).toBeGreaterThan(before.scale * 1.2);
    const afterWheel = await documentPointAt(cursor.x, cursor.y, W);
    // The document point under the cursor stays under it (within a CSS pixel).
    expect(Math.abs(afterWheel.x - before.x) * afterWheel.scale).toBeLessThan(1);
    expect(Math.abs(afterWheel.y - before.y) * afterWheel.scale).toBeLessThan(1);

    await page.keyboard.press('+');
    const afterPlus = await documentPointAt(cursor.x, cursor.y, W);
    expect(afterPlus.scale / afterWheel.scale).toBeCloseTo(Math.SQRT2, 3);
    expect(Math.abs(afterPlus.x - before.x) * afterPlus.scale).toBeLessThan(1);
    await page.keyboard.press('-');
    expect((await documentPointAt(cursor.x, cursor.y, W)).scale).toBeCloseTo(afterWheel.scale, 5);

    // Space-drag and middle-drag move the document with the pointer.
    const start = await frame();
    await page.keyboard.down(' ');
    await page.mouse.down();
    await page.mouse.move(cursor.x + 60, cursor.y + 40, { steps: 3 });
    await page.mouse.up();
    await page.keyboard.up(' ');
    const panned = await frame();
    expect(panned.x - start.x).toBeCloseTo(60, 2);
    expect(panned.y - start.y).toBeCloseTo(40, 2);
    expect(await bounds()).toBeNull(); // panning selected nothing
    await page.mouse.move(cursor.x, cursor.y);
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(cursor.x - 30, cursor.y - 20, { steps: 3 });
    await page.mouse.up({ button: 'middle' });
    const middle = await frame();
    expect(middle.x - panned.x).toBeCloseTo(-30, 2);
    expect(middle.y - panned.y).toBeCloseTo(-20, 2);

    await page.getByTestId('zoom-100').click();
    expect(await page.getByTestId('zoom-level').innerText()).toBe('100 %');
    expect((await frame()).width).toBe(W);
    await shot('view-100-percent-1280x720');
    await page.getByTestId('zoom-fit').click();
    const fitted = await frame();
    const area = (await page.locator('.canvas-area').boundingBox())!;
    expect(fitted.x).toBeGreaterThanOrEqual(area.x);
    expect(fitted.y + fitted.height).toBeLessThanOrEqual(area.y + area.height);
  }, 60_000);

  it('brushes on a 24-megapixel photo at interactive speed (time per move logged)', async () => {
    await open(photos.big, 6000, 4000);
    await page.getByTestId('tool-brush').click();
    await page.getByTestId('brush-size').fill('60');
    // Per move: input handling (capture → bubble listener) plus the frame's drawing (a rAF callback
    // registered before the view's and one after it), and the latency to the painted frame.
    await page.evaluate(() => {
      const probe = { work: [] as number[], latency: [] as number[], start: 0, handled: 0, before: 0 };
      (window as unknown as { __probe: typeof probe }).__probe = probe;
      window.addEventListener('pointermove', () => {
        probe.start = performance.now();
        requestAnimationFrame(() => { probe.before = performance.now(); });
      }, { capture: true });
      window.addEventListener('pointermove', () => {
        probe.handled = performance.now();
        requestAnimationFrame(() => {
          const end = performance.now();
          probe.work.push(probe.handled - probe.start + (end - probe.before));
          probe.latency.push(end - probe.start);
        });
      });
    });
    const box = await frame();
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3);
    await page.mouse.down();
    const moves = 30;
    for (let i = 1; i <= moves; i++) {
      await page.mouse.move(box.x + box.width * (0.2 + (0.6 * i) / moves), box.y + box.height * (0.3 + 0.2 * Math.sin(i / 4)));
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    }
    await page.mouse.up();
    const probe = await page.evaluate(() => (window as unknown as { __probe: { work: number[]; latency: number[] } }).__probe);
    const work = probe.work.slice(1); // the first includes starting the stroke
    console.log(`brush on 6000×4000 (24 MP), ${work.length} moves: work per move median ${median(work).toFixed(1)} ms, max ${Math.max(...work).toFixed(1)} ms; `
      + `latency to painted frame median ${median(probe.latency).toFixed(1)} ms, max ${Math.max(...probe.latency).toFixed(1)} ms`);
    const stroke = (await bounds())!;
    expect(stroke.width).toBeGreaterThan(6000 * 0.55);
    // The target is 50 ms; the bound is generous because this shared 2-core machine may be busy.
    expect(median(work)).toBeLessThan(150);
    await shot('view-brush-24mp-1280x720');
  }, 180_000);

  it('shows the marching ants zoomed out to fit a 6000×4000 photo: black and white dashes on the edge', async () => {
    // Opened by the brush test already (opening it again would land after the selection below).
    if ((await docSize()).width !== 6000) await open(photos.big, 6000, 4000);
    await page.getByTestId('tool-rect').click();
    await page.getByTestId('zoom-fit').click();
    const box = await frame();
    const scale = box.width / 6000;
    expect(scale).toBeLessThan(0.2);
    await page.evaluate(() => window.__paletteEditor!.setSelectionRect(1500, 1000, 3000, 2000));
    await page.waitForTimeout(400); // a frame (and an ant phase) later
    // A strip 6 screen px wide across the left edge, over the middle half of its height.
    const edge = await page.evaluate(({ x, top, bottom }) => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="editor-canvas"]')!;
      const rect = canvas.getBoundingClientRect();
      const ratio = canvas.width / rect.width;
      const data = canvas.getContext('2d')!.getImageData(Math.round((x - 3 - rect.left) * ratio), Math.round((top - rect.top) * ratio),
        Math.round(6 * ratio), Math.round((bottom - top) * ratio)).data;
      let dark = 0, light = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
        if (r < 40 && g < 40 && b < 40) dark++;
        if (r > 215 && g > 215 && b > 215) light++;
      }
      return { dark, light, pixels: data.length / 4 };
    }, { x: box.x + 1500 * scale, top: box.y + 1500 * scale, bottom: box.y + 2500 * scale });
    console.log(`ants at ${(scale * 100).toFixed(1)} %: ${edge.dark} dark and ${edge.light} light of ${edge.pixels} pixels across the edge`);
    await shot('view-ants-zoomed-out-1280x720');
    // About one screen pixel of the six is the ants' line, half of it dark and half light.
    expect(edge.dark / edge.pixels).toBeGreaterThan(0.04);
    expect(edge.light / edge.pixels).toBeGreaterThan(0.04);
    await page.keyboard.press('Control+d');
  }, 120_000);

  it('adds with Shift, subtracts with Alt, selects all / inverts / deselects by key, and the brush erases with Alt', async () => {
    await open(photos.small, 96, 64);
    await page.getByTestId('tool-rect').click();
    await drag([10, 10], [30, 30]);
    expect(await bounds()).toEqual({ x: 10, y: 10, width: 20, height: 20 });
    await drag([50, 20], [70, 40], 'Shift');
    expect(await bounds()).toEqual({ x: 10, y: 10, width: 60, height: 30 });
    await drag([45, 15], [75, 45], 'Alt');
    expect(await bounds()).toEqual({ x: 10, y: 10, width: 20, height: 20 });
    await page.getByTestId('mode-add').click();
    await drag([40, 40], [50, 50]);
    expect(await bounds()).toEqual({ x: 10, y: 10, width: 40, height: 40 });
    await page.getByTestId('mode-replace').click();

    await page.getByTestId('editor-canvas').focus();
    await page.keyboard.press('Control+a');
    expect(await bounds()).toEqual({ x: 0, y: 0, width: 96, height: 64 });
    await page.keyboard.press('Control+Shift+I');
    expect(await bounds()).toBeNull();
    await page.keyboard.press('Control+Shift+I');
    expect(await bounds()).toEqual({ x: 0, y: 0, width: 96, height: 64 });
    await page.keyboard.press('Escape');
    expect(await bounds()).toBeNull();
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Control+d');
    expect(await bounds()).toBeNull();

    await page.keyboard.press('Control+a');
    await page.getByTestId('tool-brush').click();
    await page.getByTestId('brush-size').fill('200');
    await drag([48, 32], [49, 32], 'Alt'); // a brush bigger than the photo erases all of it
    expect(await bounds()).toBeNull();
    await page.getByTestId('brush-size').fill('24');
    await page.mouse.move(300, 300);
    expect(await page.getByTestId('brush-outline').isVisible()).toBe(true);
    await shot('view-selection-1280x720');
  }, 60_000);

  it('reaches Open… and every control by keyboard, each with an accessible name', async () => {
    let reached = false;
    // Tab onwards from wherever the last test left focus, round the page, until Open… has it.
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'open-button');
    }
    expect(reached).toBe(true);
    // Enter on Open… must activate the hidden file input. Waiting for Chromium's file chooser proved
    // flaky under a loaded machine (the event never came in one full-suite run), so the test records
    // the input's activation itself and then hands it the file.
    await page.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>('[data-testid="open-file"]')!;
      input.addEventListener('click', (event) => { event.preventDefault(); input.dataset.activated = 'yes'; }, { once: true });
    });
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('open-file').getAttribute('data-activated')).toBe('yes');
    await page.getByTestId('open-file').setInputFiles(photos.small);
    await expect.poll(docSize).toEqual({ width: 96, height: 64 });
    await expect(page.getByRole('img', { name: /Document photo, 96 × 64 pixels/ }).count()).resolves.toBe(1);
    const unnamed = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('#editor button, #editor input, #editor select, #editor canvas')]
      .filter((el) => !(el instanceof HTMLInputElement && el.type === 'file'))
      .filter((el) => {
        const labelled = el.getAttribute('aria-label') || (el as HTMLInputElement).labels?.[0]?.textContent || el.textContent;
        return !labelled?.trim() || el.tabIndex < 0;
      })
      .map((el) => el.outerHTML.slice(0, 80)));
    expect(unnamed).toEqual([]);
  }, 60_000);

  it('exports PNG, JPEG (with quality) and WebP named after the document', async () => {
    const save = async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-button').click()]);
      return { name: download.suggestedFilename(), bytes: readFileSync((await download.path())!) };
    };
    const png = await save();
    expect(png.name).toBe('photo.png');
    expect((await sharp(png.bytes).metadata()).format).toBe('png');
    await page.getByTestId('export-format').selectOption('jpeg');
    await page.getByTestId('export-quality').fill('95');
    const fine = await save();
    await page.getByTestId('export-quality').fill('30');
    const coarse = await save();
    expect(fine.name).toBe('photo.jpg');
    expect((await sharp(fine.bytes).metadata()).format).toBe('jpeg');
    expect(coarse.bytes.length).toBeLessThan(fine.bytes.length);
    await page.getByTestId('export-format').selectOption('webp');
    const webp = await save();
    expect(webp.name).toBe('photo.webp');
    expect((await sharp(webp.bytes).metadata()).format).toBe('webp');
    await page.getByTestId('export-format').selectOption('png');
  }, 60_000);

  it('fits 1280×720 (Variants, Generate and Keep above the fold) and 1920×1080', async () => {
    for (const viewport of [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }]) {
      await page.setViewportSize(viewport);
      await open(photos.checker, 1600, 1200);
      for (const id of ['variants-input', 'generate-button', 'keep-button', 'keep-all-button', 'export-button', 'zoom-fit', 'tool-brush']) {
        const box = (await page.getByTestId(id).first().boundingBox())!;
        expect(box, id).toBeTruthy();
        expect(box.y + box.height, `${id} at ${viewport.width}×${viewport.height}`).toBeLessThanOrEqual(viewport.height);
        expect(box.x + box.width, `${id} at ${viewport.width}×${viewport.height}`).toBeLessThanOrEqual(viewport.width);
      }
      await expect(page.getByText(/No prompt needed/).count()).resolves.toBeGreaterThan(0);
      await shot(`view-layout-${viewport.width}x${viewport.height}`);
    }
    expect(editor.pageErrors).toEqual([]);
  }, 90_000);
});
