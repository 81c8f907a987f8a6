/**
 * Issue 12's first battery, kept: 10,000 malformed frames over many loopback connections (8 at a
 * time) while a real job runs on the tiny model. Every frame must be answered with a coded error,
 * connections closed only with the close code PROTOCOL.md gives that error, never INTERNAL; the job
 * must finish with the pixels the same request gives in-process, and the daemon must answer after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../daemon/generate.ts';
import { closeCodeFor, LOCAL_ERROR_CODES, PROTOCOL_ERROR_CODES, type ProtocolErrorCode } from '../../shared/protocol-errors.ts';
import { CLOSE_CODES } from '../../shared/protocol.ts';
import { fillRequest, isFinal, rawClient, startDaemon, type Daemon, type RawClient } from './harness.ts';
import { createMalformedFrames, seededRandom, type Episode, type Frame } from './malformed.ts';

const FRAMES = 10_000;
const PARALLEL = 8;
const SEED = 12;
/** Long enough for the job to last most of the barrage (checked below), short enough for a fast file. */
const JOB_STEPS = 200;

interface Tally {
  answered: number;
  byCode: Map<string, number>;
  byClose: Map<number, number>;
  connections: number;
  problems: string[];
}

function count<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Resolves once the client holds `n` messages, or the socket has closed. */
function until(client: RawClient, n: number, closed: Promise<number>): Promise<void> {
  if (client.received.length >= n) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${client.received.length} of ${n} messages in 10 s`)), 10_000);
    const done = () => {
      clearTimeout(timer);
      client.socket.off('message', check);
      resolve();
    };
    // The harness's own listener runs first (it was added first), so `received` is up to date here.
    const check = () => client.received.length >= n && done();
    client.socket.on('message', check);
    void closed.then(done);
  });
}

const send = (client: RawClient, frame: Frame) => client.socket.send(frame);

async function runEpisode(url: string, episode: Episode, tally: Tally): Promise<void> {
  const client = await rawClient(url, { hello: episode.hello });
  tally.connections++;
  client.socket.on('error', (e) => tally.problems.push(`socket error: ${e.message}`));
  const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  const base = client.received.length; // the welcome, after a hello
  for (const k of episode.known) send(client, k.frame);
  await until(client, base + episode.known.length, closed);
  for (const [i, k] of episode.known.entries()) {
    const m = client.received[base + i]?.message;
    if (m?.type !== 'error' || m.code !== k.code) tally.problems.push(`${k.kind}: expected ${k.code}, got ${JSON.stringify(m)}`);
    else {
      tally.answered++;
      count(tally.byCode, k.code);
    }
  }
  if (isClosed) tally.problems.push(`closed during ${episode.known.length} known frames`);
  const last = episode.last;
  if (!last || isClosed) return client.close();

  send(client, last.frame);
  await until(client, base + episode.known.length + 1, closed);
  const answer = client.received[base + episode.known.length]?.message;
  const code = answer?.type === 'error' ? (answer.code as ProtocolErrorCode) : undefined;
  if (code === undefined) {
    // Only an oversized frame may be closed without an error first (§1, 1009); none is sent here.
    const closeCode = await closed;
    tally.problems.push(`${last.kind}: no error, ${answer ? JSON.stringify(answer) : `closed ${closeCode}`}`);
    return;
  }
  tally.answered++;
  count(tally.byCode, code);
  if (!PROTOCOL_ERROR_CODES.includes(code) || LOCAL_ERROR_CODES.includes(code)) tally.problems.push(`${last.kind}: code ${code}`);
  // §3: a fatal code closes with its close code; before the handshake every error closes (1002).
  const expected = closeCodeFor(code) ?? (episode.hello ? undefined : CLOSE_CODES.PROTOCOL_ERROR);
  if (expected === undefined) return client.close();
  const closeCode = await closed;
  count(tally.byClose, closeCode);
  if (closeCode !== expected) tally.problems.push(`${last.kind}: ${code} closed with ${closeCode}, not ${expected}`);
}

describe('reliability: malformed frames while a job runs', () => {
  let daemon: Daemon;
  const logs: string[] = [];
  beforeAll(async () => {
    daemon = await startDaemon(undefined, { log: (line) => logs.push(line) });
  });
  afterAll(async () => daemon.close());

  it(`answers ${FRAMES.toLocaleString('en')} malformed frames with coded errors, and the job beside them finishes right`, async () => {
    const episodes = createMalformedFrames(seededRandom(SEED)).episodes(FRAMES);
    const frames = episodes.reduce((sum, e) => sum + e.known.length + (e.last ? 1 : 0), 0);
    expect(frames).toBe(FRAMES);

    const request = { ...fillRequest(2, JOB_STEPS), model: daemon.modelName };
    const owner = await rawClient(daemon.server.url);
    owner.send({ type: 'generate', id: 'job', request });
    await owner.next((m) => m.type === 'started' && m.id === 'job');

    const tally: Tally = { answered: 0, byCode: new Map(), byClose: new Map(), connections: 0, problems: [] };
    const started = performance.now();
    let answeredWhenJobEnded = -1;
    const jobEnded = owner.next((m) => isFinal(m) && m.id === 'job', 30_000).then((r) => ((answeredWhenJobEnded = tally.answered), r));
    let nextEpisode = 0;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (nextEpisode < episodes.length) {
        const episode = episodes[nextEpisode++];
        if (episode) await runEpisode(daemon.server.url, episode, tally);
      }
    }));
    const barrageMs = performance.now() - started;
    const final = await jobEnded;
    const jobMs = final.at - started;
    const during = answeredWhenJobEnded === FRAMES ? 'ran through the whole barrage' : `ended after ${answeredWhenJobEnded} frames were answered`;

    const byCode = [...tally.byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    const byClose = [...tally.byClose].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`).join(', ');
    console.log(`[reliability] ${frames} malformed frames on ${tally.connections} connections (${PARALLEL} at a time) in ` +
      `${barrageMs.toFixed(0)} ms: ${tally.answered} answered (${byCode}); closes ${byClose}; the job (2 variants × ${JOB_STEPS} steps) ` +
      `${during}, done ${jobMs.toFixed(0)} ms after the barrage began; ` +
      `daemon log lines: ${logs.length}`);

    expect(tally.problems.slice(0, 10)).toEqual([]);
    expect(tally.answered).toBe(FRAMES);
    expect(tally.byCode.get('INTERNAL') ?? 0).toBe(0);
    // The frames really arrived while the job ran: at least half of them before its end.
    expect(answeredWhenJobEnded).toBeGreaterThanOrEqual(FRAMES / 2);
    expect(logs.filter((line) => /failed|session client|socket error/.test(line))).toEqual([]);

    // The job: started → progress* → result × 2 → done, with the pixels of the same request in-process.
    expect(final.message.type).toBe('done');
    const results = owner.received.filter((r) => r.message.type === 'result').map((r) => r.message);
    expect(results.map((r) => r.variant)).toEqual([0, 1]);
    const expected: Array<{ layer: unknown }> = [];
    await generate(request, daemon.registry, { onResult: (r) => expected.push(r) }, new AbortController().signal, { maxBatch: 8 });
    expect(results.map((r) => r.layer)).toEqual(expected.map((r) => r.layer));

    // Still answering: a new connection's list-models, and /health with only the owner left.
    const after = await rawClient(daemon.server.url);
    after.send({ type: 'list-models', id: 'after' });
    expect((await after.next((m) => m.id === 'after', 2000)).message.type).toBe('models');
    const health = (await (await fetch(`http://127.0.0.1:${daemon.server.port}/health`)).json()) as { clients: number; queue: number };
    expect(health).toMatchObject({ clients: 2, queue: 0 });
    await after.close();
    await owner.close();
  }, 60_000);
});
