/**
 * The panel's state transitions: (state, action) → state, pure and synchronous. Daemon messages
 * about a request other than the one in flight (a late `progress` after the user moved on, an
 * answer to an old id) are ignored here, so the connection can forward everything it hears.
 */
import { ProtocolError } from '../../shared/protocol-errors.ts';
import type { DoneMessage, EncodedImage, GenerateEvent, Timings } from '../../shared/protocol.ts';
import type { PanelAction } from './actions.ts';
import { CONNECTION_BANNER_CODES, bannerFor, cancelledBanner, documentChangedBanner, offlineMessage, reconnectedBanner } from './banners.ts';
import { applySettingsPatch, clampToLimits, defaultSettings } from './settings.ts';
import type { HistoryEntry, ImageBytes, Job, JobOutcome, PanelState, PanelTask, VariantResult } from './types.ts';

/** History keeps this many generations (newest first). */
export const MAX_HISTORY = 50;

export function initialState(url = ''): PanelState {
  return {
    connection: { kind: 'connecting', url },
    welcome: null,
    task: 'fill',
    settings: defaultSettings(),
    job: null,
    strip: null,
    previewedVariant: null,
    chosenVariant: null,
    history: [],
    banner: null,
    nextGeneration: 1,
  };
}

const MIME: Record<EncodedImage['format'], string> = { jpeg: 'image/jpeg', webp: 'image/webp', png: 'image/png' };

export function toImageBytes(image: EncodedImage): ImageBytes {
  return { mime: MIME[image.format], format: image.format, width: image.width, height: image.height, data: image.data };
}

export function reduce(state: PanelState, action: PanelAction): PanelState {
  switch (action.type) {
    case 'connection/connecting':
      return { ...state, connection: { kind: 'connecting', url: action.url } };

    case 'connection/connected': {
      const { welcome } = action;
      const connection = { kind: 'connected' as const, url: action.url, server: welcome.server };
      // A connection that comes back says so, replacing the banners its loss left; a first connection
      // only clears a "Not connected" shown while it was being made.
      const wasDown = state.connection.kind === 'reconnecting' || state.connection.kind === 'offline';
      const staleBanner = state.banner?.code !== undefined && CONNECTION_BANNER_CODES.includes(state.banner.code);
      const banner = wasDown ? reconnectedBanner() : staleBanner ? null : state.banner;
      return { ...state, connection, welcome, settings: clampToLimits(state.settings, welcome.limits), banner };
    }

    case 'connection/reconnecting': {
      const { url, attempt, nextRetryAt, reason } = action;
      return endJobOnDisconnect({ ...state, connection: { kind: 'reconnecting', url, attempt, nextRetryAt, reason } }, action.at);
    }

    case 'connection/offline': {
      const { url, reason, attempt, nextRetryAt } = action;
      const connection = { kind: 'offline' as const, url, reason, attempt, nextRetryAt, message: offlineMessage(reason, url) };
      return endJobOnDisconnect({ ...state, connection }, action.at);
    }

    case 'task/select':
      return state.task === action.task ? state : { ...state, task: action.task };

    case 'settings/update':
      return { ...state, settings: applySettingsPatch(state.settings, action.task, action.patch, state.welcome?.limits) };

    case 'job/preparing': {
      if (state.job) return state; // one generation at a time
      const job = initialJob(state.nextGeneration, action.task, action.at);
      return { ...state, job, banner: null, nextGeneration: state.nextGeneration + 1 };
    }

    case 'job/sent': {
      const generation = state.job?.generation ?? state.nextGeneration;
      const job: Job = {
        ...(state.job ?? initialJob(generation, action.task, action.at)),
        requestId: action.requestId,
        task: action.task,
        variants: action.variants,
        phase: 'queued',
      };
      const strip = {
        generation,
        task: action.task,
        expected: action.variants,
        results: [],
        canvasOffset: action.canvasOffset,
        canvasResized: false,
        kept: [],
        documentId: action.documentId ?? null,
      };
      return {
        ...state,
        job,
        strip,
        previewedVariant: null,
        chosenVariant: null,
        nextGeneration: Math.max(state.nextGeneration, generation + 1),
      };
    }

    case 'daemon/event':
      return onDaemonEvent(state, action.message, action.at);

    case 'job/cancel-requested':
      return state.job && !state.job.cancelRequested ? { ...state, job: { ...state.job, cancelRequested: true } } : state;

    case 'job/cancelled': {
      if (!isCurrent(state, action.requestId)) return state;
      const { job } = state;
      // A job cancelled because its document went away keeps the banner that said so.
      const ownStrip = state.strip?.generation === job?.generation;
      const banner = job && job.requestId !== null && ownStrip ? cancelledBanner(job.results.length, job.variants) : state.banner;
      return { ...endJob(state, 'cancelled', action.at, null), banner };
    }

    case 'job/failed':
      if (!isCurrent(state, action.requestId)) return { ...state, banner: state.banner ?? action.banner };
      return { ...endJob(state, 'failed', action.at, null), banner: action.banner };

    case 'variant/previewed':
      if (action.variant !== null && !state.strip?.results.some((r) => r.variant === action.variant)) return state;
      if (state.previewedVariant === action.variant) return state;
      return { ...state, previewedVariant: action.variant, chosenVariant: action.variant ?? state.chosenVariant };

    case 'variant/kept': {
      const { strip } = state;
      const addKept = (kept: number[]): number[] => [...new Set([...kept, ...action.variants])].sort((a, b) => a - b);
      return {
        ...state,
        strip: strip && strip.generation === action.generation ? { ...strip, kept: addKept(strip.kept) } : strip,
        previewedVariant: null, // Keep removes the preview layer …
        chosenVariant: action.variants.length === 1 ? action.variants[0]! : state.chosenVariant, // … the big preview stays
        history: state.history.map((entry) => (entry.generation === action.generation ? { ...entry, kept: addKept(entry.kept) } : entry)),
      };
    }

    case 'strip/canvas-resized':
      return state.strip && state.strip.generation === action.generation && state.strip.canvasResized !== action.resized
        ? { ...state, strip: { ...state.strip, canvasResized: action.resized } }
        : state;

    case 'document/changed': {
      const { strip, job } = state;
      if (!strip || strip.documentId === null || strip.documentId === action.documentId) return state;
      const jobOfStrip = job !== null && job.generation === strip.generation;
      return {
        ...state,
        strip: null,
        previewedVariant: null,
        chosenVariant: null,
        job: jobOfStrip && job ? { ...job, cancelRequested: true } : job,
        banner: documentChangedBanner(jobOfStrip),
      };
    }

    case 'banner/show':
      return { ...state, banner: action.banner };

    case 'banner/dismiss':
      return state.banner === null ? state : { ...state, banner: null };
  }
}

function initialJob(generation: number, task: PanelTask, at: number): Job {
  return {
    generation, requestId: null, task, phase: 'preparing', cancelRequested: false, variants: 0, queuePosition: null,
    progress: null, seeds: [], model: null, sampler: null, steps: null, preview: null, results: [], startedAt: at,
  };
}

/** Whether an ending names the job in flight: its request id, or null for a job still preparing. */
function isCurrent(state: PanelState, requestId: string | null): boolean {
  return state.job !== null && state.job.requestId === requestId;
}

function onDaemonEvent(state: PanelState, message: GenerateEvent | DoneMessage, at: number): PanelState {
  const { job } = state;
  if (!job || job.requestId !== message.id) return state;
  switch (message.type) {
    case 'queued':
      return { ...state, job: { ...job, phase: 'queued', queuePosition: message.position } };
    case 'started':
      return {
        ...state,
        job: {
          ...job,
          phase: 'running',
          queuePosition: null,
          seeds: [...message.seeds],
          model: message.model,
          sampler: message.sampler,
          steps: message.steps,
          variants: message.variants,
        },
        strip: state.strip && state.strip.generation === job.generation ? { ...state.strip, expected: message.variants } : state.strip,
      };
    case 'progress': {
      const progress = { step: message.step, total: message.total, etaMs: message.etaMs, label: message.label };
      const phase = job.results.length > 0 || (message.total > 0 && message.step >= message.total) ? 'finishing' : 'running';
      return { ...state, job: { ...job, phase, queuePosition: null, progress } };
    }
    case 'preview':
      return { ...state, job: { ...job, preview: { step: message.step, images: message.images.map(toImageBytes) } } };
    case 'result': {
      const result: VariantResult = {
        variant: message.variant,
        seed: message.seed,
        layer: { x: message.layer.x, y: message.layer.y, image: toImageBytes(message.layer.image) },
        canvas: { width: message.canvas.width, height: message.canvas.height },
      };
      const strip = state.strip && state.strip.generation === job.generation
        ? { ...state.strip, results: [...state.strip.results, result] }
        : state.strip;
      return { ...state, job: { ...job, phase: 'finishing', results: [...job.results, result] }, strip };
    }
    case 'done':
      return endJob(state, 'done', at, message.timings);
  }
}

/** Ends the job in flight, recording it in the history when it had been sent. */
function endJob(state: PanelState, outcome: JobOutcome, at: number, timings: Timings | null): PanelState {
  const { job } = state;
  if (!job) return state;
  if (job.requestId === null) return { ...state, job: null }; // never sent: not a generation
  const entry: HistoryEntry = {
    generation: job.generation,
    task: job.task,
    startedAt: job.startedAt,
    finishedAt: at,
    outcome,
    variants: job.variants,
    seeds: job.seeds.length > 0 ? [...job.seeds] : job.results.map((r) => r.seed),
    results: job.results.length,
    kept: state.strip?.generation === job.generation ? [...state.strip.kept] : [],
    timings,
  };
  return { ...state, job: null, history: [entry, ...state.history].slice(0, MAX_HISTORY) };
}

/** Requests never survive a reconnect: a job already sent ends as failed, with the banner that says so. */
function endJobOnDisconnect(state: PanelState, at: number): PanelState {
  if (!state.job || state.job.requestId === null) return state;
  const banner = bannerFor(new ProtocolError('CONNECTION_CLOSED', 'The connection to the daemon closed.'));
  return { ...endJob(state, 'failed', at, null), banner };
}
