/**
 * The job queue: which accepted jobs run, which wait, and which are refused.
 *
 * - Bounded: per client and in total, on the number of jobs in flight (waiting or running) and on the
 *   bytes their requests hold; a job over a limit is refused with QUEUE_FULL instead of growing the
 *   daemon's memory without end. A client (or the daemon) with nothing in flight always gets one job
 *   in, whatever its size (the frame limit already bounds it).
 * - Several jobs run at once (`maxRunning`, one per client by default: a client's own jobs finish
 *   sooner one after another than side by side); their model calls are interleaved by the
 *   ModelScheduler (daemon/model-scheduler.ts), so a job that starts does not wait for the others.
 * - A free slot goes to the waiting client that started a job least recently; a newcomer (never
 *   started one) goes next, and a client's own jobs start in the order they came.
 * - `onPosition` tells a waiting job how many waiting jobs are planned to start before it, only when
 *   that changes meaningfully (see shouldAnnounce), so 400 waiting jobs do not cost 80,000 messages.
 *
 * Cancellation: a waiting job is removed at once (nothing keeps its request); a running job's
 * AbortSignal fires and it stops at its next model call. A disconnect cancels all of that client's jobs.
 */
import type { QueueLimits } from '../shared/protocol.ts';
import { DaemonError } from './errors.ts';

export type { QueueLimits };

export const DEFAULT_QUEUE_LIMITS: Readonly<QueueLimits> = Object.freeze({
  maxQueuedJobs: 64,
  maxQueuedJobsPerClient: 16,
  maxQueuedBytes: 1024 * 1024 * 1024,
  maxQueuedBytesPerClient: 512 * 1024 * 1024,
});

export interface QueueOptions extends Partial<QueueLimits> {
  /** Jobs running at once (their model calls interleave); default 4. */
  maxRunning?: number;
  /** Jobs of one client running at once; default 1. Cross-job batching may raise it. */
  maxRunningPerClient?: number;
}

export interface QueueJob {
  id: string;
  clientId: string;
  /** What the job's request holds in memory (its frame's size), counted against the byte limits. */
  bytes?: number;
  /** Runs the job; must settle soon after `signal` aborts. */
  run: (signal: AbortSignal) => Promise<void>;
  /** Waiting jobs planned to start before this one; only while it waits (never sent for a job that starts at once). */
  onPosition?: (position: number) => void;
  /** Called once when the job is removed before it started (cancel or client gone). */
  onDropped?: () => void;
}

/** Positions below this are announced at every change; above it, only changes of a quarter or more. */
export const EXACT_POSITIONS_BELOW = 8;

export function shouldAnnounce(last: number | undefined, position: number): boolean {
  if (last === undefined) return true;
  if (position === last) return false;
  return position < EXACT_POSITIONS_BELOW || Math.abs(position - last) * 4 >= last;
}

interface Waiting {
  job: QueueJob;
  arrival: number;
  announced?: number;
}

interface ClientState {
  waiting: Waiting[];
  running: number;
  jobs: number;
  bytes: number;
  /** When this client last started a job (a counter; 0 = never: a newcomer). */
  lastStart: number;
}

export class FairQueue {
  readonly limits: Readonly<QueueLimits>;
  private readonly maxRunning: number;
  private readonly maxRunningPerClient: number;
  private readonly clients = new Map<string, ClientState>();
  private readonly running = new Map<QueueJob, AbortController>();
  private jobs = 0;
  private bytes = 0;
  private arrivals = 0;
  private starts = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: QueueOptions = {}) {
    this.limits = Object.freeze({
      maxQueuedJobs: options.maxQueuedJobs ?? DEFAULT_QUEUE_LIMITS.maxQueuedJobs,
      maxQueuedJobsPerClient: options.maxQueuedJobsPerClient ?? DEFAULT_QUEUE_LIMITS.maxQueuedJobsPerClient,
      maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_QUEUE_LIMITS.maxQueuedBytes,
      maxQueuedBytesPerClient: options.maxQueuedBytesPerClient ?? DEFAULT_QUEUE_LIMITS.maxQueuedBytesPerClient,
    });
    this.maxRunning = options.maxRunning ?? 4;
    this.maxRunningPerClient = options.maxRunningPerClient ?? 1;
  }

  /** Accepts a job (it starts now or waits) or throws DaemonError QUEUE_FULL; nothing is kept then. */
  enqueue(job: QueueJob): void {
    const client = this.clients.get(job.clientId);
    const bytes = job.bytes ?? 0;
    const refusal = this.refusal(client, bytes);
    if (refusal) throw new DaemonError('QUEUE_FULL', `${refusal} Wait for a job to finish, or cancel one, and send it again.`);
    const state = client ?? { waiting: [], running: 0, jobs: 0, bytes: 0, lastStart: 0 };
    this.clients.set(job.clientId, state);
    state.waiting.push({ job, arrival: this.arrivals++ });
    state.jobs++;
    state.bytes += bytes;
    this.jobs++;
    this.bytes += bytes;
    this.pump();
    this.publishPositions();
  }

  /** Cancels a waiting or running job of this client. Returns false when there is no such job. */
  cancel(clientId: string, id: string): boolean {
    for (const [job, controller] of this.running) {
      if (job.clientId === clientId && job.id === id) {
        controller.abort();
        return true;
      }
    }
    const state = this.clients.get(clientId);
    const index = state?.waiting.findIndex((w) => w.job.id === id) ?? -1;
    if (!state || index < 0) return false;
    const [removed] = state.waiting.splice(index, 1);
    if (removed) this.drop(removed.job);
    this.publishPositions();
    return true;
  }

  /** The client went away: drop its waiting jobs and abort its running ones. */
  cancelClient(clientId: string): void {
    const state = this.clients.get(clientId);
    if (!state) return;
    const waiting = state.waiting.splice(0);
    for (const w of waiting) this.drop(w.job);
    for (const [job, controller] of this.running) if (job.clientId === clientId) controller.abort();
    this.publishPositions();
  }

  /** Jobs waiting or running. */
  get size(): number {
    return this.jobs;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Bytes held by the requests of jobs in flight (what the byte limits count). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Resolves when nothing is running or waiting (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.jobs === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private refusal(client: ClientState | undefined, bytes: number): string | undefined {
    const l = this.limits;
    const mine = client?.jobs ?? 0;
    if (this.jobs >= l.maxQueuedJobs) return `The daemon has ${this.jobs} jobs in flight, its limit (maxQueuedJobs).`;
    if (mine >= l.maxQueuedJobsPerClient) return `This connection has ${mine} jobs in flight, its limit (maxQueuedJobsPerClient).`;
    if (mine > 0 && (client?.bytes ?? 0) + bytes > l.maxQueuedBytesPerClient) {
      return `This connection's jobs in flight hold ${client?.bytes ?? 0} bytes; ${bytes} more would pass maxQueuedBytesPerClient (${l.maxQueuedBytesPerClient}).`;
    }
    if (this.jobs > 0 && this.bytes + bytes > l.maxQueuedBytes) {
      return `The daemon's jobs in flight hold ${this.bytes} bytes; ${bytes} more would pass maxQueuedBytes (${l.maxQueuedBytes}).`;
    }
    return undefined;
  }

  /** Clients that may start a job now, in the order they should: least recent start first, then arrival. */
  private eligible(): Array<[string, ClientState]> {
    return [...this.clients]
      .filter(([, s]) => s.waiting.length > 0 && s.running < this.maxRunningPerClient)
      .sort(([, a], [, b]) => a.lastStart - b.lastStart || (a.waiting[0]?.arrival ?? 0) - (b.waiting[0]?.arrival ?? 0));
  }

  private pump(): void {
    while (this.running.size < this.maxRunning) {
      const first = this.eligible()[0];
      if (!first) break;
      const [, state] = first;
      const next = state.waiting.shift();
      if (next) this.start(next.job, state);
    }
    if (this.jobs === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private start(job: QueueJob, state: ClientState): void {
    state.running++;
    state.lastStart = ++this.starts;
    const controller = new AbortController();
    this.running.set(job, controller);
    let done: Promise<void>;
    try {
      done = job.run(controller.signal);
    } catch (error) {
      done = Promise.reject(error);
    }
    void done
      .catch(() => undefined) // the job reports its own errors; the queue only keeps going
      .then(() => {
        this.running.delete(job);
        state.running--;
        this.release(job, state);
        this.pump();
        this.publishPositions();
      });
  }

  /**
   * The order waiting jobs are planned to start in: the pump's rule played forward, ignoring when
   * running jobs end (a client's next job can start only after its running one, so this is an estimate).
   */
  private plannedOrder(): Waiting[] {
    const queues = [...this.clients.values()]
      .filter((s) => s.waiting.length > 0)
      .map((s) => ({ lastStart: s.lastStart, jobs: s.waiting }));
    const order: Waiting[] = [];
    let clock = this.starts;
    const index = new Map(queues.map((q) => [q, 0]));
    for (;;) {
      let best: (typeof queues)[number] | undefined;
      for (const q of queues) {
        const head = q.jobs[index.get(q) ?? 0];
        if (!head) continue;
        const bestHead = best ? best.jobs[index.get(best) ?? 0] : undefined;
        if (!best || !bestHead || q.lastStart < best.lastStart || (q.lastStart === best.lastStart && head.arrival < bestHead.arrival)) best = q;
      }
      if (!best) return order;
      const i = index.get(best) ?? 0;
      const head = best.jobs[i];
      if (head) order.push(head);
      index.set(best, i + 1);
      best.lastStart = ++clock;
    }
  }

  private publishPositions(): void {
    this.plannedOrder().forEach((w, position) => {
      if (!shouldAnnounce(w.announced, position)) return;
      w.announced = position;
      w.job.onPosition?.(position);
    });
  }

  private drop(job: QueueJob): void {
    const state = this.clients.get(job.clientId);
    if (state) this.release(job, state);
    job.onDropped?.();
    if (this.jobs === 0) this.pump(); // wakes whenIdle
  }

  /** The job left the queue (ended or dropped): its counts and bytes are free again. */
  private release(job: QueueJob, state: ClientState): void {
    const bytes = job.bytes ?? 0;
    state.jobs--;
    state.bytes -= bytes;
    this.jobs--;
    this.bytes -= bytes;
    if (state.jobs === 0) this.clients.delete(job.clientId);
  }
}
