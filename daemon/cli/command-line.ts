/**
 * The `palette` command line's grammar: options, usage text, and how a mistake in it is reported.
 * Kept apart from palette.ts (which runs on import) so the rules are tested without a process.
 *
 * Exit codes: 0 success (and `--help`), 1 a failure while working, 2 a usage error. A usage error is
 * always INVALID_ARGUMENT, never INTERNAL: INTERNAL means a bug in Palette.
 */
import { parseArgs } from 'node:util';
import { ProtocolError } from '../../shared/protocol-errors.ts';
import { DaemonError } from '../errors.ts';
import type { ExecutorChoice } from '../model-registry.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../server.ts';

export const OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  check: { type: 'boolean', default: false },
  batching: { type: 'boolean', default: false },
  size: { type: 'string' },
  batch: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  device: { type: 'string' },
  model: { type: 'string' },
  token: { type: 'string' },
  threads: { type: 'string' },
  'allow-origin': { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  task: { type: 'string' },
  image: { type: 'string' },
  mask: { type: 'string' },
  'mask-mode': { type: 'string' },
  extend: { type: 'string' },
  variants: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  sampler: { type: 'string' },
  strength: { type: 'string' },
  'working-size': { type: 'string' },
  out: { type: 'string' },
  connect: { type: 'string' },
  executor: { type: 'string' },
  'kserve-url': { type: 'string', multiple: true },
  'kserve-model': { type: 'string' },
  'kserve-token': { type: 'string' },
  'kserve-ca': { type: 'string' },
} as const;

export const COMMANDS = ['serve', 'run', 'models', 'check-model'] as const;
export type Command = (typeof COMMANDS)[number];

export const USAGE = `usage:
  palette serve [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--device auto|cpu|cuda|webgpu] [--model NAME|DIR] [--token T] [--threads N]
                [--allow-origin URL]... [--allow-host NAME]... [--batching]
                [--executor local|kserve --kserve-url http://HOST:PORT [--kserve-url ...] [--kserve-model NAME] [--kserve-token T] [--kserve-ca CA.pem]]
                (--batching: merge concurrent jobs' model calls of batch-invariant models; faster where a bigger batch is cheaper per sample)
                (several --kserve-url: a pool, one call per server at once, a server that is down skipped)
  palette run --task fill|colorize|uncrop|restore --image IN [--mask MASK.png [--mask-mode threshold|strength]] [--extend left=0.5,top=128]
              [--variants 4 (restore: 1)] [--steps S] [--seed K] [--sampler ancestral|ddim|dpmpp-2m] [--strength 0.5] [--working-size PX] --out DIR [--model NAME|DIR] [--connect ws://HOST:PORT]
              [--executor local|kserve --kserve-url URL [--kserve-url ...] [--kserve-model NAME] [--kserve-token T] [--kserve-ca CA.pem]]
  palette models [--check]
  palette check-model DIR [--size N] [--batch B]
  palette --help`;

type Parsed = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>;
export type OptionValues = Parsed['values'];

export type CommandLine =
  | { command: 'help' }
  | { command: Command; values: OptionValues; positionals: string[] };

function usageError(problem: string): DaemonError {
  return new DaemonError('INVALID_ARGUMENT', `${problem}\n${USAGE}`);
}

/** argv without the node and script names → a command and its options, or INVALID_ARGUMENT. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const [command, ...rest] = argv;
  if (command === undefined) throw usageError('no command given');
  if (command === '--help' || command === '-h' || command === 'help') return { command: 'help' };
  if (!(COMMANDS as readonly string[]).includes(command)) throw usageError(`unknown command ${JSON.stringify(command)}`);
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: [...rest], allowPositionals: true, options: OPTIONS });
  } catch (error) {
    // node:util's parse errors (unknown option, missing value) are the user's, not Palette's.
    throw usageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help) return { command: 'help' };
  return { command: command as Command, values: parsed.values, positionals: parsed.positionals };
}

/**
 * --executor and its --kserve-* options → where model calls run. The token may come from
 * PALETTE_KSERVE_TOKEN instead, so it need not appear in the process list.
 */
export function executorChoice(values: OptionValues, env: NodeJS.ProcessEnv = process.env): ExecutorChoice {
  const kind = values.executor ?? (values['kserve-url'] ? 'kserve' : 'local');
  const kserveOnly = (['kserve-url', 'kserve-model', 'kserve-token', 'kserve-ca'] as const).filter((k) => values[k] !== undefined);
  if (kind === 'local') {
    if (kserveOnly.length > 0) throw usageError(`--${kserveOnly[0]} needs --executor kserve`);
    return { kind: 'local' };
  }
  if (kind !== 'kserve') throw usageError(`--executor must be local or kserve, got ${JSON.stringify(kind)}`);
  const urls = values['kserve-url'] ?? [];
  if (urls.length === 0) throw usageError('--executor kserve needs --kserve-url http://HOST:PORT');
  for (const url of urls) {
    if (!/^https?:\/\//.test(url)) throw usageError(`--kserve-url must start with http:// or https://, got ${JSON.stringify(url)}`);
  }
  if (new Set(urls).size !== urls.length) throw usageError(`--kserve-url given twice: ${urls.join(' ')}`);
  const token = values['kserve-token'] ?? env.PALETTE_KSERVE_TOKEN;
  return {
    kind: 'kserve',
    urls,
    ...(values['kserve-model'] ? { model: values['kserve-model'] } : {}),
    ...(token ? { token } : {}),
    ...(values['kserve-ca'] ? { caFile: values['kserve-ca'] } : {}),
  };
}

/** The stable code printed for an error: INTERNAL only for errors Palette did not expect. */
export function errorCode(error: unknown): string {
  return error instanceof DaemonError || error instanceof ProtocolError ? error.code : 'INTERNAL';
}

export function exitCodeFor(error: unknown): number {
  return errorCode(error) === 'INVALID_ARGUMENT' ? 2 : 1;
}
