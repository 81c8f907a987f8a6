/**
 * Starts and stops models/serving/triton_server.py (tritonserver from the nvidia-pytriton wheel, on
 * 127.0.0.1 with free ports) as a child process. Shared by the Triton end-to-end test and
 * `npm run bench` (bench/cross-job-batching.ts), so both start the server the same way.
 *
 * The server runs in its own process group, so a stop also ends the tritonserver it spawned. If this
 * process dies without stop(), the server still goes: it stops when its stdin closes, and an 'exit'
 * hook kills its group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';

/** The venv `bash models/serving/setup-triton-venv.sh` makes (Debian's python3; see its header). */
export const TRITON_PYTHON = join(REPO_ROOT, 'models', 'serving', '.venv-triton', 'bin', 'python');
const SERVER = join(REPO_ROOT, 'models', 'serving', 'triton_server.py');

export interface TritonOptions {
  modelDir: string;
  /** onnxruntime intra-op threads inside the server; default 1. */
  threads?: number;
  /** How long to wait for PALETTE_TRITON_READY; default 120 s (the first start unpacks the wheel's server). */
  readyTimeoutMs?: number;
}

export interface TritonProcess {
  /** http://127.0.0.1:PORT, for KServeExecutor. */
  readonly url: string;
  /** Everything the server printed so far (stdout and stderr), for failure messages. */
  log(): string;
  /** Stops the server and its tritonserver; resolves when it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export const tritonVenvExists = (): boolean => existsSync(TRITON_PYTHON);

/** Kills the whole process group; false when it is already gone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-child.pid!, signal);
    return true;
  } catch {
    return false;
  }
}

export async function startTriton(options: TritonOptions): Promise<TritonProcess> {
  if (!tritonVenvExists()) {
    throw new Error(`no ${TRITON_PYTHON}: run bash models/serving/setup-triton-venv.sh (npm run test:triton does)`);
  }
  const child = spawn(TRITON_PYTHON, [SERVER, '--model-dir', options.modelDir, '--threads', String(options.threads ?? 1)],
    { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  // process.on('exit') runs only synchronous code: SIGKILL the group so no tritonserver outlives us.
  const onExit = () => void (child.exitCode === null && killGroup(child, 'SIGKILL'));
  process.on('exit', onExit);
  child.once('exit', () => process.off('exit', onExit));

  const stop = async (): Promise<void> => {
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end(); // the server stops when its stdin closes
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`Triton not ready in ${timeoutMs / 1000} s:\n${log.slice(-3000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const ready = /PALETTE_TRITON_READY (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (ready?.[1]) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`triton_server.py exited (${code}) before it was ready:\n${log.slice(-3000)}`));
    });
  });
  return { url, log: () => log, stop };
}
