/**
 * One development build of the plugin for all browser suites: ~5 s of CPU (esbuild bundling React
 * Spectrum) that three suites paid each. The build lands in node_modules/.cache/palette-browser-plugin/
 * under a hash of everything it is made from (plugin/, shared/, the build script, package-lock.json),
 * so a change to any of them builds again and an unchanged tree reuses the last build.
 *
 * Suites run in parallel forks: the first to come takes a lock (an exclusive mkdir) and builds into a
 * staging folder renamed into place; the others wait for the finished folder. A lock left by a killed
 * process only delays: after LOCK_WAIT_MS a waiting suite builds by itself.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../daemon/model-manifest.ts';

const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'build-plugin.mjs');
const INPUTS = ['plugin', 'shared', 'scripts/build-plugin.mjs', 'package-lock.json', 'manifest.json'];
const LOCK_WAIT_MS = 120_000;

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

/** The hash of the build's inputs: each file's path and bytes. */
export function pluginInputsHash(root = REPO_ROOT): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of filesUnder(join(root, input))) {
      hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The folder of a development build of the current sources (its web/ is what the daemon serves). */
export async function builtPlugin(cacheRoot = join(REPO_ROOT, 'node_modules', '.cache', 'palette-browser-plugin')): Promise<string> {
  const key = pluginInputsHash();
  const done = join(cacheRoot, key);
  if (existsSync(done)) return done;
  mkdirSync(cacheRoot, { recursive: true });
  const lock = join(cacheRoot, `${key}.lock`);
  let locked = false;
  try {
    mkdirSync(lock);
    locked = true;
  } catch {
    for (const until = Date.now() + LOCK_WAIT_MS; Date.now() < until; await sleep(200)) {
      if (existsSync(done)) return done;
    }
  }
  try {
    const staging = join(cacheRoot, `${key}.staging-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    await promisify(execFile)(process.execPath, [BUILD_SCRIPT, '--out', staging, '--dev'], { cwd: REPO_ROOT });
    try {
      renameSync(staging, done);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true }); // another process finished first: its build is the same
      if (!existsSync(done)) throw error;
    }
    // Builds of older sources are never used again.
    for (const name of readdirSync(cacheRoot)) {
      if (!name.startsWith(key)) rmSync(join(cacheRoot, name), { recursive: true, force: true });
    }
    return done;
  } finally {
    if (locked) rmSync(lock, { recursive: true, force: true });
  }
}
