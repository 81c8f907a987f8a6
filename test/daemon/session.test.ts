import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeFrame, decodeServerMessage, encodeMessage } from '../../shared/codec.ts';
import { DEFAULT_LIMITS, type ClientMessage, type GenerateRequest, type ServerMessage } from '../../shared/protocol.ts';
import { DaemonError, type DaemonErrorCode } from '../../daemon/errors.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { ModelScheduler } from '../../daemon/model-scheduler.ts';
import { FairQueue } from '../../daemon/queue.ts';
import { Session, toProtocolError } from '../../daemon/session.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

/** A socket that decodes what the session sends and records how it was closed. */
class FakeSocket {
  readonly messages: ServerMessage[] = [];
  /** The frames as sent: the validator drops fields a client does not know (welcome's queue bounds). */
  readonly frames: Uint8Array[] = [];
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;
  send(data: Uint8Array): void {
    this.frames.push(data);
    this.messages.push(decodeServerMessage(data));
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }
  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }
}

function fillRequest(steps: number, seeds?: number[]): GenerateRequest {
  const width = 32;
  const height = 32;
  const mask = new Uint8Array(width * height);
  for (let y = 10; y < 20; y++) for (let x = 10; x < 20; x++) mask[y * width + x] = 255;
  const image = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 256));
  return {
    task: 'fill',
    image: { format: 'rgba8', width, height, data: image },
    mask: { format: 'gray8', width, height, data: mask },
    variants: 2,
    steps,
    sampler: 'ddim',
    ...(seeds ? { seeds } : {}),
    preview: { intervalMs: 0 },
  };
}

describe('Session', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  function open(queue = new FairQueue()) {
    const socket = new FakeSocket();
    const log: string[] = [];
    const session = new Session(socket, {
      registry, queue, scheduler: new ModelScheduler(), limits: DEFAULT_LIMITS, token: undefined, maxBatch: 8, serverVersion: 'test', log: (l) => log.push(l),
    });
    const send = (m: ClientMessage) => session.receive(encodeMessage(m));
    send({ type: 'hello', protocol: 1, client: 'test' });
    expect(socket.messages[0]?.type).toBe('welcome');
    return { socket, session, send, log, queue };
  }

  it('answers a second hello with INVALID_FIELD and keeps the connection open', () => {
    const { socket, send } = open();
    send({ type: 'hello', protocol: 1, client: 'again' });
    expect(socket.messages[1]).toMatchObject({ type: 'error', code: 'INVALID_FIELD' });
    expect(socket.closedWith).toBeUndefined();
    send({ type: 'list-models', id: 'm' });
    expect(socket.messages[2]).toMatchObject({ type: 'models', id: 'm' });
  });

  it('answers a cancel of an unknown request with UNKNOWN_REQUEST carrying its id', () => {
    const { socket, send } = open();
    send({ type: 'cancel', id: 'never-sent' });
    expect(socket.messages[1]).toMatchObject({ type: 'error', code: 'UNKNOWN_REQUEST', id: 'never-sent' });
    expect(socket.closedWith).toBeUndefined();
  });

  it('refuses a request id that is still in flight with DUPLICATE_REQUEST_ID, and accepts it once finished', async () => {
    const { socket, send, queue } = open();
    send({ type: 'generate', id: 'a', request: fillRequest(2, [1, 2]) });
    send({ type: 'generate', id: 'a', request: fillRequest(2, [1, 2]) });
    const errors = socket.ofType('error');
    expect(errors).toHaveLength(1);
    // Without the id: an error with an id would end request a (PROTOCOL.md §6), which goes on.
    expect(errors[0]).toMatchObject({ code: 'DUPLICATE_REQUEST_ID', path: 'id' });
    expect(errors[0]).not.toHaveProperty('id');
    await queue.whenIdle();
    expect(socket.ofType('done').map((m) => m.id)).toEqual(['a']); // one job ran, not two
    send({ type: 'generate', id: 'a', request: fillRequest(1, [1, 2]) });
    await queue.whenIdle();
    expect(socket.ofType('done')).toHaveLength(2);
  });

  it('reports done timings: time queued behind another job, sampling time, and a total covering both', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    // Another client's job runs first, so this one waits in the queue for at least 50 ms.
    queue.enqueue({ id: 'blocker', clientId: 'other', run: () => new Promise<void>((r) => setTimeout(r, 50)) });
    const { socket, send } = open(queue);
    send({ type: 'generate', id: 't', request: fillRequest(2, [3, 4]) });
    await queue.whenIdle();
    const [done] = socket.ofType('done');
    expect(done).toBeDefined();
    const { queuedMs, sampleMs, totalMs } = done!.timings;
    expect(queuedMs).toBeGreaterThanOrEqual(40);
    expect(sampleMs).toBeGreaterThan(0);
    expect(totalMs).toBeGreaterThanOrEqual(queuedMs + sampleMs);
  });

  it('draws random seeds, one per variant, when the request sends none', async () => {
    const { socket, send, queue } = open();
    send({ type: 'generate', id: 'r1', request: fillRequest(1) });
    send({ type: 'generate', id: 'r2', request: fillRequest(1) });
    await queue.whenIdle();
    const started = socket.ofType('started');
    expect(started).toHaveLength(2);
    for (const s of started) {
      expect(s.seeds).toHaveLength(2);
      for (const seed of s.seeds) expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    }
    const all = started.flatMap((s) => s.seeds);
    expect(new Set(all).size).toBe(4); // 1 in 2^32 per pair of colliding, never all equal
    expect(socket.ofType('result').map((r) => r.seed).sort()).toEqual([...all].sort());
  });

  it('answers an unexpected failure with INTERNAL and logs it with the request', () => {
    const { socket, send, log } = open();
    const find = vi.spyOn(registry, 'find').mockImplementation(() => {
      throw new Error('disk on fire');
    });
    try {
      send({ type: 'generate', id: 'x', request: fillRequest(1, [1, 2]) });
    } finally {
      find.mockRestore();
    }
    expect(socket.messages.at(-1)).toMatchObject({ type: 'error', code: 'INTERNAL' });
    expect(JSON.stringify(socket.messages.at(-1))).not.toContain('disk on fire'); // no internals on the wire
    expect(log.some((l) => l.includes('disk on fire'))).toBe(true);
    expect(socket.closedWith).toBeUndefined();
  });

  it('maps a model run failure (MODEL_RUN_FAILED) to MODEL_FAILED for that request', async () => {
    const { socket, send, queue, log } = open();
    const runner = await registry.runner('tiny-model');
    const denoise = vi.spyOn(runner, 'denoise').mockRejectedValue(new DaemonError('MODEL_RUN_FAILED', 'onnxruntime said no'));
    try {
      send({ type: 'generate', id: 'f', request: fillRequest(2, [1, 2]) });
      await queue.whenIdle();
    } finally {
      denoise.mockRestore();
    }
    expect(socket.messages.at(-1)).toMatchObject({ type: 'error', code: 'MODEL_FAILED', id: 'f' });
    expect(log).toEqual([]); // a coded error is not an internal failure
  });

  it('a closed connection cancels its queued jobs and sends nothing more', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    let release!: () => void;
    queue.enqueue({ id: 'blocker', clientId: 'other', run: () => new Promise<void>((r) => (release = r)) });
    const { socket, send, session } = open(queue);
    send({ type: 'generate', id: 'q', request: fillRequest(1, [1, 2]) });
    expect(socket.ofType('queued')).toEqual([{ type: 'queued', id: 'q', position: 0 }]); // next to start
    const count = socket.messages.length;
    session.closedByPeer();
    expect(queue.size).toBe(1); // only the other client's job is left
    release();
    await queue.whenIdle();
    expect(socket.messages).toHaveLength(count);
  });

  it('announces the queue bounds in welcome.limits beside the protocol limits', () => {
    const { socket } = open(new FairQueue({ maxQueuedJobsPerClient: 3 }));
    expect(decodeFrame(socket.frames[0]!, { maxPayloadBytes: 1 << 20 })).toMatchObject({
      type: 'welcome',
      limits: { ...DEFAULT_LIMITS, maxQueuedJobsPerClient: 3, maxQueuedJobs: 64, maxQueuedBytes: 2 ** 30, maxQueuedBytesPerClient: 2 ** 29 },
    });
  });

  it('sends no queued before started when a job starts at once (PROTOCOL.md §6)', async () => {
    const { socket, send, queue } = open();
    send({ type: 'generate', id: 'now', request: fillRequest(1, [1, 2]) });
    await queue.whenIdle();
    expect(socket.messages.slice(1).map((m) => m.type)).toEqual(['started', 'progress', 'result', 'result', 'done']);
  });

  it('refuses a job over the connection’s limit with QUEUE_FULL, keeps the others, and takes jobs again later', async () => {
    const queue = new FairQueue({ maxQueuedJobsPerClient: 2, maxRunning: 1 });
    const { socket, send } = open(queue);
    for (const id of ['j1', 'j2', 'j3']) send({ type: 'generate', id, request: fillRequest(1, [1, 2]) });
    expect(socket.ofType('error')).toEqual([expect.objectContaining({ code: 'QUEUE_FULL', id: 'j3' })]);
    expect(queue.size).toBe(2);
    await queue.whenIdle();
    expect(socket.ofType('done').map((m) => m.id)).toEqual(['j1', 'j2']);
    send({ type: 'generate', id: 'j3', request: fillRequest(1, [1, 2]) }); // the refused id is free
    await queue.whenIdle();
    expect(socket.ofType('done').map((m) => m.id)).toEqual(['j1', 'j2', 'j3']);
  });

  it('counts the generate frame’s bytes against maxQueuedBytesPerClient', () => {
    const queue = new FairQueue({ maxQueuedBytesPerClient: 12_000, maxRunning: 0 }); // nothing starts
    const { socket, send, session } = open(queue);
    send({ type: 'generate', id: 'big1', request: fillRequest(1, [1, 2]) }); // ~5 KiB: its first job always fits
    send({ type: 'generate', id: 'big2', request: fillRequest(1, [1, 2]) });
    send({ type: 'generate', id: 'big3', request: fillRequest(1, [1, 2]) });
    expect(socket.ofType('error').map((m) => [m.code, m.id])).toEqual([['QUEUE_FULL', 'big3']]);
    expect(queue.queuedBytes).toBeGreaterThan(8_000);
    session.closedByPeer();
    expect(queue.size).toBe(0);
    expect(queue.queuedBytes).toBe(0);
  });
});

describe('toProtocolError', () => {
  it('maps every wire-visible DaemonError code to its wire code, and nothing else', () => {
    const expected: Record<DaemonErrorCode, string | undefined> = {
      MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
      TASK_NOT_SUPPORTED: 'TASK_NOT_SUPPORTED',
      IMAGE_DECODE_FAILED: 'IMAGE_DECODE_FAILED',
      MASK_SIZE_MISMATCH: 'MASK_SIZE_MISMATCH',
      MASK_EMPTY: 'INVALID_FIELD',
      INVALID_ARGUMENT: 'INVALID_FIELD',
      MODEL_LOAD_FAILED: 'MODEL_FAILED',
      MODEL_RUN_FAILED: 'MODEL_FAILED',
      EXECUTOR_UNAVAILABLE: 'MODEL_FAILED',
      MODEL_CHECKSUM_MISMATCH: 'MODEL_FAILED',
      MODEL_SIGNATURE_MISMATCH: 'MODEL_FAILED',
      MODEL_MANIFEST_INVALID: 'MODEL_FAILED',
      IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
      QUEUE_FULL: 'QUEUE_FULL',
      IMAGE_ENCODE_FAILED: undefined,
    };
    for (const [code, wire] of Object.entries(expected) as [DaemonErrorCode, string | undefined][]) {
      const mapped = toProtocolError(new DaemonError(code, `because ${code}`), 'req-1');
      expect(mapped?.code, code).toBe(wire);
      if (mapped) {
        expect(mapped.message).toBe(`because ${code}`);
        expect(mapped.requestId).toBe('req-1');
      }
    }
    expect(toProtocolError(new Error('plain'))).toBeUndefined();
    expect(toProtocolError('a string')).toBeUndefined();
  });
});

describe('Session at the boundary: handshake, token, error paths', () => {
  const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });
  afterAll(async () => registry.close());

  /** A session before its hello; `greet` sends one. */
  function fresh(options: { token?: string; handshakeTimeoutMs?: number; queue?: FairQueue } = {}) {
    const socket = new FakeSocket();
    const queue = options.queue ?? new FairQueue();
    const session = new Session(socket, {
      registry, queue, scheduler: new ModelScheduler(), limits: DEFAULT_LIMITS, token: options.token, maxBatch: 8, serverVersion: 'test',
      log: () => undefined, ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    });
    const sendRaw = (m: Record<string, unknown>) => session.receive(encodeMessage(m as never));
    const greet = () => sendRaw({ type: 'hello', protocol: 1, client: 'test' });
    return { socket, session, sendRaw, greet, queue };
  }

  it.each([
    ['an unknown type', { type: 'subscribe', id: 's1' }, 's1'],
    ['a known type', { type: 'list-models', id: 'm1' }, 'm1'],
    ['an invalid generate', { type: 'generate', id: 'g1', request: { task: 'nope' } }, 'g1'],
    ['a message without a type', { id: 'x' }, 'x'],
    ['a message with a bad id', { type: 'cancel', id: 'bad id' }, undefined],
  ])('answers %s before hello with HANDSHAKE_REQUIRED (path type) and closes with 1002', (_name, message, id) => {
    const { socket, sendRaw } = fresh();
    sendRaw(message);
    expect(socket.messages).toEqual([{ type: 'error', code: 'HANDSHAKE_REQUIRED', path: 'type', message: expect.any(String), ...(id ? { id } : {}) }]);
    expect(socket.closedWith?.code).toBe(1002);
  });

  it('answers a malformed hello with its field error, and closes', () => {
    const { socket, sendRaw } = fresh();
    sendRaw({ type: 'hello', protocol: 1, client: 'x', extra: 1 });
    expect(socket.messages[0]).toMatchObject({ code: 'UNKNOWN_FIELD', path: 'extra' });
    expect(socket.closedWith?.code).toBe(1002);
  });

  it('closes a connection that sends no hello within the deadline, and not one that did', async () => {
    const silent = fresh({ handshakeTimeoutMs: 30 });
    const greeted = fresh({ handshakeTimeoutMs: 30 });
    greeted.greet();
    await new Promise((r) => setTimeout(r, 80));
    expect(silent.socket.messages).toEqual([{ type: 'error', code: 'HANDSHAKE_REQUIRED', message: expect.stringContaining('30 ms') }]);
    expect(silent.socket.closedWith?.code).toBe(1002);
    expect(greeted.socket.messages.map((m) => m.type)).toEqual(['welcome']);
    expect(greeted.socket.closedWith).toBeUndefined();
  });

  it('a connection closed before the deadline is not written to when it passes', async () => {
    const { socket, session } = fresh({ handshakeTimeoutMs: 20 });
    session.closedByPeer();
    await new Promise((r) => setTimeout(r, 50));
    expect(socket.messages).toEqual([]);
  });

  it('ignores any token, the empty one included, when none is configured; refuses a wrong or empty one otherwise', () => {
    for (const token of ['', 'whatever']) {
      const open = fresh();
      open.sendRaw({ type: 'hello', protocol: 1, client: 'x', token });
      expect(open.socket.messages[0]?.type).toBe('welcome');
    }
    for (const token of ['', 'wrong', undefined]) {
      const guarded = fresh({ token: 's3cret' });
      guarded.sendRaw({ type: 'hello', protocol: 1, client: 'x', ...(token !== undefined ? { token } : {}) });
      expect(guarded.socket.messages[0]).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', path: 'token' });
      expect(guarded.socket.closedWith?.code).toBe(1008);
    }
  });

  it('names the field in every error about one (PROTOCOL.md §5.10)', async () => {
    const { socket, sendRaw, queue } = fresh();
    sendRaw({ type: 'hello', protocol: 2, client: 'x' });
    expect(socket.messages[0]).toMatchObject({ code: 'PROTOCOL_VERSION_MISMATCH', path: 'protocol' });

    const s = fresh({ queue });
    s.greet();
    s.sendRaw({ type: 'cancel', id: 'c1' });
    s.sendRaw({ type: 'generate', id: 'm1', request: { ...fillRequest(1, [1, 2]), model: 'nope' } });
    s.sendRaw({ type: 'frobnicate', id: 'f1' });
    // Passes the boundary (a PNG signature and IHDR), fails in the PNG decoder.
    const brokenPng = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 8, 0, 0, 0, 8, 8, 6, 0, 0, 0, 1, 2, 3, 4]);
    s.sendRaw({ type: 'generate', id: 'p1', request: { task: 'colorize', image: { format: 'png', data: brokenPng }, variants: 1 } });
    const request = fillRequest(1, [1, 2]);
    s.sendRaw({ type: 'generate', id: 'p2', request: { ...request, mask: { format: 'png', data: brokenPng } } });
    await queue.whenIdle();
    const errors = Object.fromEntries(s.socket.ofType('error').map((e) => [e.id, e]));
    expect(errors.c1).toMatchObject({ code: 'UNKNOWN_REQUEST', path: 'id' });
    expect(errors.m1).toMatchObject({ code: 'MODEL_NOT_FOUND', path: 'request.model' });
    expect(errors.f1).toMatchObject({ code: 'UNKNOWN_MESSAGE_TYPE', path: 'type' });
    expect(errors.p1).toMatchObject({ code: 'IMAGE_DECODE_FAILED', path: 'request.image.data' });
    expect(errors.p2).toMatchObject({ code: 'IMAGE_DECODE_FAILED', path: 'request.mask.data' });
  });

  it('gives daemon errors the path their thrower named, or the field their code is about', () => {
    const at = (error: DaemonError) => toProtocolError(error, 'r')?.path;
    expect(at(new DaemonError('IMAGE_DECODE_FAILED', 'x', { path: 'request.mask.data' }))).toBe('request.mask.data');
    expect(at(new DaemonError('IMAGE_DECODE_FAILED', 'x'))).toBe('request.image.data');
    expect(at(new DaemonError('MASK_SIZE_MISMATCH', 'x'))).toBe('request.mask');
    expect(at(new DaemonError('MASK_EMPTY', 'x'))).toBe('request.mask');
    expect(at(new DaemonError('TASK_NOT_SUPPORTED', 'x'))).toBe('request.task');
    expect(at(new DaemonError('IMAGE_TOO_LARGE', 'x'))).toBe('request.image');
    expect(at(new DaemonError('MODEL_RUN_FAILED', 'x'))).toBeUndefined();
  });
});
