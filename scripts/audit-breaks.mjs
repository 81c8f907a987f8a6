#!/usr/bin/env node
/**
 * Audit of issue 15's "breaks": one-line changes of the sources under which a test used to pass
 * vacuously. For each break this applies the change to a copy of the repository, runs only the test
 * file(s) that now guard it, and requires that at least one test fails. A break no test catches means
 * the guard has become vacuous again.
 *
 *   node scripts/audit-breaks.mjs            every break
 *   node scripts/audit-breaks.mjs --only 4   break 4 (all its variants: 4a, 4b); --only 4b for one, --only 1,4b
 *   node scripts/audit-breaks.mjs --list     the breaks, without running anything
 *   --baseline                               also run each break's tests unchanged first: a test that
 *                                            fails anyway proves nothing, so that break counts as missed
 *   --keep                                   leave the copy under /tmp (its path is printed)
 *
 * The working tree itself is never written: other processes (training, evaluation) import its
 * sources while this runs. The copy holds every tracked and untracked, non-ignored file; node_modules
 * and the Python venv are linked in. Exit 0 when every break was caught, 1 when one was not, 2 when a
 * break no longer applies (its search text is not in the file exactly once: a refactor moved it, and
 * the break must be rewritten rather than silently pass).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = 'models/training/.venv/bin/python';
/** Ignored folders the tests need, linked (not copied) into the copy. node_modules is handled apart. */
const LINKED = ['models/training/.venv'];
/** A break whose tests run longer than this counts as not caught (a hang is not a failure). */
const TIMEOUT_MS = 10 * 60_000;

const vitest = (file, filter) => ({ kind: 'vitest', file, filter });
const pytest = (file, filter) => ({ kind: 'pytest', file, filter });

/**
 * `search` must occur exactly once in `file`; a few lines of context are part of it where the changed
 * line alone is not unique. `filter` (vitest -t / pytest -k) keeps slow files to the tests concerned.
 */
const BREAKS = [
  {
    id: '1', title: 'runCommand ignores --connect (both runs go in-process)',
    file: 'daemon/cli/run-command.ts',
    search: '  const collected = args.connect\n',
    replace: '  const collected = false && args.connect\n',
    tests: [vitest('test/daemon/cli/run-command.test.ts', 'in-process and through --connect')],
  },
  {
    id: '2', title: 'resume switched off (checkpoint = None)',
    file: 'models/training/palette_training/train.py',
    search: '    checkpoint = load_checkpoint(ckpt_path) if ckpt_path.exists() else None\n',
    replace: '    checkpoint = None\n',
    tests: [pytest('test/models/training/test_train.py', 'resume')],
  },
  {
    id: '3', title: 'a disconnect does not cancel the client\'s jobs',
    file: 'daemon/session.ts',
    search: '    this.ctx.queue.cancelClient(this.clientId);\n',
    replace: '    // audit break 3: the closed client\'s jobs are left running\n',
    tests: [vitest('test/daemon/server.test.ts', 'a disconnect mid-job')],
  },
  {
    id: '4a', title: 'TASK_NOT_SUPPORTED check removed (the model runs any task)',
    file: 'daemon/generate.ts',
    search: '  if (!model.manifest.tasks.includes(task)) {\n',
    replace: '  if (false && !model.manifest.tasks.includes(task)) {\n',
    tests: [vitest('test/daemon/server.test.ts', 'before queueing')],
  },
  {
    id: '4b', title: 'no model/task check before queueing (only when the job runs)',
    file: 'daemon/session.ts',
    search: '    resolveModel(this.ctx.registry, message.request); // unknown model / task: refuse before queueing\n',
    replace: '    // audit break 4b: the model and task are checked only when the job runs\n',
    tests: [vitest('test/daemon/server.test.ts', 'before queueing|never queued behind it')],
  },
  {
    // Tripling the grow of featherReach() alone only widens the context crop (the alpha is made by
    // featherMask), so the band grows only when both see it: the shared parameters.
    id: '5', title: 'the feathered band grows (grow tripled in featherParams, used by featherReach and featherMask)',
    file: 'daemon/tasks/composite.ts',
    search: '  return { grow: Math.ceil(feather / 2), sigma: feather / 4 };\n',
    replace: '  return { grow: 3 * Math.ceil(feather / 2), sigma: feather / 4 };\n',
    tests: [vitest('test/daemon/tasks/fill.test.ts', 'changes nothing outside the feathered band')],
  },
  {
    id: '6', title: 'alpha not forced to 255 inside the hole',
    file: 'daemon/tasks/composite.ts',
    search: '  for (let i = 0; i < alpha.data.length; i++) if ((hole.data[i] ?? 0) > 0) alpha.data[i] = 255;\n',
    replace: '  // audit break 6: the hole is not forced opaque\n',
    tests: [vitest('test/daemon/tasks/fill.test.ts', 'covers the whole hole')],
  },
  {
    id: '7', title: 'no N(0,1) noise in the hole of x (cond = clean)',
    file: 'daemon/job-runner.ts',
    search: '      const cond = job.hole ? fillHoleWithNoise(clean, job.hole, seeds, plane) : clean;\n',
    replace: '      const cond = clean;\n',
    tests: [vitest('test/daemon/job-runner.test.ts')],
  },
  {
    id: '8', title: 'colorize fed the red channel instead of BT.601 luma',
    file: 'daemon/tasks/colorize.ts',
    search: '    const y = luma601(img.data[p] ?? 0, img.data[p + 1] ?? 0, img.data[p + 2] ?? 0);\n',
    replace: '    const y = img.data[p] ?? 0;\n',
    tests: [vitest('test/daemon/tasks/colorize.test.ts')],
  },
  {
    id: '9', title: 'DDP rank sharding removed (every rank draws rank 0\'s batches)',
    file: 'models/training/palette_training/train.py',
    search: '    data_iter = batches(dataset, step, buckets, d.rank, cfg.num_workers)\n',
    replace: '    data_iter = batches(dataset, step, buckets, 0, cfg.num_workers)\n',
    tests: [pytest('test/models/training/test_train.py', 'ddp')],
  },
  {
    id: '10', title: 'restore: every variant fed the first variant\'s samples',
    file: 'daemon/tasks/restore.ts',
    search: 'accumulate(acc[b]!, samples[t * variants + b]!, placed, width);',
    replace: 'accumulate(acc[b]!, samples[t * variants]!, placed, width);',
    tests: [vitest('test/daemon/tasks/restore.test.ts')],
  },
  {
    id: '11a', title: 'the plugin sends a zeroed mask',
    file: 'plugin/state/request.ts',
    search: "height: selection.height, data: selection.data };",
    replace: "height: selection.height, data: new Uint8Array(selection.data.length) };",
    tests: [vitest('test/plugin/state/request.test.ts'), vitest('test/plugin/ui/controller.test.ts')],
  },
  {
    id: '11b', title: 'the plugin sends a zeroed image',
    file: 'plugin/state/request.ts',
    search: "image: { format: 'rgba8', width: layer.width, height: layer.height, data: layer.data },",
    replace: "image: { format: 'rgba8', width: layer.width, height: layer.height, data: new Uint8Array(layer.data.length) },",
    tests: [vitest('test/plugin/state/request.test.ts'), vitest('test/plugin/ui/controller.test.ts')],
  },
  {
    // msgpackr refuses 0xc1 too, so only a test of scanFrame itself sees this check go.
    id: '12', title: 'scanFrame\'s own check of the byte 0xc1 removed',
    file: 'shared/codec.ts',
    search: '          throw badFrame(`Byte 0xc1 at ${pos - 1} is never used in msgpack.`);\n',
    replace: '          break; // audit break 12\n',
    tests: [vitest('test/shared/codec.test.ts')],
  },
  {
    id: '13', title: 'positions not republished after cancelling a waiting job',
    file: 'daemon/queue.ts',
    search: '    if (removed) this.drop(removed.job);\n    this.publishPositions();\n',
    replace: '    if (removed) this.drop(removed.job);\n    // audit break 13: no publishPositions()\n',
    tests: [vitest('test/daemon/queue.test.ts')],
  },
  {
    // An INVALID_FIELD reply becomes INTERNAL: it reaches the fuzzing client after its last frame.
    id: '14', title: 'malformed frames answered INTERNAL (replies after the client\'s close)',
    file: 'daemon/session.ts',
    search: '    const wire = toProtocolError(error, requestId);\n    if (!wire) this.ctx.log(`session',
    replace: "    const wire = [toProtocolError(error, requestId)].find((w) => w?.code !== 'INVALID_FIELD');\n    if (!wire) this.ctx.log(`session",
    tests: [vitest('test/daemon/server.test.ts', 'survives 1000 random and malformed frames')],
  },
  {
    id: '15a', title: 'the model folder listing returns []',
    file: 'daemon/model-manifest.ts',
    search: '  return readdirSync(root, { withFileTypes: true })\n',
    replace: '  return [] || readdirSync(root, { withFileTypes: true })\n',
    tests: [vitest('test/daemon/model-manifest.test.ts')],
  },
  {
    id: '15b', title: 'the default model\'s sampler steps wrong (20 → 25)',
    file: 'models/palette-small-v5/model.json',
    search: '  "sampler": {\n    "name": "ddim",\n    "steps": 20,\n',
    replace: '  "sampler": {\n    "name": "ddim",\n    "steps": 25,\n',
    tests: [vitest('test/daemon/model-manifest.test.ts')],
  },
  {
    // Where the browser suite is required, a Chromium that is not found must fail, not skip.
    id: '16a', title: 'the Chromium lookup points nowhere (PALETTE_REQUIRE_BROWSER=1)',
    file: 'test/plugin/browser/editor-harness.ts',
    search: "export const CHROMIUM = '/usr/bin/chromium';\n",
    replace: "export const CHROMIUM = '/nonexistent/chromium';\n",
    env: { PALETTE_REQUIRE_BROWSER: '1' },
    tests: [vitest('test/plugin/browser/standalone.browser.test.ts')],
  },
  {
    id: '16b', title: 'GNU time not found (PALETTE_REQUIRE_GNU_TIME=1): peak memory must not be skipped',
    file: 'models/evaluation/palette_eval/speed.py',
    search: 'GNU_TIME = "/usr/bin/time"\n',
    replace: 'GNU_TIME = "/nonexistent/time"\n',
    env: { PALETTE_REQUIRE_GNU_TIME: '1' },
    tests: [pytest('test/models/evaluation/test_speed_smoke.py', 'test_speed_comparison_smoke')],
  },
];

function parseArgs(argv) {
  const args = { only: undefined, list: false, keep: false, baseline: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--list') args.list = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--baseline') args.baseline = true;
    else if (a === '--only') args.only = argv[++i];
    else if (a.startsWith('--only=')) args.only = a.slice('--only='.length);
    else throw new Error(`unknown argument ${a} (--only N, --list, --baseline, --keep)`);
  }
  if (args.list === false && argv.includes('--only') && !args.only) throw new Error('--only needs a break number');
  return args;
}

/** "4" selects 4a and 4b; "4b" selects 4b alone; "1,4b" both. */
function selectBreaks(only) {
  if (only === undefined) return BREAKS;
  const wanted = only.split(',').map((w) => w.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !BREAKS.some((b) => b.id === w || b.id.replace(/[a-z]$/, '') === w));
  if (unknown.length > 0 || wanted.length === 0) throw new Error(`no break ${unknown.join(', ') || only}: ${BREAKS.map((b) => b.id).join(', ')}`);
  return BREAKS.filter((b) => wanted.some((w) => b.id === w || b.id.replace(/[a-z]$/, '') === w));
}

function occurrences(text, search) {
  let count = 0;
  for (let at = text.indexOf(search); at >= 0; at = text.indexOf(search, at + 1)) count++;
  return count;
}

/** Every break must still apply before any test runs, so a stale one fails at once and loudly. */
function checkSearchTexts(breaks) {
  const stale = [];
  for (const b of breaks) {
    const path = join(ROOT, b.file);
    const n = existsSync(path) ? occurrences(readFileSync(path, 'utf8'), b.search) : -1;
    if (n !== 1) stale.push(`break ${b.id}: ${b.file}: ${n < 0 ? 'the file is missing' : `the search text is found ${n} times, not once`}:\n${b.search}`);
  }
  return stale;
}

/** Tracked files plus untracked ones git does not ignore, as the working tree has them now. */
function repositoryFiles() {
  const out = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`git ls-files failed: ${out.stderr}`);
  return [...new Set(out.stdout.split('\0').filter(Boolean))];
}

function copyEntry(rel, copy) {
  const from = join(ROOT, rel);
  let stat;
  try {
    stat = lstatSync(from);
  } catch {
    return; // deleted in the working tree but still tracked
  }
  const to = join(copy, rel);
  mkdirSync(dirname(to), { recursive: true });
  if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else if (stat.isFile()) copyFileSync(from, to); // a real copy: a mutation must never reach ROOT
}

/**
 * node_modules becomes a real folder of links, so caches the tools write there (vite's) stay in the
 * copy; the packages themselves resolve to the working tree's.
 */
function linkNodeModules(copy) {
  const dir = join(copy, 'node_modules');
  mkdirSync(dir);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '.vite' || name === '.vitest') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, name));
  }
}

function makeCopy() {
  const copy = mkdtempSync(join(tmpdir(), 'palette-breaks-'));
  for (const rel of repositoryFiles()) copyEntry(rel, copy);
  linkNodeModules(copy);
  for (const rel of LINKED) {
    if (!existsSync(join(ROOT, rel))) continue;
    mkdirSync(dirname(join(copy, rel)), { recursive: true });
    symlinkSync(join(ROOT, rel), join(copy, rel));
  }
  return copy;
}

/** Runs one command niced, in its own process group so a timeout ends all of it. */
function runNiced(command, args, { cwd, env, logPath }) {
  return new Promise((done) => {
    const child = spawn('nice', ['-n', '10', command, ...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[audit] killed after ${TIMEOUT_MS / 1000} s\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      writeFileSync(logPath, output);
      done({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

/** Failing test names from vitest's JSON report; load errors are not a test catching the break. */
function vitestFailures(reportPath, output) {
  if (!existsSync(reportPath)) return { failed: [], errors: [`no JSON report (${lastLine(output)})`], ran: 0 };
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const failed = [];
  const errors = [];
  for (const file of report.testResults ?? []) {
    const failedHere = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedHere) failed.push(a.fullName ?? [...(a.ancestorTitles ?? []), a.title].join(' > '));
    if (file.status === 'failed' && failedHere.length === 0) errors.push(`suite failed: ${(file.message ?? '').split('\n')[0]}`);
  }
  return { failed, errors, ran: (report.numPassedTests ?? 0) + (report.numFailedTests ?? 0) };
}

/** pytest -rfE prints one "FAILED node - reason" / "ERROR node" line per test in its summary. */
function pytestFailures(output) {
  const failed = [];
  const errors = [];
  for (const line of output.split('\n')) {
    const f = /^FAILED (\S+)/.exec(line);
    if (f) failed.push(f[1].replace(/^.*::/, ''));
    const e = /^ERROR (\S+)/.exec(line);
    if (e) errors.push(`error in ${e[1]}`);
  }
  const summary = output.split('\n').filter((l) => / in [\d.]+s/.test(l)).pop() ?? '';
  const ran = [...summary.matchAll(/(\d+) (passed|failed)/g)].reduce((n, m) => n + Number(m[1]), 0);
  return { failed, errors, ran };
}

function lastLine(text) {
  return text.trim().split('\n').pop()?.slice(0, 200) ?? '';
}

/** A filter that matches nothing (a renamed test) would make a break look uncaught for the wrong reason. */
async function runTest(test, copy, env, tag) {
  const r = await runTestOnce(test, copy, env, tag);
  if (r.ran === 0) r.errors.push(`no test of ${test.file} ran${test.filter ? ` (does "${test.filter}" still match one?)` : ''}`);
  return r;
}

async function runTestOnce(test, copy, env, tag) {
  const logPath = join(copy, `.audit-${tag}.log`);
  if (test.kind === 'vitest') {
    const reportPath = join(copy, `.audit-${tag}.json`);
    rmSync(reportPath, { force: true });
    const args = ['vitest', 'run', test.file, '--reporter=dot', '--reporter=json', `--outputFile.json=${reportPath}`];
    if (test.filter) args.push('-t', test.filter);
    const { code, output } = await runNiced('npx', args, { cwd: copy, env, logPath });
    return { code, ...vitestFailures(reportPath, output), logPath };
  }
  const args = ['-m', 'pytest', test.file, '-q', '-rfE', '-p', 'no:cacheprovider'];
  if (test.filter) args.push('-k', test.filter);
  // No .pyc: a mutated and a restored file can share a size and an mtime second.
  const { code, output } = await runNiced(join(copy, PYTHON), args, { cwd: copy, env: { ...env, PYTHONDONTWRITEBYTECODE: '1' }, logPath });
  return { code, ...pytestFailures(output), logPath };
}

/** Applies the break in the copy, runs its tests, and puts the file back whatever happens. */
async function auditBreak(b, copy, baseline) {
  const path = join(copy, b.file);
  if (lstatSync(path).isSymbolicLink()) throw new Error(`${b.file} is a link in the copy: writing it could reach ${ROOT}`);
  const original = readFileSync(path, 'utf8');
  if (occurrences(original, b.search) !== 1) throw new Error(`break ${b.id}: the search text is not in the copy's ${b.file} exactly once`);
  const started = performance.now();
  const env = { ...process.env, ...(b.env ?? {}), FORCE_COLOR: '0', NO_COLOR: '1' };
  const failsUnbroken = [];
  if (baseline) {
    for (const [i, test] of b.tests.entries()) {
      const r = await runTest(test, copy, env, `${b.id}-unbroken-${i}`);
      if (r.code !== 0) failsUnbroken.push(`${test.file} fails without the break (${r.failed.join('; ') || r.errors.join('; ') || `exit ${r.code}`})`);
    }
  }
  const runs = [];
  try {
    writeFileSync(path, original.replace(b.search, () => b.replace));
    for (const [i, test] of b.tests.entries()) runs.push({ test, ...(await runTest(test, copy, env, `${b.id}-${i}`)) });
  } finally {
    writeFileSync(path, original);
  }
  const failed = runs.flatMap((r) => r.failed.map((name) => `${r.test.file.split('/').pop()}: ${name}`));
  const errors = [...failsUnbroken, ...runs.flatMap((r) => r.errors)];
  // Caught: a non-zero exit because a test failed, not because the file would not load or run,
  // and (with --baseline) not because it fails anyway.
  const caught = failsUnbroken.length === 0 && runs.some((r) => r.code !== 0 && r.failed.length > 0);
  return { b, caught, failed, errors, seconds: (performance.now() - started) / 1000, logs: runs.map((r) => r.logPath) };
}

function printList(breaks) {
  for (const b of breaks) {
    const tests = b.tests.map((t) => `${t.file}${t.filter ? ` (${t.kind === 'vitest' ? '-t' : '-k'} "${t.filter}")` : ''}`).join(', ');
    const env = b.env ? ` [${Object.entries(b.env).map(([k, v]) => `${k}=${v}`).join(' ')}]` : '';
    console.log(`${b.id.padEnd(4)} ${b.title}\n     change ${b.file}; run ${tests}${env}`);
  }
}

function printTable(results) {
  const header = ['break', 'file changed', 'time', 'test(s) that caught it'];
  const rows = results.map((r) => [
    r.b.id,
    r.b.file,
    `${r.seconds.toFixed(0)} s`,
    r.caught ? r.failed.join('; ') : `NOT CAUGHT${r.errors.length ? ` (${r.errors.join('; ')})` : r.failed.length ? '' : ': every test passed'}`,
  ]);
  // The last column is free text; the others are padded to line up.
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join(' | ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const breaks = selectBreaks(args.only);
  if (args.list) return printList(breaks);
  const stale = checkSearchTexts(breaks);
  if (stale.length > 0) {
    console.error(`audit-breaks: ${stale.length} break(s) no longer apply; rewrite them against the current sources:\n\n${stale.join('\n\n')}`);
    process.exitCode = 2;
    return;
  }
  const t0 = performance.now();
  const copy = makeCopy();
  console.log(`copy of the repository: ${copy}`);
  const results = [];
  try {
    for (const b of breaks) {
      process.stdout.write(`break ${b.id}: ${b.title} ... `);
      const r = await auditBreak(b, copy, args.baseline);
      console.log(`${r.caught ? 'caught' : 'NOT CAUGHT'} (${r.seconds.toFixed(0)} s)${r.caught ? '' : `; logs: ${r.logs.join(', ')}`}`);
      results.push(r);
    }
  } finally {
    if (!args.keep && results.every((r) => r.caught)) rmSync(copy, { recursive: true, force: true });
    else console.log(`kept the copy and its test logs: ${copy}`);
  }
  console.log('');
  printTable(results);
  const missed = results.filter((r) => !r.caught);
  console.log(`\n${results.length - missed.length}/${results.length} breaks caught in ${((performance.now() - t0) / 1000).toFixed(0)} s` +
    (missed.length ? `; not caught: ${missed.map((r) => r.b.id).join(', ')}` : ''));
  if (missed.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`audit-breaks: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
