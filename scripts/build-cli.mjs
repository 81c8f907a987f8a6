#!/usr/bin/env node
/**
 * Bundles the `palette` CLI with esbuild into plain JavaScript that node runs without tsx:
 *
 *   daemon/cli/palette.ts   → dist/palette.js
 *   daemon/model-worker.ts  → dist/model-worker.js   (model-thread.ts starts it next to its own file)
 *
 * npm packages stay imports (onnxruntime-node and sharp are native). Both files sit one folder below the
 * repository root, as daemon/*.ts do, so REPO_ROOT (model-manifest.ts) and models/ resolve the same.
 * Why: tsx transforms the TypeScript again in every process, ~0.6 s of CPU per start; the evaluation
 * starts `palette run` once per input (palette_eval/product.py builds this when a source is newer).
 *
 * The files are written under a temporary name and renamed into place, so a second build running at
 * the same time (two test workers) never leaves a half-written bundle.
 *
 * Usage: node scripts/build-cli.mjs [--out DIR]   (default dist/; DIR must be one folder below the root)
 */
import * as esbuild from 'esbuild';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex >= 0 ? resolve(process.argv[outIndex + 1] ?? '') : join(ROOT, 'dist');
if (dirname(out) !== ROOT) {
  console.error(`build-cli: --out must be a folder directly under ${ROOT} (REPO_ROOT is the bundle's parent folder)`);
  process.exit(2);
}

const staging = join(out, `.cli-build-${process.pid}`);
mkdirSync(staging, { recursive: true });
try {
  await esbuild.build({
    entryPoints: { palette: join(ROOT, 'daemon', 'cli', 'palette.ts'), 'model-worker': join(ROOT, 'daemon', 'model-worker.ts') },
    outdir: staging,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // The worker first: a palette.js that is already new must find a new worker beside it.
  for (const name of ['model-worker.js.map', 'model-worker.js', 'palette.js.map', 'palette.js']) {
    renameSync(join(staging, name), join(out, name));
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
console.log(`build-cli: ${join(out, 'palette.js')}`);
