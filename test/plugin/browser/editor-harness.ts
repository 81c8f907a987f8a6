/**
 * The standalone editor in real headless Chromium against the real daemon (in-process, the tiny
 * fixture model), for the browser suites: the plugin built once for all suites (plugin-build-cache.ts),
 * the daemon serving it, one page open on it, a temporary folder for the suite's files. Debian's chromium driven by playwright-core (`npx playwright
 * install` cannot work on these machines); a suite is skipped where it is missing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../../daemon/model-registry.ts';
import { startServer, type RunningServer } from '../../../daemon/server.ts';
import { builtPlugin } from './plugin-build-cache.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'build-plugin.mjs');
export const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');
export const browserAvailable = existsSync(CHROMIUM) && existsSync(BUILD_SCRIPT);

export interface EditorSession {
  /** A temporary folder (suites write their photos here). */
  tmp: string;
  browser: Browser;
  page: Page;
  /** The daemon now serving (a new one after startDaemonAgain). */
  readonly server: RunningServer;
  /** Uncaught errors of the page: a suite expects none. */
  pageErrors: string[];
  stopDaemon(): Promise<void>;
  /** A new daemon on the port of the stopped one (the panel must reconnect by itself). */
  startDaemonAgain(): Promise<void>;
  close(): Promise<void>;
}

export async function openEditor(options: {
  tmpPrefix: string;
  viewport: { width: number; height: number };
  acceptDownloads?: boolean;
  /** The daemon's variants per model call (default 8): lower splits small batches into sub-batches. */
  maxBatch?: number;
}): Promise<EditorSession> {
  const tmp = mkdtempSync(join(tmpdir(), options.tmpPrefix));
  const webRoot = join(await builtPlugin(), 'web');
  const registry = ModelRegistry.scan({ root: join(tmp, 'no-models'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });
  const start = (port: number) => startServer({ host: '127.0.0.1', port, registry, webRoot, log: () => undefined,
    ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}) });
  let server = await start(0);
  let port = server.port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
  const page = await browser.newPage({ viewport: options.viewport, acceptDownloads: options.acceptDownloads ?? true });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${port}/`);
  let serving = true;
  return {
    tmp, browser, page, pageErrors,
    get server() { return server; },
    stopDaemon: async () => {
      port = server.port;
      serving = false;
      await server.close();
    },
    startDaemonAgain: async () => {
      server = await start(port);
      serving = true;
    },
    close: async () => {
      await browser.close();
      if (serving) await server.close();
      await registry.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
