/**
 * The panel's state, as plain data: what the connection is doing, what the daemon offers, the
 * settings of each task, the job in flight, the variant strip, this session's history and the
 * banner the user sees. No React and no socket here: plugin/connection and plugin/ui dispatch
 * actions (actions.ts) and the reducer (reducer.ts) computes the next state.
 */
import type { EncodedImageFormat, ModelInfo, ProtocolLimits, Timings } from '../../shared/protocol.ts';

/** The tasks as the panel names them; `extend` is the wire protocol's `uncrop`. */
export type PanelTask = 'fill' | 'colorize' | 'extend' | 'restore';
export const PANEL_TASKS: readonly PanelTask[] = ['fill', 'colorize', 'extend', 'restore'];

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

/** Why the panel is offline: the daemon cannot be reached, or it refused us for good. */
export type OfflineReason = 'unreachable' | 'unauthorized' | 'version-mismatch';

export type ConnectionStatus =
  | { kind: 'connecting'; url: string }
  | { kind: 'connected'; url: string; server: { name: string; version: string } }
  /** Lost a connection that worked; `attempt` is the number of the retry that runs at `nextRetryAt` (epoch ms). */
  | { kind: 'reconnecting'; url: string; attempt: number; nextRetryAt: number; reason: string }
  /**
   * No daemon (or a daemon that refused us). `message` tells the user what to do. `nextRetryAt` is
   * null when the panel does not retry by itself (a wrong token or a version mismatch).
   */
  | { kind: 'offline'; url: string; reason: OfflineReason; message: string; attempt: number; nextRetryAt: number | null };

/** What the daemon said in `welcome`. */
export interface WelcomeInfo {
  server: { name: string; version: string };
  models: ModelInfo[];
  defaultModel: string | null;
  limits: ProtocolLimits;
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

export type QualityPreset = 'fast' | 'balanced' | 'best';

/** A fixed base seed (variant i gets seed + i), or seeds the daemon draws each time. */
export interface SeedSetting {
  locked: boolean;
  /** 0 … 2³²−1; used only when locked. */
  seed: number;
}

/** The side of the model jobs (GenerateRequest.workingSize); 'auto' = the model's for the task. */
export type WorkingSizeChoice = 'auto' | 64 | 96 | 128 | 192 | 256;
export const WORKING_SIZE_CHOICES: readonly WorkingSizeChoice[] = ['auto', 64, 96, 128, 192, 256];

export interface CommonSettings {
  /** 1 … limits.maxVariants (≤ 8). */
  variants: number;
  quality: QualityPreset;
  seed: SeedSetting;
  workingSize: WorkingSizeChoice;
}

export interface FillSettings extends CommonSettings {
  /** Soft edge of the pasted result, 0 … 256 px. */
  feather: number;
  /** Grow (> 0) or shrink (< 0) the selection first, −256 … 256 px. */
  grow: number;
  /**
   * Read a soft selection as per-pixel strength (the request's `fill.maskMode: 'strength'`): a half-selected
   * pixel changes half as much. Off: pixels selected at least half are regenerated whole.
   */
  softSelection: boolean;
}

export type ExtendSide = 'left' | 'right' | 'top' | 'bottom';
export const EXTEND_SIDES: readonly ExtendSide[] = ['left', 'right', 'top', 'bottom'];
/** Percent of the image's width (left/right) or height (top/bottom), or pixels. */
export type ExtendUnit = 'percent' | 'px';

export interface ExtendSettings extends CommonSettings {
  sides: Record<ExtendSide, boolean>;
  /** 0 … 400 percent, or 0 … 16384 px. */
  amount: number;
  unit: ExtendUnit;
  /**
   * 1 … 100 %: how much of the sampling schedule runs, starting from the photo mirrored outward
   * noised to that level (GenerateRequest.strength); 100 = from pure noise (the most varied variants).
   */
  strength: number;
}

export interface RestoreSettings extends CommonSettings {
  /**
   * 1 … 100 %: how much of the sampling schedule runs, starting from the JPEG itself noised to that
   * level (GenerateRequest.strength); 100 = from pure noise. The result stays consistent with the JPEG
   * at any strength. Used only when `autoStrength` is off.
   */
  strength: number;
  /** Let the daemon choose the strength from the JPEG's estimated quality (0.3 up to q10, 0.15 from q20). */
  autoStrength: boolean;
}

export interface ColorizeSettings extends CommonSettings {
  /**
   * Colorize keeps only a layer's brightness: on a layer that already has colour it asks first
   * (LAYER_HAS_COLOUR) unless this is on.
   */
  replaceColour: boolean;
}

export interface TaskSettings {
  fill: FillSettings;
  colorize: ColorizeSettings;
  extend: ExtendSettings;
  restore: RestoreSettings;
}

// ---------------------------------------------------------------------------------------------
// Jobs and results
// ---------------------------------------------------------------------------------------------

/** Encoded image bytes ready for `new Blob([data], { type: mime })` → an object URL. */
export interface ImageBytes {
  mime: string;
  format: EncodedImageFormat;
  width: number;
  height: number;
  data: Uint8Array;
}

export interface VariantResult {
  variant: number;
  seed: number;
  /** A PNG (alpha = coverage) to place with its top-left corner at (x, y) on the result canvas. */
  layer: { x: number; y: number; image: ImageBytes };
  /** The document size after the task (larger than the image for extend). */
  canvas: { width: number; height: number };
}

/**
 * preparing: reading the document and building the request (nothing sent yet);
 * queued: sent, waiting in the daemon's queue; running: sampling; finishing: sampling is over and
 * the results are arriving.
 */
export type JobPhase = 'preparing' | 'queued' | 'running' | 'finishing';

export interface JobProgress {
  step: number;
  total: number;
  etaMs: number;
  label: string;
}

export interface Job {
  /** The panel's own counter: one per Generate press. */
  generation: number;
  /** The protocol request id; null while preparing. */
  requestId: string | null;
  task: PanelTask;
  phase: JobPhase;
  /** Set when the user pressed Cancel; the job ends with `cancelled` (or `done` if it won the race). */
  cancelRequested: boolean;
  variants: number;
  /** Jobs ahead of this one in the daemon's queue; null when not queued. */
  queuePosition: number | null;
  progress: JobProgress | null;
  /** From `started`: the seeds used (drawn by the daemon when not locked), model, sampler, steps. */
  seeds: number[];
  model: string | null;
  sampler: string | null;
  steps: number | null;
  /** The latest refinement preview, one image per variant. */
  preview: { step: number; images: ImageBytes[] } | null;
  results: VariantResult[];
  startedAt: number;
}

/** The results of the latest generation, shown as thumbnails; kept until the next generation is sent. */
export interface VariantStrip {
  generation: number;
  task: PanelTask;
  /** How many variants were asked for (thumbnails still missing show as placeholders). */
  expected: number;
  results: VariantResult[];
  /**
   * Extend only: where the original canvas's top-left lands on the result canvas (the left and top
   * extensions in px), used to resize the canvas on Keep and to place previews before that.
   */
  canvasOffset: { x: number; y: number };
  /**
   * Extend only: the document's canvas has the result's size (after the first Keep). Read again from
   * the document before each preview and Keep, since an undo can shrink it back.
   */
  canvasResized: boolean;
  /** Variants (numbers) already added to the document as layers. */
  kept: number[];
  /**
   * The document the job read (EditorDocument.documentId), or null when the host cannot tell
   * documents apart. Results are never previewed in or kept into another document.
   */
  documentId: string | null;
}

export type JobOutcome = 'done' | 'cancelled' | 'failed';

export interface HistoryEntry {
  generation: number;
  task: PanelTask;
  startedAt: number;
  finishedAt: number;
  outcome: JobOutcome;
  variants: number;
  /** Seeds of the variants (from `started`; empty if the job ended before). */
  seeds: number[];
  /** Results received. */
  results: number;
  /** Variants the user kept as layers. */
  kept: number[];
  timings: Timings | null;
}

// ---------------------------------------------------------------------------------------------
// Banner and the whole state
// ---------------------------------------------------------------------------------------------

/** A user-visible problem: what happened (title) and what to do about it (action). */
export interface Banner {
  tone: 'negative' | 'notice';
  title: string;
  action: string;
  /** The underlying message (e.g. the daemon's), for the curious and for bug reports. */
  detail?: string;
  /** The error code behind it (protocol, editor or panel code). */
  code?: string;
}

export interface PanelState {
  connection: ConnectionStatus;
  /** The last `welcome`; null until the first connection. Kept while reconnecting. */
  welcome: WelcomeInfo | null;
  task: PanelTask;
  settings: TaskSettings;
  job: Job | null;
  strip: VariantStrip | null;
  /** The strip variant (number) shown as the document's preview layer, or null. */
  previewedVariant: number | null;
  /**
   * The variant the big preview shows: the one last clicked or previewed, kept after Keep (which
   * removes the preview layer) so the big preview does not jump back to variant 1. Null: the first.
   */
  chosenVariant: number | null;
  /** Finished generations of this session, newest first. */
  history: HistoryEntry[];
  banner: Banner | null;
  nextGeneration: number;
}
