/**
 * Build smoke test: scripts/build-plugin.mjs bundles each entry into a temporary folder. It uses
 * fixture entries (so it does not depend on plugin/entries being there yet), then, when the real
 * entries exist, builds those too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'build-plugin.mjs');
const temp = mkdtempSync(join(tmpdir(), 'palette-build-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function build(args: string[]): string {
  return execFileSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

const ENTRY = (host: string) => `
import { mountPanel } from ${JSON.stringify(join(ROOT, 'plugin', 'ui', 'mount.tsx'))};
const editor = { host: ${JSON.stringify(host)} } as never;
mountPanel(document.getElementById('root')!, editor, { daemonUrl: 'ws://127.0.0.1:7860/' });
`;
const PAGE = (bundle: string) =>
  `<!doctype html><html><head><link rel="stylesheet" href="./${bundle}.css"></head><body><div id="root"></div><script src="./${bundle}.js"></script></body></html>`;

describe('build-plugin', () => {
  it('bundles every entry into web/ and uxp/ with pages, CSS and source maps', () => {
    const entries = join(temp, 'entries');
    const out = join(temp, 'out');
    mkdirSync(entries);
    for (const name of ['standalone', 'photopea', 'uxp']) {
      writeFileSync(join(entries, `${name}.tsx`), ENTRY(name === 'uxp' ? 'photoshop' : name));
      writeFileSync(join(entries, `${name}.html`), PAGE(name));
    }
    const log = build(['--out', out, '--entries', entries]);
    expect(log).toContain('3 of 3 entries');
    for (const file of ['web/index.html', 'web/standalone.js', 'web/standalone.css', 'web/standalone.js.map', 'web/photopea.html', 'web/photopea.js', 'web/photopea.css', 'uxp/index.html', 'uxp/index.js', 'uxp/index.css']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const js = readFileSync(join(out, 'web', 'standalone.js'), 'utf8');
    expect(js).toContain('connection-status'); // the panel is in the bundle
    expect(js).not.toContain('process.env.NODE_ENV'); // defined away for the browser
    expect(log).not.toContain('references files the build did not produce');
    // UXP's page names its bundle ./uxp.js; the copy points at ./index.js.
    const uxpPage = readFileSync(join(out, 'uxp', 'index.html'), 'utf8');
    expect(uxpPage).toContain('src="./index.js"');
    expect(uxpPage).toContain('href="./index.css"');
  }, 180_000);

  it('skips missing entries with a note instead of failing', () => {
    const entries = join(temp, 'empty');
    mkdirSync(entries);
    const log = build(['--out', join(temp, 'out-empty'), '--entries', entries]);
    expect(log).toContain('skipped standalone');
    expect(log).toContain('skipped uxp');
    expect(log).toContain('0 of 3 entries');
  });

  it.skipIf(!existsSync(join(ROOT, 'plugin', 'entries')))('builds the real entries in plugin/entries', () => {
    const out = join(temp, 'real');
    const log = build(['--out', out]);
    expect(log).toMatch(/build: \d of 3 entries/);
    for (const [name, file] of [['standalone', 'web/standalone.js'], ['photopea', 'web/photopea.js'], ['uxp', 'uxp/index.js']] as const) {
      if (existsSync(join(ROOT, 'plugin', 'entries', `${name}.tsx`))) expect(existsSync(join(out, file)), file).toBe(true);
    }
  }, 180_000);
});
