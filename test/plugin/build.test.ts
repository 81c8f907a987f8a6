/**
 * Build smoke test: scripts/build-plugin.mjs bundles the real entries (plugin/entries) into a temporary
 * folder, and notes entries that are missing instead of failing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

describe('build-plugin', () => {
  // One production build of the real entries serves every check (each build bundles React Spectrum: ~5 s of CPU).
  it('bundles every entry in plugin/entries into web/ and uxp/ with pages, CSS and source maps', () => {
    const out = join(temp, 'real');
    const log = build(['--out', out]);
    expect(log).toContain('3 of 3 entries');
    for (const file of ['web/index.html', 'web/standalone.js', 'web/standalone.css', 'web/standalone.js.map', 'web/photopea.html', 'web/photopea.js', 'web/photopea.css', 'uxp/index.html', 'uxp/index.js', 'uxp/index.css', 'uxp/manifest.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const js = readFileSync(join(out, 'web', 'standalone.js'), 'utf8');
    expect(js).toContain('connection-status'); // the panel is in the bundle
    expect(js).not.toContain('process.env.NODE_ENV'); // defined away for the browser
    expect(log).not.toContain('references files the build did not produce');
    // UXP's page names its bundle ./uxp.js; the copy points at ./index.js.
    expect(readFileSync(join(ROOT, 'plugin', 'entries', 'uxp.html'), 'utf8')).toContain('src="./uxp.js"');
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

});
