import { describe, expect, it } from 'vitest';
import { FairQueue, type QueueJob } from '../../daemon/queue.ts';

/** A job that runs until released (or aborted), recording the start order. */
function controllableJob(clientId: string, id: string, log: string[]) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const positions: number[] = [];
  let dropped = false;
  let aborted = false;
  const job: QueueJob = {
    id,
    clientId,
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

describe('FairQueue', () => {
  it('alternates between clients so a busy client does not starve another', async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    const a = [1, 2, 3, 4].map((i) => controllableJob('A', `a${i}`, log));
    for (const j of a) queue.enqueue(j.job);
    const b = [1, 2].map((i) => controllableJob('B', `b${i}`, log));
    for (const j of b) queue.enqueue(j.job);
    expect(b[0]!.positions.at(-1)).toBe(2); // behind the running a1 and the waiting a2
    for (const j of [...a, ...b]) {
      j.release();
      await tick();
    }
    await queue.whenIdle();
    expect(log).toEqual(['A:a1', 'A:a2', 'B:b1', 'A:a3', 'B:b2', 'A:a4']);
  });

  it('reports positions (jobs ahead) as jobs ahead finish', async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    const jobs = ['A', 'B', 'C'].map((client) => controllableJob(client, 'j', log));
    for (const j of jobs) queue.enqueue(j.job);
    expect(jobs.map((j) => j.positions)).toEqual([[0], [1], [2]]);
    jobs[0]!.release();
    await tick();
    await tick();
    expect(jobs[2]!.positions).toEqual([2, 1]);
    expect(log).toEqual(['A:j', 'B:j']);
    for (const j of jobs) j.release();
    await queue.whenIdle();
  });

  it('cancels a waiting job without running it and aborts a running one', async () => {
    const queue = new FairQueue();
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
    const queue = new FairQueue();
    const log: string[] = [];
    const a1 = controllableJob('A', '1', log);
    const a2 = controllableJob('A', '2', log);
    const b1 = controllableJob('B', '1', log);
    queue.enqueue(a1.job);
    queue.enqueue(a2.job);
    queue.enqueue(b1.job);
    queue.cancelClient('A');
    await tick();
    expect(a1.wasAborted()).toBe(true);
    expect(a2.wasDropped()).toBe(true);
    expect(log).toEqual(['A:1', 'B:1']);
    b1.release();
    await queue.whenIdle();
    expect(queue.size).toBe(0);
  });

  it('republishes the positions behind a cancelled waiting job', async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    const jobs = ['A', 'B', 'C', 'D'].map((client) => controllableJob(client, 'j', log));
    for (const j of jobs) queue.enqueue(j.job);
    expect(queue.cancel('B', 'j')).toBe(true);
    expect(jobs[1]!.positions).toEqual([1]); // a dropped job hears nothing more
    expect(jobs[2]!.positions).toEqual([2, 1]);
    expect(jobs[3]!.positions).toEqual([3, 2]);
    for (const j of jobs) j.release();
    await queue.whenIdle();
    expect(log).toEqual(['A:j', 'C:j', 'D:j']);
  });

  it('republishes the positions behind a disconnected client’s jobs', async () => {
    const queue = new FairQueue();
    const log: string[] = [];
    const a = controllableJob('A', '1', log);
    const b1 = controllableJob('B', '1', log);
    const b2 = controllableJob('B', '2', log);
    const c = controllableJob('C', '1', log);
    for (const j of [a, b1, b2, c]) queue.enqueue(j.job);
    expect(c.positions).toEqual([2]); // after A's running job and B's first (round-robin)
    queue.cancelClient('B');
    expect(b1.wasDropped() && b2.wasDropped()).toBe(true);
    expect(c.positions).toEqual([2, 1]);
    for (const j of [a, c]) j.release();
    await queue.whenIdle();
    expect(log).toEqual(['A:1', 'C:1']);
  });

  it('keeps going after a job throws', async () => {
    const queue = new FairQueue();
    const ran: string[] = [];
    queue.enqueue({ id: 'x', clientId: 'A', run: async () => Promise.reject(new Error('boom')) });
    queue.enqueue({ id: 'y', clientId: 'A', run: async () => void ran.push('y') });
    await queue.whenIdle();
    expect(ran).toEqual(['y']);
  });
});
