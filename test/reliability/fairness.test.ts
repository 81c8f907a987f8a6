/**
 * Turn-taking over a real socket (issue 12): a newcomer's job goes next, and a small job beside an
 * 8-variant × 30-step job waits a few model calls, not the whole big job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillRequest, isFinal, rawClient, startDaemon, type Daemon, type RawClient, type Received } from './harness.ts';

describe('fair turns between clients', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => daemon.close());

  const request = (variants: number, steps: number) => ({ ...fillRequest(variants, steps, 32), model: daemon.modelName });
  const first = (client: RawClient, type: string, id: string): Received | undefined =>
    client.received.find((r) => r.message.type === type && r.message.id === id);

  it('A queues 4 jobs, then B queues 1: B runs next (A0, B0, A1, A2, A3), its steps interleaved with A0’s', async () => {
    const a = await rawClient(daemon.server.url);
    const b = await rawClient(daemon.server.url);
    for (let i = 0; i < 4; i++) a.send({ type: 'generate', id: `A${i}`, request: request(1, 6) });
    await a.next((m) => m.type === 'started' && m.id === 'A0');
    b.send({ type: 'generate', id: 'B0', request: request(1, 6) });
    await Promise.all([a.next((m) => isFinal(m) && m.id === 'A3'), b.next((m) => isFinal(m) && m.id === 'B0')]);

    const starts = [...a.received, ...b.received]
      .filter((r) => r.message.type === 'started')
      .sort((x, y) => x.at - y.at)
      .map((r) => r.message.id);
    console.log(`[reliability] start order: ${starts.join(', ')}`);
    expect(starts).toEqual(['A0', 'B0', 'A1', 'A2', 'A3']);
    expect(first(b, 'progress', 'B0')!.at).toBeLessThan(first(a, 'done', 'A0')!.at); // not after A's whole job
    expect(b.received.filter((r) => r.message.type === 'queued')).toEqual([]); // B started at once
    await Promise.all([a.close(), b.close()]);
  });

  it('a small job beside an 8-variant × 30-step job waits a few model calls; 20 small jobs all finish before it', async () => {
    // Every connection is open first, so the small jobs arrive early in the big one, all at once.
    const smalls = await Promise.all(Array.from({ length: 20 }, () => rawClient(daemon.server.url)));
    const big = await rawClient(daemon.server.url);
    const bigSent = performance.now();
    big.send({ type: 'generate', id: 'big', request: request(8, 30) });
    await big.next((m) => m.type === 'progress' && m.id === 'big');
    const bigFirstStep = performance.now() - bigSent;

    const sentAt = smalls.map((client, i) => {
      client.send({ type: 'generate', id: `s${i}`, request: request(1, 3) });
      return performance.now();
    });
    const ends = await Promise.all(smalls.map((client, i) => client.next((m) => isFinal(m) && m.id === `s${i}`)));
    const bigEnd = await big.next((m) => isFinal(m) && m.id === 'big', 60_000);

    expect(bigEnd.message.type).toBe('done');
    expect(ends.every((e) => e.message.type === 'done')).toBe(true);
    const firstStepWait = first(smalls[0]!, 'progress', 's0')!.at - sentAt[0]!;
    const doneAfter = ends.map((e, i) => e.at - sentAt[i]!);
    const bigSteps = big.received.filter((r) => r.message.type === 'progress');
    const bigStepsLeft = 30 - bigSteps.filter((r) => r.at < sentAt[0]!).length;
    const bigStepMs = (bigSteps.at(-1)!.at - bigSteps[0]!.at) / (bigSteps.length - 1);
    console.log(`[reliability] beside an 8-variant × 30-step job (${(bigEnd.at - bigSent).toFixed(0)} ms, ` +
      `${bigStepMs.toFixed(0)} ms a step, first step after ${bigFirstStep.toFixed(0)} ms, ${bigStepsLeft} steps left when the ` +
      `small jobs came): the first small job's ` +
      `first step after ${firstStepWait.toFixed(0)} ms, done after ${doneAfter[0]!.toFixed(0)} ms; the 20th done after ` +
      `${Math.max(...doneAfter).toFixed(0)} ms; the big job ended ${(bigEnd.at - Math.max(...ends.map((e) => e.at))).toFixed(0)} ms after the last small one`);
    expect(firstStepWait).toBeLessThan(4 * bigStepMs + 200); // a few model calls, not the big job
    expect(Math.max(...ends.map((e) => e.at))).toBeLessThan(bigEnd.at);
    await Promise.all([big.close(), ...smalls.map((c) => c.close())]);
  });
});
