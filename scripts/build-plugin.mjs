#!/usr/bin/env node
/**
 * Bundles the editor plugin with esbuild, one bundle per host entry in plugin/entries/:
 *
 *   standalone.tsx → <out>/web/standalone.js (+ .css), standalone.html → <out>/web/index.html
 *   photopea.tsx   → <out>/web/photopea.js   (+ .css), photopea.html   → <out>/web/photopea.html
 *   uxp.tsx        → <out>/uxp/index.js      (+ .css), uxp.html        → <out>/uxp/index.html,
 *                    and the repository's manifest.json → <out>/uxp/manifest.json
 *
 * A missing entry is skipped with a note. Each page references its bundle as ./<name>.js and
 * ./<name>.css; for UXP those references are rewritten to ./index.js and ./index.css in the copy.
 * An empty CSS file is written when a bundle has no CSS, so the reference never 404s. A folder plugin/entries/<name>-assets/ (icons…), when
 * present, is copied next to the page.
 *
 * Usage: node scripts/build-plugin.mjs [--out DIR] [--entries DIR] [--dev]
 *   --out DIR      output root (default: dist/); its web/ and uxp/ folders are replaced
 *   --entries DIR  where the entries are (default: plugin/entries/)
 *   --dev          no minification, NODE_ENV=development
 */
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where each entry goes: output folder, bundle name, page name. */
const TARGETS = [
  { name: 'standalone', dir: 'web', bundle: 'standalone', page: 'index.html' },
  { name: 'photopea', dir: 'web', bundle: 'photopea', page: 'photopea.html' },
  // UXP provides these modules through its own require(); they must stay calls, not bundles.
  { name: 'uxp', dir: 'uxp', bundle: 'index', page: 'index.html', external: ['photoshop', 'uxp', 'fs', 'os', 'path'], manifest: true },
];

function parseArgs(argv) {
  const args = { out: join(ROOT, 'dist'), entries: join(ROOT, 'plugin', 'entries'), dev: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return resolve(next);
    };
    if (arg === '--out') args.out = value();
    else if (arg === '--entries') args.entries = value();
    else if (arg === '--dev') args.dev = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('Usage: node scripts/build-plugin.mjs [--out DIR] [--entries DIR] [--dev]');
      process.exit(0);
    } else throw new Error(`Unknown argument: ${arg}`);
  }
  return args;
}

function kib(path) {
  return `${(statSync(path).size / 1024).toFixed(0)} KiB`;
}

/** Warns about ./x.js / ./x.css references in a page that the build did not produce. */
function checkPageReferences(pagePath, outDir) {
  const html = readFileSync(pagePath, 'utf8');
  const missing = [];
  for (const match of html.matchAll(/(?:src|href)\s*=\s*["']\.\/([^"'?#]+)["']/g)) {
    const file = match[1];
    if (file && !existsSync(join(outDir, file))) missing.push(file);
  }
  return missing;
}

async function buildTarget(target, args) {
  const entry = [`${target.name}.tsx`, `${target.name}.ts`].map((f) => join(args.entries, f)).find((f) => existsSync(f));
  if (!entry) return { target, skipped: `no ${relative(ROOT, join(args.entries, `${target.name}.tsx`))}` };
  const outDir = join(args.out, target.dir);
  mkdirSync(outDir, { recursive: true });

  await esbuild.build({
    entryPoints: { [target.bundle]: entry },
    outdir: outDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    minify: !args.dev,
    sourcemap: true,
    define: { 'process.env.NODE_ENV': JSON.stringify(args.dev ? 'development' : 'production') },
    external: target.external ?? [],
    loader: { '.png': 'file', '.svg': 'file', '.woff': 'file', '.woff2': 'file', '.ttf': 'file' },
    assetNames: 'assets/[name]-[hash]',
    legalComments: 'linked',
    logLevel: 'warning',
  });

  const css = join(outDir, `${target.bundle}.css`);
  if (!existsSync(css)) writeFileSync(css, '/* no styles */\n');

  const notes = [];
  const html = join(args.entries, `${target.name}.html`);
  const page = join(outDir, target.page);
  if (existsSync(html)) {
    // The page may name its bundle after the entry (./uxp.js) where the output is ./index.js.
    const text = readFileSync(html, 'utf8');
    const rewritten = target.bundle === target.name
      ? text
      : text.replace(new RegExp(`(["'])\\./${target.name}\\.(js|css)(["'?#])`, 'g'), `$1./${target.bundle}.$2$3`);
    if (rewritten !== text) notes.push(`${target.name}.html: ./${target.name}.js/.css rewritten to ./${target.bundle}.js/.css`);
    writeFileSync(page, rewritten);
  } else {
    notes.push(`no ${target.name}.html: wrote a minimal page`);
    writeFileSync(
      page,
      `<!doctype html>\n<html><head><meta charset="utf-8"><title>Palette</title>` +
        `<link rel="stylesheet" href="./${target.bundle}.css"></head>\n` +
        `<body><div id="root"></div><script src="./${target.bundle}.js"></script></body></html>\n`,
    );
  }
  const assets = join(args.entries, `${target.name}-assets`);
  if (existsSync(assets)) cpSync(assets, outDir, { recursive: true });
  if (target.manifest) {
    const manifest = join(ROOT, 'manifest.json');
    if (existsSync(manifest)) cpSync(manifest, join(outDir, 'manifest.json'));
    else notes.push('no manifest.json at the repository root: not copied');
  }
  const missing = checkPageReferences(page, outDir);
  if (missing.length > 0) notes.push(`${target.page} references files the build did not produce: ${missing.join(', ')}`);
  return { target, outDir, page, js: join(outDir, `${target.bundle}.js`), notes };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  for (const dir of new Set(TARGETS.map((t) => t.dir))) rmSync(join(args.out, dir), { recursive: true, force: true });
  const results = await Promise.all(TARGETS.map((target) => buildTarget(target, args)));
  let built = 0;
  for (const r of results) {
    if (r.skipped) {
      console.log(`build: skipped ${r.target.name} (${r.skipped})`);
      continue;
    }
    built++;
    console.log(`build: ${r.target.name} → ${relative(process.cwd(), r.page)} + ${relative(process.cwd(), r.js)} (${kib(r.js)})`);
    for (const note of r.notes) console.log(`build:   note: ${note}`);
  }
  console.log(`build: ${built} of ${TARGETS.length} entries in ${Date.now() - started} ms${args.dev ? ' (dev)' : ''}`);
}

main().catch((error) => {
  console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
