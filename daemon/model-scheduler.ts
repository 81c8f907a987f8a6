/**
 * The turnstile in front of the model. Every model call of every running job comes here; one model
 * call runs at a time (the model saturates the device; a pool of inference servers, daemon/kserve-pool.ts,
 * takes one per server: its `concurrency`), and the next one is chosen fairly between clients at the
 * granularity of one call, not one job:
 *
 * Start-time fair queueing (Goyal et al., 1996) over model work. A call's cost is batch × H × W, the
 * pixels the network computes. A client's next call gets the start tag S = max(V, F_client), where V
 * is the start tag of the call last sent to the model and F_client the finish tag (S + cost) of the
 * client's previous call; the pending call with the smallest S runs next, the older one on a tie.
 * So:
 * - a newcomer (no F yet) gets S = V and runs right after the call now running;
 * - a 1-variant job beside an 8-variant one gets about 8 calls per call of the big job (equal pixel
 *   work), so a small job's wait is a few model calls, not the big job's length;
 * - a client that sat idle does not bank credit (max with V), and one client's many calls run in
 *   the order they came.
 *
 * Cross-job batching (`batching: true`; off by default, see below). When the model is free, the call
 * chosen as above heads a merged call; then, by the same rule, the pending calls that can share it
 * join: same model object, same [3,H,W], well-formed inputs, and the sum of batch × H × W within
 * `maxBatchPixels` (the job runner's own bound, 8 × 256², so a merged call needs no more memory than
 * one job may already ask for). Each pick moves V and the picked client's F exactly as if the calls
 * had run one after another, so every client is charged its own pixels, not the merged call's. Only
 * a client's oldest waiting call competes, so a client may add more than one call (its calls of
 * different jobs, in the order they came) but never out of order; a call that cannot join (another
 * size or model) is skipped, and since its tag is then the smallest it runs right after. cond, y_t
 * and γ (one per sample) are concatenated, the model runs once, ε̂ is split back.
 *
 * Only models whose manifest says `batch_invariant` are merged, so merging never changes a pixel:
 * same seeds → bit-identical pixels, whatever else is in the call. Graphs exported before
 * palette-small-v5's re-export were not: onnxruntime (1.30, this machine's AVX kernels) computes
 * log, sin and cos with SIMD over whole vectors and a scalar loop over the tail, and the γ embedding
 * ran them on [B] tensors, so a sample's ε̂ moved in the last bits with its row in the batch (rows 0–3
 * of a batch of 4 differed from the sample alone, a batch of 3 did not). The embedding now runs on
 * rows of 16 lanes per sample (models/training/palette_training/unet.py), and `python -m
 * palette_training reexport` rebuilt the shipped graphs from their own weights (bench:exactness: a
 * probe sample gives one ε̂ at every row of batches of 1–9; models/README.md). An older model's
 * calls run one at a time even with batching on. Still off by default: merging is not faster on
 * this 2-core CPU: one call of 8 samples at 128² took 687 ms, 4 calls of 2 took 608 ms
 * (bench/cross-job-batching.ts: 0.82× the throughput); it is for devices where a bigger batch is
 * cheaper per sample. (On a GPU the kernels a library picks can depend on the batch size; only the
 * CPU was measured.)
 *
 * Gathering costs no waiting: a job sends its next call from the microtasks that follow its ε̂, so
 * with batching on the scheduler starts a model call from a macrotask (setImmediate) after settling
 * the last one (or after a call came to an idle model), by which time every job it answered has
 * queued its next step, and jobs started together their first.
 */
import { DEFAULT_MAX_BATCH_PIXELS } from './job-runner.ts';
import type { DenoiseInputs, Denoiser, NchwTensor } from './model-runner.ts';

/** The calls one job makes, and whose fair share they count against. */
export interface CallTicket {
  clientId: string;
  jobId: string;
}

/** What a job sees of its model: the same shape as a Denoiser, its calls going through the scheduler. */
export type ModelCalls = Pick<Denoiser, 'manifest' | 'device' | 'denoise'>;

export interface ModelSchedulerOptions {
  /** Merge the calls of concurrent jobs into one model call (see the header; batch-invariant models only). Default false. */
  batching?: boolean;
  /** Pixels (batch × H × W) per merged call at most. Default the job runner's 8 × 256². */
  maxBatchPixels?: number;
}

interface PendingCall {
  ticket: CallTicket;
  model: Denoiser;
  inputs: DenoiseInputs;
  cost: number;
  arrival: number;
  resolve: (eps: NchwTensor) => void;
  reject: (error: unknown) => void;
  /** Removes the abort listener once the call is settled. */
  detach: () => void;
}

export interface SchedulerStats {
  /** Model calls sent to the model so far (a merged call counts once). */
  calls: number;
  /** Jobs' calls answered by a model call they shared with another job's call. */
  merged: number;
  /** Calls waiting for their turn now. */
  waiting: number;
}

export class ModelScheduler {
  /** In arrival order; short (about one call per running job), so a linear scan picks the next. */
  private pending: PendingCall[] = [];
  private readonly finishTags = new Map<string, number>();
  private virtualTime = 0;
  private arrivals = 0;
  /** Model calls in flight (at most the model's `concurrency`: 1, or one per node of a server pool). */
  private running = 0;
  /** A pump is due from a setImmediate (batching on). */
  private gathering = false;
  private sent = 0;
  private merged = 0;
  /** Whether calls of concurrent jobs are merged (options.batching). */
  readonly batching: boolean;
  private readonly maxBatchPixels: number;

  constructor(options: ModelSchedulerOptions = {}) {
    this.batching = options.batching ?? false;
    this.maxBatchPixels = options.maxBatchPixels ?? DEFAULT_MAX_BATCH_PIXELS;
  }

  /**
   * Queues one model call for `ticket`'s client; settles when the model answers. An abort rejects it
   * at once with the signal's reason, waiting or running (a running merged call goes on for the others).
   */
  denoise(ticket: CallTicket, model: Denoiser, inputs: DenoiseInputs, signal?: AbortSignal): Promise<NchwTensor> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<NchwTensor>((resolve, reject) => {
      const [batch, , height, width] = inputs.cond.dims;
      const call: PendingCall = {
        ticket, model, inputs, cost: batch * height * width, arrival: this.arrivals++,
        resolve: (eps) => this.settle(call, () => resolve(eps)),
        reject: (error) => this.settle(call, () => reject(error)),
        detach: () => undefined,
      };
      if (signal) {
        // A cancelled job leaves the line at once (and its inputs with it), instead of waiting its turn.
        const onAbort = () => {
          const index = this.pending.indexOf(call);
          if (index >= 0) this.pending.splice(index, 1);
          call.reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        call.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.push(call);
      this.kick();
    });
  }

  /** The model as one job sees it: every call goes through this scheduler under `ticket`. */
  forJob(ticket: CallTicket, signal?: AbortSignal): (model: Denoiser) => ModelCalls {
    return (model) => ({
      manifest: model.manifest,
      device: model.device,
      denoise: (inputs) => this.denoise(ticket, model, inputs, signal),
    });
  }

  get stats(): SchedulerStats {
    return { calls: this.sent, merged: this.merged, waiting: this.pending.length };
  }

  /** An aborted call is settled at once; the model's later answer for it then changes nothing. */
  private settle(call: PendingCall, settle: () => void): void {
    call.detach();
    settle();
  }

  /**
   * The pending call to run next among those `fits` accepts (see the header), removed from the line,
   * with V and its client's F moved on.
   */
  private next(fits: (call: PendingCall) => boolean = () => true): PendingCall | undefined {
    let best: { call: PendingCall; start: number } | undefined;
    const seen = new Set<string>();
    for (const call of this.pending) {
      const client = call.ticket.clientId;
      if (seen.has(client)) continue; // only a client's oldest call competes
      seen.add(client);
      if (!fits(call)) continue;
      const start = Math.max(this.virtualTime, this.finishTags.get(client) ?? 0);
      if (!best || start < best.start || (start === best.start && call.arrival < best.call.arrival)) best = { call, start };
    }
    if (!best) return undefined;
    this.pending.splice(this.pending.indexOf(best.call), 1);
    this.virtualTime = best.start;
    this.finishTags.set(best.call.ticket.clientId, best.start + best.call.cost);
    // A finish tag at or below V is the same as none: forget it so the map stays small.
    for (const [client, finish] of this.finishTags) if (finish <= this.virtualTime) this.finishTags.delete(client);
    return best.call;
  }

  /** The head call and the calls that join it, in the order they were picked. */
  private nextGroup(): PendingCall[] {
    const head = this.next((call) => this.running < (call.model.concurrency ?? 1));
    if (!head) return [];
    const group = [head];
    if (!this.batching || head.model.manifest.batch_invariant !== true || !wellFormed(head.inputs)) return group;
    const [, , height, width] = head.inputs.cond.dims;
    let pixels = head.cost;
    for (;;) {
      const joining = this.next((call) => call.model === head.model && wellFormed(call.inputs)
        && call.inputs.cond.dims[2] === height && call.inputs.cond.dims[3] === width
        && pixels + call.cost <= this.maxBatchPixels);
      if (!joining) return group;
      group.push(joining);
      pixels += joining.cost;
    }
  }

  /** Starts model calls while the model has room (one at a time unless it is a pool of servers). */
  private pump(): void {
    for (;;) {
      const group = this.nextGroup();
      if (group.length === 0) return;
      this.start(group);
    }
  }

  private start(group: PendingCall[]): void {
    const head = group[0]!;
    this.running++;
    this.sent++;
    if (group.length > 1) this.merged += group.length;
    let result: Promise<NchwTensor>;
    try {
      result = head.model.denoise(group.length === 1 ? head.inputs : concatenate(group.map((c) => c.inputs)));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (eps) => {
        let offset = 0;
        for (const call of group) {
          const length = call.inputs.cond.data.length;
          const dims = call.inputs.cond.dims;
          call.resolve(group.length === 1 ? eps : { data: eps.data.subarray(offset, offset + length), dims });
          offset += length;
        }
      },
      (error: unknown) => {
        for (const call of group) call.reject(error);
      },
    ).finally(() => {
      this.running--;
      this.kick();
    });
  }

  /**
   * Starts the next model call if the model is free: at once without batching; with batching from a
   * macrotask, so the jobs just answered (or started together) have queued their calls (see the header).
   */
  private kick(): void {
    if (!this.batching) return this.pump();
    if (this.gathering) return;
    this.gathering = true;
    setImmediate(() => {
      this.gathering = false;
      this.pump();
    });
  }
}

/** Inputs that can share a call without spoiling it: [B,3,H,W] alike for cond and y_t, B gammas. */
function wellFormed({ cond, yT, gamma }: DenoiseInputs): boolean {
  const [b, c, h, w] = cond.dims;
  return c === 3 && yT.dims.join() === cond.dims.join() && gamma.length === b
    && cond.data.length === b * c * h * w && yT.data.length === cond.data.length;
}

function concatenate(parts: DenoiseInputs[]): DenoiseInputs {
  const [, c, h, w] = parts[0]!.cond.dims;
  const batch = parts.reduce((sum, p) => sum + p.cond.dims[0], 0);
  const dims = [batch, c, h, w] as const;
  const cond = new Float32Array(batch * c * h * w);
  const yT = new Float32Array(cond.length);
  const gamma = new Float32Array(batch);
  let offset = 0;
  let item = 0;
  for (const p of parts) {
    cond.set(p.cond.data, offset);
    yT.set(p.yT.data, offset);
    gamma.set(p.gamma, item);
    offset += p.cond.data.length;
    item += p.gamma.length;
  }
  return { cond: { data: cond, dims }, yT: { data: yT, dims }, gamma };
}
