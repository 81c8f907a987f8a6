import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { DEFAULT_QUEUE_LIMITS, EXACT_POSITIONS_BELOW, FairQueue, shouldAnnounce, type QueueJob } from '../../daemon/queue.ts';

/** A job that runs until released (or aborted), recording the start order. */
function controllableJob(clientId: string, id: string, log: string[], bytes = 0) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const positions: number[] = [];
  let dropped = false;
  let aborted = false;
  const job: QueueJob = {
    id,
    clientId,
    bytes,
    run: async (signal) => {
      log.push(`${clientId}:${id}`);
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve();
        });
        void released.then(resolve);
      });
    },
    onPosition: (p) => positions.push(p),
    onDropped: () => (dropped = true),
  };
  return { job, release, positions, wasDropped: () => dropped, wasAborted: () => aborted };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Releases jobs one at a time in start order until the queue is empty. */
async function drain(queue: FairQueue, jobs: Map<string, { release: () => void }>, log: string[]): Promise<void> {
  for (let i = 0; i < log.length || queue.size > 0; i++) {
    const next = log[i];
    if (next === undefined) break;
    jobs.get(next)?.release();
    await tick();
  }
  await queue.whenIdle();
}

describe('FairQueue turns', () => {
  it('starts a newcomer’s job next: A queues 4, then B queues 1 → A0, B0, A1, A2, A3', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const log: string[] = [];
    const all = new Map<string, ReturnType<typeof controllableJob>>();
    for (const [client, id] of [['A', '0'], ['A', '1'], ['A', '2'], ['A', '3'], ['B', '0']] as const) {
      const j = controllableJob(client, id, log);
      all.set(`${client}:${id}`, j);
      queue.enqueue(j.job);
    }
    expect(all.get('B:0')!.positions).toEqual([0]); // before A1, which was queued earlier
    expect(all.get('A:1')!.positions).toEqual([0, 1]);
    await drain(queue, all, log);
    expect(log).toEqual(['A:0', 'B:0', 'A:1', 'A:2', 'A:3']);
  });

  it('alternates between clients that both keep jobs waiting', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const log: string[] = [];
    const all = new Map<string, ReturnType<typeof controllableJob>>();
    for (const [client, id] of [['A', '1'], ['A', '2'], ['A', '3'], ['A', '4'], ['B', '1'], ['B', '2']] as const) {
      const j = controllableJob(client, id, log);
      all.set(`${client}:${id}`, j);
      queue.enqueue(j.job);
    }
    await drain(queue, all, log);
    expect(log).toEqual(['A:1', 'B:1', 'A:2', 'B:2', 'A:3', 'A:4']);
  });

  it('runs up to maxRunning jobs at once, one per client, so a second client starts without waiting', async () => {
    const queue = new FairQueue({ maxRunning: 2 });
    const log: string[] = [];
    const a1 = controllableJob('A', '1', log);
    const a2 = controllableJob('A', '2', log);
    const b1 = controllableJob('B', '1', log);
    const c1 = controllableJob('C', '1', log);
    for (const j of [a1, a2, b1, c1]) queue.enqueue(j.job);
    expect(log).toEqual(['A:1', 'B:1']); // A's second job waits for its first; C for a free slot
    expect(queue.runningCount).toBe(2);
    expect(b1.positions).toEqual([]); // started at once: never told a position
    expect(c1.positions.at(-1)).toBe(0); // C is a newcomer: it goes before A's second job
    expect(a2.positions.at(-1)).toBe(1);
    b1.release();
    await tick();
    expect(log).toEqual(['A:1', 'B:1', 'C:1']);
    for (const j of [a1, c1]) j.release();
    await tick();
    a2.release();
    await queue.whenIdle();
    expect(log).toEqual(['A:1', 'B:1', 'C:1', 'A:2']);
  });

  it('keeps going after a job throws', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const ran: string[] = [];
    queue.enqueue({ id: 'x', clientId: 'A', run: async () => Promise.reject(new Error('boom')) });
    queue.enqueue({ id: 'y', clientId: 'A', run: async () => void ran.push('y') });
    await queue.whenIdle();
    expect(ran).toEqual(['y']);
  });
});

describe('FairQueue positions', () => {
  it('reports positions (waiting jobs ahead) as jobs ahead start', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const log: string[] = [];
    const jobs = ['A', 'B', 'C'].map((client) => controllableJob(client, 'j', log));
    for (const j of jobs) queue.enqueue(j.job);
    expect(jobs.map((j) => j.positions)).toEqual([[], [0], [1]]);
    jobs[0]!.release();
    await tick();
    expect(jobs[2]!.positions).toEqual([1, 0]);
    expect(log).toEqual(['A:j', 'B:j']);
    for (const j of jobs) j.release();
    await queue.whenIdle();
  });

  it('republishes the positions behind a cancelled waiting job and a disconnected client', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const log: string[] = [];
    const jobs = ['A', 'B', 'C', 'D'].map((client) => controllableJob(client, 'j', log));
    for (const j of jobs) queue.enqueue(j.job);
    expect(queue.cancel('B', 'j')).toBe(true);
    expect(jobs[1]!.positions).toEqual([0]); // a dropped job hears nothing more
    expect(jobs[2]!.positions).toEqual([1, 0]);
    expect(jobs[3]!.positions).toEqual([2, 1]);
    queue.cancelClient('C');
    expect(jobs[3]!.positions).toEqual([2, 1, 0]);
    for (const j of jobs) j.release();
    await queue.whenIdle();
    expect(log).toEqual(['A:j', 'D:j']);
  });

  it('announces far positions only when they change by a quarter: 400 waiting jobs cost a few thousand messages, not 80,200', async () => {
    const queue = new FairQueue({ maxRunning: 1, maxQueuedJobs: 1000, maxQueuedJobsPerClient: 1000 });
    let messages = 0;
    const last = new Map<string, number>();
    for (let i = 0; i < 401; i++) {
      queue.enqueue({
        id: `j${i}`,
        clientId: 'A',
        run: () => new Promise<void>((r) => setTimeout(r, 0)),
        onPosition: (p) => {
          messages++;
          last.set(`j${i}`, p);
        },
      });
    }
    await queue.whenIdle();
    expect(messages).toBeLessThan(10_000);
    // Every job heard the exact positions near the front, down to 0 before it started.
    for (let i = 1; i < 401; i++) expect(last.get(`j${i}`)).toBe(0);
  });

  it('shouldAnnounce: every change below the threshold, a quarter’s change above it', () => {
    expect(shouldAnnounce(undefined, 300)).toBe(true);
    expect(shouldAnnounce(5, 5)).toBe(false);
    expect(shouldAnnounce(EXACT_POSITIONS_BELOW, EXACT_POSITIONS_BELOW - 1)).toBe(true);
    expect(shouldAnnounce(100, 90)).toBe(false);
    expect(shouldAnnounce(100, 75)).toBe(true);
    expect(shouldAnnounce(100, 125)).toBe(true);
  });
});

describe('FairQueue bounds', () => {
  it('refuses jobs over the per-client and total counts with QUEUE_FULL and keeps nothing of them', async () => {
    const queue = new FairQueue({ maxRunning: 1, maxQueuedJobs: 3, maxQueuedJobsPerClient: 2 });
    const log: string[] = [];
    const a = [1, 2, 3].map((i) => controllableJob('A', `${i}`, log));
    queue.enqueue(a[0]!.job);
    queue.enqueue(a[1]!.job);
    expect(() => queue.enqueue(a[2]!.job)).toThrow(expect.objectContaining({ code: 'QUEUE_FULL', message: expect.stringContaining('maxQueuedJobsPerClient') }));
    const b = [1, 2].map((i) => controllableJob('B', `${i}`, log));
    queue.enqueue(b[0]!.job);
    expect(() => queue.enqueue(b[1]!.job)).toThrow(expect.objectContaining({ code: 'QUEUE_FULL', message: expect.stringContaining('maxQueuedJobs') }));
    expect(queue.size).toBe(3);
    expect(a[2]!.wasDropped()).toBe(false); // a refused job was never in: no cancelled for it either
    a[0]!.release();
    await tick();
    queue.enqueue(a[2]!.job); // a finished job frees its place
    for (const j of [...a, ...b]) j.release();
    await queue.whenIdle();
    expect(log).toEqual(['A:1', 'B:1', 'A:2', 'A:3']);
  });

  it('bounds queued bytes per client and in total, a client with nothing in flight always getting one job in', async () => {
    const queue = new FairQueue({ maxRunning: 1, maxQueuedBytesPerClient: 100, maxQueuedBytes: 150 });
    const log: string[] = [];
    const huge = controllableJob('A', 'huge', log, 500); // over both limits, but A has nothing in flight
    queue.enqueue(huge.job);
    expect(() => queue.enqueue(controllableJob('A', 'more', log, 1).job)).toThrow(expect.objectContaining({ code: 'QUEUE_FULL' }));
    expect(() => queue.enqueue(controllableJob('B', 'b', log, 10).job)).toThrow(expect.objectContaining({ message: expect.stringContaining('maxQueuedBytes') }));
    expect(queue.queuedBytes).toBe(500);
    huge.release();
    await queue.whenIdle();
    expect(queue.queuedBytes).toBe(0);
    const b1 = controllableJob('B', '1', log, 60);
    const b2 = controllableJob('B', '2', log, 60);
    queue.enqueue(b1.job);
    expect(() => queue.enqueue(b2.job)).toThrow(expect.objectContaining({ message: expect.stringContaining('maxQueuedBytesPerClient') }));
    b1.release();
    await queue.whenIdle();
  });

  it('frees the counts and bytes of cancelled, dropped and disconnected jobs', async () => {
    const queue = new FairQueue({ maxRunning: 1, maxQueuedJobsPerClient: 3 });
    const log: string[] = [];
    const [r, w1, w2] = ['r', 'w1', 'w2'].map((id) => controllableJob('A', id, log, 1000));
    for (const j of [r!, w1!, w2!]) queue.enqueue(j.job);
    expect(queue.cancel('A', 'w1')).toBe(true);
    expect(w1!.wasDropped()).toBe(true);
    expect(queue.size).toBe(2);
    expect(queue.queuedBytes).toBe(2000);
    queue.cancelClient('A');
    expect(w2!.wasDropped()).toBe(true);
    await queue.whenIdle();
    expect(r!.wasAborted()).toBe(true);
    expect([queue.size, queue.queuedBytes, queue.runningCount]).toEqual([0, 0, 0]);
    expect(log).toEqual(['A:r']);
  });
});

describe('FairQueue cancellation', () => {
  it('cancels a waiting job without running it and aborts a running one', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const log: string[] = [];
    const running = controllableJob('A', 'r', log);
    const waiting = controllableJob('A', 'w', log);
    queue.enqueue(running.job);
    queue.enqueue(waiting.job);
    expect(queue.cancel('A', 'w')).toBe(true);
    expect(waiting.wasDropped()).toBe(true);
    expect(queue.cancel('A', 'r')).toBe(true);
    await queue.whenIdle();
    expect(running.wasAborted()).toBe(true);
    expect(log).toEqual(['A:r']);
    expect(queue.cancel('A', 'nope')).toBe(false);
    expect(queue.cancel('B', 'r')).toBe(false); // another client cannot cancel it
  });

  it('a disconnect drops the client’s jobs and frees the runner for the next client', async () => {
    const queue = new FairQueue({ maxRunning: 1 });
    const log: string[] = [];
    const a1 = controllableJob('A', '1', log);
    const a2 = controllableJob('A', '2', log);
    const b1 = controllableJob('B', '1', log);
    for (const j of [a1, a2, b1]) queue.enqueue(j.job);
    queue.cancelClient('A');
    await tick();
    expect(a1.wasAborted()).toBe(true);
    expect(a2.wasDropped()).toBe(true);
    expect(log).toEqual(['A:1', 'B:1']);
    b1.release();
    await queue.whenIdle();
    expect(queue.size).toBe(0);
  });
});

describe('FairQueue and PROTOCOL.md', () => {
  it('documents the default bounds and the position rule the queue uses', () => {
    const doc = readFileSync(join(REPO_ROOT, 'PROTOCOL.md'), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith('| jobs in flight')) ?? '';
    expect(row).toContain(`${DEFAULT_QUEUE_LIMITS.maxQueuedJobsPerClient} per connection, ${DEFAULT_QUEUE_LIMITS.maxQueuedJobs} in all`);
    const bytes = doc.split('\n').find((l) => l.startsWith('| bytes of the `generate` frames')) ?? '';
    expect(bytes).toContain(`${DEFAULT_QUEUE_LIMITS.maxQueuedBytesPerClient / 2 ** 20} MiB per connection, ${DEFAULT_QUEUE_LIMITS.maxQueuedBytes / 2 ** 30} GiB in all`);
    expect(doc).toContain(`while it is below ${EXACT_POSITIONS_BELOW}`);
    expect(doc).toContain('a job that starts at once gets none');
  });
});
