/**
 * The standalone editor end to end, in real headless Chromium against the real daemon (in-process,
 * tiny fixture model): open a photo, select, Fill with variants, Keep, Colorize, Extend, Cancel, and
 * a daemon restart. Screenshots of each step go to test-output/browser/. Skipped when Chromium is
 * not installed at /usr/bin/chromium.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../daemon/model-manifest.ts';
import { browserAvailable, BUILD_SCRIPT, CHROMIUM, openEditor, type EditorSession } from './editor-harness.ts';

const SHOTS = join(REPO_ROOT, 'test-output', 'browser');
const W = 96;
const H = 64;

interface Photo { path: string; rgba: Uint8Array }

async function writePhoto(dir: string, name: string, width: number, height: number, gray: boolean): Promise<Photo> {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const r = (x * 255) / width, g = (y * 255) / height, b = 128 + 100 * Math.sin(x / 7 + y / 5);
      const v = gray ? 0.299 * r + 0.587 * g + 0.114 * b : 0;
      rgb[i] = Math.round(gray ? v : r); rgb[i + 1] = Math.round(gray ? v : g); rgb[i + 2] = Math.round(gray ? v : b);
    }
  }
  const path = join(dir, name);
  writeFileSync(path, await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer());
  const rgba = new Uint8Array(await sharp(path).ensureAlpha().raw().toBuffer());
  return { path, rgba };
}

// Where the browser suite must run (CI, or PALETTE_REQUIRE_BROWSER=1), a missing prerequisite is a
// failure, not a silent skip.
const browserRequired = Boolean(process.env['CI'] || process.env['PALETTE_REQUIRE_BROWSER']);
it.runIf(browserRequired)('has Chromium and the build script where the browser suite is required', () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install chromium`).toBe(true);
  expect(existsSync(BUILD_SCRIPT), `${BUILD_SCRIPT} is missing`).toBe(true);
});

describe.skipIf(!browserAvailable)('standalone editor in Chromium', () => {
  let editor: EditorSession;
  let page: Page;
  let photo: Photo;
  let grayPhoto: Photo;
  let bigPhoto: Photo;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    editor = await openEditor({ tmpPrefix: 'palette-browser-', viewport: { width: 1280, height: 800 } });
    page = editor.page;
    // This walk-through opens the next photo over kept layers; the confirm before replacing unsaved
    // work is answered yes here (never-lose-work.browser.test.ts tests the dialog itself).
    page.on('dialog', (dialog) => void dialog.accept());
    photo = await writePhoto(editor.tmp, 'photo.png', W, H, false);
    grayPhoto = await writePhoto(editor.tmp, 'gray.png', W, H, true);
    bigPhoto = await writePhoto(editor.tmp, 'big.png', 384, 256, false);
  }, 180_000);

  afterAll(async () => editor?.close());

  const shot = (step: string) => page.screenshot({ path: join(SHOTS, `${step}.png`) });
  const status = () => page.getByTestId('connection-status');
  const layers = () => page.evaluate(() => window.__paletteEditor!.layers());
  const layerPixels = async (i: number) => Uint8Array.from(await page.evaluate((index) => Array.from(window.__paletteEditor!.layerPixels(index)), i));
  const historyCount = () => page.locator('[data-testid="history-list"] li[data-outcome]').count();

  /** Opens a photo and waits until it is the document (one layer named after the file: "one layer" alone
   * also held for the previous photo, before the new one had loaded). */
  async function open(file: Photo): Promise<void> {
    await page.getByTestId('open-file').setInputFiles(file.path);
    const name = basename(file.path, extname(file.path));
    await expect.poll(async () => (await layers()).map((l) => l.name)).toEqual([name]);
  }

  async function chooseTask(task: 'fill' | 'colorize' | 'extend' | 'restore', variants: number, quality: 'fast' | 'balanced' | 'best'): Promise<void> {
    await page.getByTestId(`task-${task}`).click();
    await page.getByTestId('variants-input').fill(String(variants));
    await page.getByTestId(`quality-${quality}`).check({ force: true });
  }

  /** Generate and wait for the job to end; returns every preview-image src shown while it ran. */
  async function generate(): Promise<string[]> {
    const before = await historyCount();
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __previewSources: string[] }).__previewSources = seen;
      const record = () => {
        const src = document.querySelector('[data-testid="preview-image"]')?.getAttribute('src');
        if (src && seen[seen.length - 1] !== src) seen.push(src);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
    });
    await page.getByTestId('generate-button').click();
    await expect.poll(historyCount, { timeout: 120_000, interval: 100 }).toBe(before + 1);
    const outcome = await page.locator('[data-testid="history-list"] li[data-outcome]').first().getAttribute('data-outcome');
    if (outcome !== 'done') {
      const banner = await page.getByTestId('error-banner').innerText({ timeout: 1000 }).catch(() => '(no banner)');
      throw new Error(`generation ended "${outcome}": ${banner}`);
    }
    return page.evaluate(() => (window as unknown as { __previewSources: string[] }).__previewSources.slice());
  }

  const previewSrc = () => page.getByTestId('preview-image').getAttribute('src');

  async function keep(variant: number): Promise<void> {
    const count = (await layers()).length;
    const label = page.getByTestId('keep-button');
    if (!((await label.innerText()).includes(`variant ${variant + 1}`))) await page.getByTestId(`variant-${variant}`).click();
    await expect.poll(() => label.innerText()).toContain(`variant ${variant + 1}`);
    await label.click();
    await expect.poll(async () => (await layers()).length, { timeout: 20_000 }).toBe(count + 1);
  }

  it('serves the editor and connects the panel to the daemon', async () => {
    await expect.poll(async () => status().innerText(), { timeout: 30_000 }).toContain('Connected');
    await open(photo);
    expect(await layers()).toEqual([{ name: 'photo', x: 0, y: 0, width: W, height: H, visible: true }]);
    expect(Buffer.from(await layerPixels(0)).equals(Buffer.from(photo.rgba))).toBe(true);
    await shot('01-open');
  }, 60_000);

  it('selects a rectangle by dragging with the rectangle tool', async () => {
    await page.getByTestId('tool-rect').click();
    const box = (await page.getByTestId('document-frame').boundingBox())!;
    const client = (x: number, y: number) => [box.x + (x * box.width) / W, box.y + (y * box.height) / H] as const;
    await page.mouse.move(...client(30, 20));
    await page.mouse.down();
    await page.mouse.move(...client(45, 30), { steps: 4 });
    await page.mouse.move(...client(60, 44), { steps: 4 });
    await page.mouse.up();
    const bounds = (await page.evaluate(() => window.__paletteEditor!.selectionBounds()))!;
    expect(Math.abs(bounds.x - 30)).toBeLessThanOrEqual(1);
    expect(Math.abs(bounds.y - 20)).toBeLessThanOrEqual(1);
    expect(Math.abs(bounds.width - 30)).toBeLessThanOrEqual(1);
    expect(Math.abs(bounds.height - 24)).toBeLessThanOrEqual(1);
    await shot('02-select');
  }, 30_000);

  it('fills the selection with 3 variants and keeps variant 2 as a layer that changes only the selection', async () => {
    await chooseTask('fill', 3, 'best');
    const sources = await generate();
    expect(sources.length).toBeGreaterThan(1); // live refinements, then the first result
    await page.getByTestId('variant-2').waitFor({ state: 'visible' });
    await shot('03-fill-done');
    await page.getByTestId('variant-2').click();
    await expect.poll(previewSrc).not.toBe(sources[sources.length - 1]);
    const third = await previewSrc();
    await page.getByTestId('variant-1').click();
    await expect.poll(previewSrc).not.toBe(third);
    await keep(1);
    await shot('04-fill-kept');
    const [base, kept] = await layers();
    expect(kept!.name).toMatch(/fill/i);
    const pixels = await layerPixels(1);
    const bounds = (await page.evaluate(() => window.__paletteEditor!.selectionBounds()))!;
    const margin = 16; // grow + feather
    let changedInside = 0;
    for (let y = 0; y < kept!.height; y++) {
      for (let x = 0; x < kept!.width; x++) {
        const dx = kept!.x + x, dy = kept!.y + y;
        const i = (y * kept!.width + x) * 4;
        if (dx < 0 || dy < 0 || dx >= base!.width || dy >= base!.height || pixels[i + 3] === 0) continue;
        const p = (dy * W + dx) * 4;
        const differs = [0, 1, 2].some((c) => Math.abs(pixels[i + c]! - photo.rgba[p + c]!) > 2);
        if (!differs) continue;
        const inside = dx >= bounds.x - margin && dx < bounds.x + bounds.width + margin
          && dy >= bounds.y - margin && dy < bounds.y + bounds.height + margin;
        expect(inside, `pixel (${dx}, ${dy}) changed outside the selection`).toBe(true);
        if (dx >= bounds.x && dx < bounds.x + bounds.width && dy >= bounds.y && dy < bounds.y + bounds.height) changedInside++;
      }
    }
    expect(changedInside).toBeGreaterThan(bounds.width * bounds.height * 0.25);
    expect(Buffer.from(await layerPixels(0)).equals(Buffer.from(photo.rgba))).toBe(true); // the photo itself is untouched
  }, 180_000);

  it('colorizes a grayscale photo into a new layer', async () => {
    await open(grayPhoto);
    await chooseTask('colorize', 1, 'fast');
    await generate();
    await keep(0);
    const colour = await layerPixels(1);
    const chroma = Array.from({ length: W * H }, (_, i) => Math.max(colour[i * 4]!, colour[i * 4 + 1]!, colour[i * 4 + 2]!)
      - Math.min(colour[i * 4]!, colour[i * 4 + 1]!, colour[i * 4 + 2]!));
    // The tiny model gives > 97 % of the pixels a chroma above 16 (measured, 5 seeds): half above 8 is
    // a colourised image, not one stray pixel.
    expect(chroma.filter((c) => c > 8).length).toBeGreaterThan(0.5 * W * H);
    await shot('05-colorize');
  }, 180_000);

  it('extends the canvas to the right by 50 % and fills the new area with a layer', async () => {
    await open(photo);
    await chooseTask('extend', 1, 'fast');
    for (const side of ['left', 'right', 'top', 'bottom']) {
      const toggle = page.getByTestId(`extend-${side}`);
      if (((await toggle.getAttribute('aria-pressed')) === 'true') !== (side === 'right')) await toggle.click();
    }
    await page.getByTestId('extend-amount').fill('50');
    await generate();
    await keep(0);
    expect(await page.evaluate(() => window.__paletteEditor!.documentSize())).toEqual({ width: W * 1.5, height: H });
    const [base, extension] = await layers();
    expect(base).toMatchObject({ x: 0, y: 0, width: W, height: H });
    expect(extension!.x).toBeLessThanOrEqual(W);
    expect(extension!.x + extension!.width).toBeGreaterThanOrEqual(W * 1.5);
    const pixels = await layerPixels(1);
    for (let y = 0; y < H; y += 7) {
      for (let x = W; x < W * 1.5; x += 5) {
        expect(pixels[((y - extension!.y) * extension!.width + (x - extension!.x)) * 4 + 3]).toBe(255);
      }
    }
    await shot('06-extend');
  }, 180_000);

  it('cancels a long generation mid-run', async () => {
    await open(bigPhoto);
    await chooseTask('restore', 4, 'best');
    const before = await historyCount();
    await page.getByTestId('generate-button').click();
    await page.getByTestId('progress-bar').waitFor({ state: 'visible', timeout: 30_000 });
    await shot('07-running');
    await page.getByTestId('cancel-button').click();
    await expect.poll(historyCount, { timeout: 60_000 }).toBe(before + 1);
    const outcome = await page.locator('[data-testid="history-list"] li[data-outcome]').first().getAttribute('data-outcome');
    expect(outcome).toBe('cancelled');
    await expect.poll(() => page.getByTestId('generate-button').isEnabled()).toBe(true);
    await shot('08-cancelled');
  }, 120_000);

  it('selects with the lasso and the brush, clears the selection, hides a layer and exports a PNG', async () => {
    await open(photo);
    const box = (await page.getByTestId('document-frame').boundingBox())!;
    const client = (x: number, y: number) => [box.x + (x * box.width) / W, box.y + (y * box.height) / H] as const;
    const bounds = () => page.evaluate(() => window.__paletteEditor!.selectionBounds());

    await page.getByTestId('tool-lasso').click();
    await page.mouse.move(...client(10, 10));
    await page.mouse.down();
    for (const [x, y] of [[40, 12], [38, 40], [12, 36]] as const) await page.mouse.move(...client(x, y), { steps: 3 });
    await page.mouse.up();
    const lasso = (await bounds())!;
    expect(lasso.x).toBeGreaterThanOrEqual(9);
    expect(lasso.x + lasso.width).toBeLessThanOrEqual(41);
    await shot('11-lasso');

    await page.getByTestId('select-none').click();
    expect(await bounds()).toBeNull();
    await page.getByTestId('tool-brush').click();
    await page.getByTestId('brush-size').fill('10');
    await page.mouse.move(...client(60, 30));
    await page.mouse.down();
    await page.mouse.move(...client(80, 30), { steps: 5 });
    await page.mouse.up();
    const stroke = (await bounds())!;
    expect(stroke.height).toBeGreaterThanOrEqual(9);
    expect(stroke.width).toBeGreaterThanOrEqual(28);
    await shot('12-brush');

    await page.getByTestId('layer-visible-0').uncheck();
    expect((await layers())[0]!.visible).toBe(false);
    await page.getByTestId('layer-visible-0').check();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-button').click()]);
    expect(download.suggestedFilename()).toBe('photo.png');
    const exported = await sharp(await download.path()).ensureAlpha().raw().toBuffer();
    expect(Buffer.from(exported).equals(Buffer.from(photo.rgba))).toBe(true);
  }, 60_000);

  it('reconnects after the daemon restarts on the same port', async () => {
    await editor.stopDaemon();
    await expect.poll(async () => status().innerText(), { timeout: 30_000 }).toMatch(/Reconnecting|No daemon/);
    await shot('09-daemon-down');
    await editor.startDaemonAgain();
    await expect.poll(async () => status().innerText(), { timeout: 60_000 }).toContain('Connected');
    await shot('10-reconnected');
    expect(editor.pageErrors).toEqual([]);
  }, 120_000);
});
