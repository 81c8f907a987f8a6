import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../shared/protocol-errors.ts';
import { errorCode, executorChoice, exitCodeFor, parseCommandLine, USAGE, type OptionValues } from '../../../daemon/cli/command-line.ts';
import { DaemonError } from '../../../daemon/errors.ts';
import { REPO_ROOT } from '../../../daemon/model-manifest.ts';

function usageFailure(argv: string[]): DaemonError {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof DaemonError) return error;
    throw error;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parseCommandLine', () => {
  it('reads a command and its options', () => {
    const line = parseCommandLine(['serve', '--port', '9000', '--allow-origin', 'http://a', '--allow-origin', 'http://b', '--allow-host', 'x.lan']);
    expect(line).toMatchObject({ command: 'serve', values: { port: '9000', 'allow-origin': ['http://a', 'http://b'], 'allow-host': ['x.lan'] } });
    expect(parseCommandLine(['check-model', 'dir'])).toMatchObject({ command: 'check-model', positionals: ['dir'] });
  });

  it('reads --batching as a switch, off unless given, and rejects a value for it', () => {
    expect(parseCommandLine(['serve', '--batching'])).toMatchObject({ command: 'serve', values: { batching: true } });
    expect(parseCommandLine(['serve'])).toMatchObject({ command: 'serve', values: { batching: false } });
    expect(usageFailure(['serve', '--batching=yes']).code).toBe('INVALID_ARGUMENT');
    expect(USAGE).toContain('[--batching]');
  });

  it('answers --help, -h and help (alone or after a command) with help', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['serve', '--help'], ['run', '-h']]) {
      expect(parseCommandLine(argv), argv.join(' ')).toEqual({ command: 'help' });
    }
  });

  it('reports usage mistakes as INVALID_ARGUMENT with the usage, never INTERNAL', () => {
    for (const argv of [[], ['frobnicate'], ['serve', '--bogus'], ['serve', '--port'], ['models', '--check=yes']]) {
      const error = usageFailure(argv);
      expect(error.code, argv.join(' ')).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(USAGE);
      expect(exitCodeFor(error)).toBe(2);
    }
    expect(usageFailure(['frobnicate']).message).toMatch(/unknown command "frobnicate"/);
  });

  it('prints stable codes: INTERNAL only for errors Palette did not expect', () => {
    expect(errorCode(new DaemonError('MODEL_NOT_FOUND', 'x'))).toBe('MODEL_NOT_FOUND');
    expect(errorCode(new ProtocolError('UNAUTHORIZED', 'x'))).toBe('UNAUTHORIZED');
    expect(errorCode(new TypeError('x'))).toBe('INTERNAL');
    expect(exitCodeFor(new DaemonError('MODEL_NOT_FOUND', 'x'))).toBe(1);
  });
});

describe('executorChoice', () => {
  const values = (...argv: string[]): OptionValues => {
    const line = parseCommandLine(['serve', ...argv]);
    if (line.command === 'help') throw new Error('help');
    return line.values;
  };

  it('is local by default, and kserve with its URL, model, token and CA', () => {
    expect(executorChoice(values(), {})).toEqual({ kind: 'local' });
    expect(executorChoice(values('--executor', 'kserve', '--kserve-url', 'http://gpu1:8000', '--kserve-model', 'palette', '--kserve-token', 't', '--kserve-ca', 'ca.pem'), {}))
      .toEqual({ kind: 'kserve', urls: ['http://gpu1:8000'], model: 'palette', token: 't', caFile: 'ca.pem' });
    // --kserve-url alone implies the kserve executor; the token may come from the environment.
    expect(executorChoice(values('--kserve-url', 'https://gw'), { PALETTE_KSERVE_TOKEN: 'env' })).toEqual({ kind: 'kserve', urls: ['https://gw'], token: 'env' });
  });

  it('takes --kserve-url more than once as a pool of servers, in the order given', () => {
    expect(executorChoice(values('--kserve-url', 'http://gpu1:8000', '--kserve-url', 'http://gpu2:8000'), {}))
      .toEqual({ kind: 'kserve', urls: ['http://gpu1:8000', 'http://gpu2:8000'] });
  });

  it('is a usage error without a URL, with a bad URL or executor, or with --kserve-* for local', () => {
    for (const argv of [['--executor', 'kserve'], ['--executor', 'kserve', '--kserve-url', 'gpu1:8000'], ['--executor', 'triton'], ['--executor', 'local', '--kserve-model', 'x'],
      ['--kserve-url', 'http://gpu1:8000', '--kserve-url', 'gpu2:8000'], ['--kserve-url', 'http://gpu1:8000', '--kserve-url', 'http://gpu1:8000']]) {
      expect(() => executorChoice(values(...argv), {}), argv.join(' ')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('the palette process', () => {
  const palette = (...args: string[]) =>
    spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPO_ROOT, 'daemon', 'cli', 'palette.ts'), ...args], { encoding: 'utf8', timeout: 30_000 });

  it('palette --help prints the usage on stdout and exits 0; a bad option exits 2 with INVALID_ARGUMENT on stderr', () => {
    const help = palette('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('palette serve');
    expect(help.stderr).toBe('');
    const bad = palette('serve', '--bogus');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^palette: INVALID_ARGUMENT: /);
    expect(bad.stderr).not.toContain('INTERNAL');
  });

  it('palette serve --batching starts the daemon with cross-job batching on, and says so', async () => {
    const serve = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [join(REPO_ROOT, 'daemon', 'cli', 'palette.ts'), 'serve', '--port', '0', '--model', join(REPO_ROOT, 'test', 'fixtures', 'tiny-model'), '--batching'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const listening = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 30 s:\n${out}`)), 30_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('palette daemon listening'));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      };
      serve.stdout.on('data', onData);
      serve.stderr.on('data', onData);
    }).finally(() => serve.kill('SIGTERM'));
    expect(listening).toMatch(/\(default model: tiny-model, cross-job batching on\)$/);
  }, 40_000);

  it('palette serve --executor kserve stops at once, exit 1 with EXECUTOR_UNAVAILABLE, when the server is down', () => {
    const down = palette('serve', '--port', '0', '--model', join(REPO_ROOT, 'test', 'fixtures', 'tiny-model'), '--executor', 'kserve', '--kserve-url', 'http://127.0.0.1:9');
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^palette: EXECUTOR_UNAVAILABLE: cannot reach the inference server at http:\/\/127\.0\.0\.1:9/m);
  });
});
