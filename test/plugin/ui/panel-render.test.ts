/**
 * The panel rendered to HTML (react-dom/server, no DOM needed) in the states the browser tests
 * drive, to hold the data-testid contract: every id is there, on the right kind of element.
 * React Spectrum imports CSS files, so the panel is bundled with esbuild (CSS dropped) first.
 */
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialState, reduce } from '../../../plugin/state/reducer.ts';
import type { PanelAction } from '../../../plugin/state/actions.ts';
import { bannerFor, PanelError } from '../../../plugin/state/banners.ts';
import type { PanelState } from '../../../plugin/state/types.ts';
import { WELCOME } from '../connection/fake-daemon.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const temp = mkdtempSync(join(tmpdir(), 'palette-render-'));
let render: (state: PanelState) => string;

beforeAll(async () => {
  const entry = join(temp, 'entry.tsx');
  writeFileSync(
    entry,
    `import { renderToString } from 'react-dom/server';
import { Provider, defaultTheme } from '@adobe/react-spectrum';
import { Panel } from ${JSON.stringify(join(ROOT, 'plugin/ui/panel.tsx'))};
import { PanelContext } from ${JSON.stringify(join(ROOT, 'plugin/ui/panel-context.ts'))};
export function render(state) {
  const store = { getState: () => state, subscribe: () => () => {}, dispatch: () => {} };
  return renderToString(<Provider theme={defaultTheme} colorScheme="dark"><PanelContext.Provider value={{ store, controller: {}, connection: {} }}><Panel /></PanelContext.Provider></Provider>);
}`,
  );
  const out = join(temp, 'render.mjs');
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    jsx: 'automatic',
    loader: { '.css': 'empty' },
    nodePaths: [join(ROOT, 'node_modules')],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  ({ render } = (await import(pathToFileURL(out).href)) as { render: typeof render });
}, 120_000);
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** data-testid → the tag of the element carrying it. */
function testIds(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<(\w+)[^>]*?data-testid="([^"]+)"/g)].map((m) => [m[2]!, m[1]!]));
}

const URL = 'ws://127.0.0.1:7860/';
const PNG = { format: 'png' as const, width: 4, height: 4, data: new Uint8Array([0x89, 0x50]) };
const run = (actions: PanelAction[], state = initialState(URL)) => actions.reduce(reduce, state);

describe('panel data-testids', () => {
  it('idle and connected: status, tasks, settings, buttons, history', () => {
    const state = run([{ type: 'connection/connected', url: URL, welcome: { ...WELCOME } }]);
    const html = render(state);
    const ids = testIds(html);
    expect(html).toMatch(/data-testid="connection-status"[^>]*>[\s\S]*?Connected/);
    for (const id of ['task-fill', 'task-colorize', 'task-extend', 'task-restore', 'generate-button', 'cancel-button', 'keep-button', 'keep-all-button']) {
      expect(ids.get(id), id).toBe('button');
    }
    expect(ids.get('variants-input')).toBe('input');
    expect(ids.get('seed-lock')).toBe('input'); // the Switch's checkbox
    expect(ids.get('quality-picker')).toBe('div');
    expect(ids.get('quality-fast')).toBe('input');
    expect(ids.get('history-list')).toBe('ul');
    expect(ids.has('error-banner')).toBe(false);
    expect(ids.has('progress-bar')).toBe(false);
  });

  it('extend settings: side toggles and the amount input', () => {
    const state = run([{ type: 'task/select', task: 'extend' }]);
    const ids = testIds(render(state));
    for (const side of ['left', 'right', 'top', 'bottom']) expect(ids.get(`extend-${side}`)).toBe('button');
    expect(ids.get('extend-amount')).toBe('input');
  });

  it('running with a preview and finished variants: progress bar, preview image, variant thumbnails', () => {
    const state = run([
      { type: 'connection/connected', url: URL, welcome: { ...WELCOME } },
      { type: 'job/preparing', task: 'fill', at: 0 },
      { type: 'job/sent', requestId: 'r1', task: 'fill', variants: 3, canvasOffset: { x: 0, y: 0 }, at: 0 },
      { type: 'daemon/event', at: 0, message: { type: 'started', id: 'r1', model: 'm', sampler: 'ddim', steps: 20, seeds: [1, 2, 3], variants: 3 } },
      { type: 'daemon/event', at: 0, message: { type: 'progress', id: 'r1', step: 20, total: 20, etaMs: 0, label: '' } },
      { type: 'daemon/event', at: 0, message: { type: 'preview', id: 'r1', step: 20, images: [PNG, PNG, PNG] } },
      { type: 'daemon/event', at: 0, message: { type: 'result', id: 'r1', variant: 0, seed: 1, layer: { x: 0, y: 0, image: PNG }, canvas: { width: 4, height: 4 } } },
      { type: 'daemon/event', at: 0, message: { type: 'result', id: 'r1', variant: 1, seed: 2, layer: { x: 0, y: 0, image: PNG }, canvas: { width: 4, height: 4 } } },
    ]);
    const ids = testIds(render(state));
    expect(ids.get('progress-bar')).toBe('div');
    expect(ids.get('preview-image')).toBe('img');
    expect(ids.get('variant-0')).toBe('button');
    expect(ids.get('variant-1')).toBe('button');
    expect(ids.has('variant-2')).toBe(false); // still sampling: a placeholder, not clickable
  });

  it('banner and offline status', () => {
    const state = run([
      { type: 'connection/offline', url: URL, reason: 'unreachable', attempt: 1, nextRetryAt: null, at: 0 },
      { type: 'banner/show', banner: bannerFor(new PanelError('NO_SELECTION', 'x')) },
    ]);
    const html = render(state);
    expect(testIds(html).get('error-banner')).toBe('div');
    expect(html).toContain('Make a selection first');
    expect(html).toMatch(/data-testid="connection-status"[^>]*>[\s\S]*?No daemon/);
  });
});
