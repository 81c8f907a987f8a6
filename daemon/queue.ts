/**
 * The job queue: one job runs at a time on the model (the model saturates the machine), and clients
 * take turns: round-robin between clients, FIFO within a client. A client that queues many jobs (or one
 * 8-variant job after another) cannot starve another client's job; that job runs next.
 *
 * Cancellation: a queued job is removed at once; a running job's AbortSignal fires and the sampling loop
 * stops before its next model call. A disconnect cancels all of that client's jobs.
 */

export interface QueueJob {
  id: string;
  clientId: string;
  /** Runs the job; must settle soon after `signal` aborts. */
  run: (signal: AbortSignal) => Promise<void>;
  /** Jobs ahead of this one; called on enqueue and whenever the number changes. */
  onPosition?: (position: number) => void;
  /** Called once when the job is removed before it started (cancel or client gone). */
  onDropped?: () => void;
}

interface Running {
  job: QueueJob;
  controller: AbortController;
  done: Promise<void>;
}

export class FairQueue {
  /** Clients in turn order; each with its own FIFO of waiting jobs. */
  private readonly waiting = new Map<string, QueueJob[]>();
  private turnOrder: string[] = [];
  private running: Running | undefined;
  private readonly lastPositions = new Map<QueueJob, number>();
  private idleWaiters: Array<() => void> = [];

  enqueue(job: QueueJob): void {
    const list = this.waiting.get(job.clientId);
    if (list) list.push(job);
    else {
      this.waiting.set(job.clientId, [job]);
      this.turnOrder.push(job.clientId);
    }
    this.publishPositions();
    this.pump();
  }

  /** Cancels a queued or running job of this client. Returns false when there is no such job. */
  cancel(clientId: string, id: string): boolean {
    if (this.running && this.running.job.clientId === clientId && this.running.job.id === id) {
      this.running.controller.abort();
      return true;
    }
    const list = this.waiting.get(clientId);
    const index = list?.findIndex((job) => job.id === id) ?? -1;
    if (!list || index < 0) return false;
    const [job] = list.splice(index, 1);
    if (list.length === 0) this.removeClient(clientId);
    if (job) this.drop(job);
    this.publishPositions();
    return true;
  }

  /** The client went away: drop its queued jobs and abort its running one. */
  cancelClient(clientId: string): void {
    const list = this.waiting.get(clientId) ?? [];
    this.removeClient(clientId);
    for (const job of list) this.drop(job);
    if (this.running?.job.clientId === clientId) this.running.controller.abort();
    this.publishPositions();
  }

  get size(): number {
    let n = this.running ? 1 : 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  /** Resolves when nothing is running or waiting (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The order jobs will start in: one job per client per round, clients in turn order. */
  private plannedOrder(): QueueJob[] {
    const lists = this.turnOrder.map((client) => [...(this.waiting.get(client) ?? [])]);
    const order: QueueJob[] = [];
    for (let round = 0; lists.some((l) => l.length > round); round++) {
      for (const list of lists) {
        const job = list[round];
        if (job) order.push(job);
      }
    }
    return order;
  }

  private publishPositions(): void {
    const ahead = this.running ? 1 : 0;
    this.plannedOrder().forEach((job, index) => {
      const position = index + ahead;
      if (this.lastPositions.get(job) !== position) {
        this.lastPositions.set(job, position);
        job.onPosition?.(position);
      }
    });
  }

  private takeNext(): QueueJob | undefined {
    const client = this.turnOrder.shift();
    if (client === undefined) return undefined;
    const list = this.waiting.get(client);
    const job = list?.shift();
    if (list && list.length > 0) this.turnOrder.push(client); // back of the line for its next job
    else this.waiting.delete(client);
    return job;
  }

  private pump(): void {
    if (this.running) return;
    const job = this.takeNext();
    if (!job) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    this.lastPositions.delete(job);
    const controller = new AbortController();
    const done = job.run(controller.signal).then(
      () => undefined,
      () => undefined, // the job reports its own errors; the queue only keeps going
    );
    this.running = { job, controller, done };
    this.publishPositions();
    void done.then(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private removeClient(clientId: string): void {
    this.waiting.delete(clientId);
    this.turnOrder = this.turnOrder.filter((c) => c !== clientId);
  }

  private drop(job: QueueJob): void {
    this.lastPositions.delete(job);
    job.onDropped?.();
  }
}
