/**
 * The turnstile in front of the model. Every model call of every running job comes here; one call
 * runs at a time (the model saturates the device), and the next one is chosen fairly between clients
 * at the granularity of one call, not one job:
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
 * The scheduler holds the calls themselves (model and inputs), not a lock a job takes, so batching
 * the calls of several jobs into one model call (same model and [3,H,W]) can be built on `next()`:
 * take the chosen call, then the compatible pending calls in tag order, concatenate, split ε̂.
 */
import type { DenoiseInputs, Denoiser, NchwTensor } from './model-runner.ts';

/** The calls one job makes, and whose fair share they count against. */
export interface CallTicket {
  clientId: string;
  jobId: string;
}

/** What a job sees of its model: the same shape as a Denoiser, its calls going through the scheduler. */
export type ModelCalls = Pick<Denoiser, 'manifest' | 'device' | 'denoise'>;

interface PendingCall {
  ticket: CallTicket;
  model: Denoiser;
  inputs: DenoiseInputs;
  cost: number;
  arrival: number;
  resolve: (eps: NchwTensor) => void;
  reject: (error: unknown) => void;
  /** Removes the abort listener once the call left the line. */
  detach: () => void;
}

export interface SchedulerStats {
  /** Model calls sent to the model so far. */
  calls: number;
  /** Calls waiting for their turn now. */
  waiting: number;
}

export class ModelScheduler {
  /** In arrival order; short (about one call per running job), so a linear scan picks the next. */
  private pending: PendingCall[] = [];
  private readonly finishTags = new Map<string, number>();
  private virtualTime = 0;
  private arrivals = 0;
  private busy = false;
  private sent = 0;

  /** Queues one model call for `ticket`'s client; settles when the model answers. */
  denoise(ticket: CallTicket, model: Denoiser, inputs: DenoiseInputs, signal?: AbortSignal): Promise<NchwTensor> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<NchwTensor>((resolve, reject) => {
      const [batch, , height, width] = inputs.cond.dims;
      const call: PendingCall = {
        ticket, model, inputs, cost: batch * height * width, arrival: this.arrivals++, resolve, reject, detach: () => undefined,
      };
      if (signal) {
        // A cancelled job leaves the line at once (and its inputs with it), instead of waiting its turn.
        const onAbort = () => {
          const index = this.pending.indexOf(call);
          if (index < 0) return;
          this.pending.splice(index, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        call.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.push(call);
      this.pump();
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
    return { calls: this.sent, waiting: this.pending.length };
  }

  /** The call to run next (see the header), removed from the line. */
  private next(): PendingCall | undefined {
    let best: { call: PendingCall; start: number } | undefined;
    const seen = new Set<string>();
    for (const call of this.pending) {
      const client = call.ticket.clientId;
      if (seen.has(client)) continue; // only a client's oldest call competes
      seen.add(client);
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

  private pump(): void {
    if (this.busy) return;
    const call = this.next();
    if (!call) return;
    this.busy = true;
    this.sent++;
    call.detach();
    let result: Promise<NchwTensor>;
    try {
      result = call.model.denoise(call.inputs);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(call.resolve, call.reject).finally(() => {
      this.busy = false;
      this.pump();
    });
  }
}
