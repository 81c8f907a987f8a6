/**
 * Derived values the UI and the controller need: the status line's text, the progress text, layer
 * names, and where a result goes in the document (before and after an extend resized the canvas).
 */
import type { CanvasResize, NewLayer, PlacedImage } from '../editor/editor-document.ts';
import type { ConnectionStatus, Job, PanelState, PanelTask, VariantResult, VariantStrip } from './types.ts';

/** The status line. Contains "Connected", "Reconnecting" or "No daemon" (browser tests look for them). */
export function connectionText(status: ConnectionStatus, now: number): string {
  switch (status.kind) {
    case 'connecting':
      return `Connecting to ${status.url}…`;
    case 'connected':
      return `Connected to ${status.server.name} ${status.server.version}`;
    case 'reconnecting':
      return `Reconnecting (attempt ${status.attempt},${retryIn(status.nextRetryAt, now)})… ${status.reason}`.trim();
    case 'offline':
      // The message starts with "No daemon at …" when unreachable (see offlineMessage).
      return status.nextRetryAt === null ? status.message : `${status.message} (next try${retryIn(status.nextRetryAt, now)})`;
  }
}

function retryIn(at: number | null, now: number): string {
  if (at === null) return '';
  const seconds = Math.max(0, Math.ceil((at - now) / 1000));
  return ` in ${seconds} s`;
}

export function isConnected(state: PanelState): boolean {
  return state.connection.kind === 'connected';
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * Time left while steps remain: rounded up, so it never reads "0 s left" before the last step (the
 * daemon's step/total and etaMs cover the whole request: every tile, pass and sub-batch).
 */
export function formatRemaining(ms: number): string {
  return formatDuration(Math.max(1, Math.ceil(ms / 1000)) * 1000);
}

/** One line about the job: phase, step/total, ETA and the daemon's stage label. */
export function jobStatusText(job: Job): string {
  if (job.cancelRequested) return 'Cancelling…';
  switch (job.phase) {
    case 'preparing':
      return 'Reading the document…';
    case 'queued':
      return job.queuePosition ? `Queued: ${job.queuePosition} ahead` : 'Queued';
    case 'running':
    case 'finishing': {
      const p = job.progress;
      const done = job.results.length;
      const base = p ? `Step ${p.step}/${p.total}` : 'Starting';
      const eta = p && p.step < p.total && p.etaMs > 0 ? ` · ${formatRemaining(p.etaMs)} left` : '';
      const label = p?.label ? ` · ${p.label}` : '';
      const results = job.phase === 'finishing' ? ` · ${done}/${job.variants} variants` : '';
      return `${base}${eta}${label}${results}`;
    }
  }
}

/** Progress as 0 … 1, or null when indeterminate (preparing, queued, before the first step). */
export function jobProgressFraction(job: Job): number | null {
  const p = job.progress;
  if (job.phase === 'preparing' || job.phase === 'queued' || !p || p.total <= 0) return null;
  return Math.min(1, p.step / p.total);
}

/**
 * The bar's percentage, rounded down: "100 %" only once every step is done (rounding to nearest
 * would show it for the last 0.5 % of a long multi-tile job).
 */
export function progressPercent(fraction: number): number {
  return fraction >= 1 ? 100 : Math.floor(fraction * 100);
}

export function layerName(task: PanelTask, seed: number): string {
  return `Palette ${task} · seed ${seed}`;
}

export function groupName(task: PanelTask, count: number): string {
  return `Palette ${task} · ${count} variant${count === 1 ? '' : 's'}`;
}

export function stripResult(strip: VariantStrip | null, variant: number): VariantResult | undefined {
  return strip?.results.find((r) => r.variant === variant);
}

/**
 * Where to show a result as the document's preview layer. Extend results are in the coordinates
 * of the extended canvas; until the canvas is resized they are shifted so the original lines up.
 */
export function previewPlacement(strip: VariantStrip, result: VariantResult): PlacedImage {
  const shift = strip.task === 'extend' && !strip.canvasResized ? strip.canvasOffset : { x: 0, y: 0 };
  const { image } = result.layer;
  return { x: result.layer.x - shift.x, y: result.layer.y - shift.y, png: image.data, width: image.width, height: image.height };
}

/** The layer Keep adds (after the canvas resize, for extend). */
export function keptLayer(strip: VariantStrip, result: VariantResult): NewLayer {
  const { image } = result.layer;
  return { name: layerName(strip.task, result.seed), x: result.layer.x, y: result.layer.y, png: image.data, width: image.width, height: image.height };
}

/** Extend: the canvas resize to do before the first Keep; null when none is needed. */
export function canvasResizeFor(strip: VariantStrip, result: VariantResult): CanvasResize | null {
  if (strip.task !== 'extend' || strip.canvasResized) return null;
  return { width: result.canvas.width, height: result.canvas.height, offsetX: strip.canvasOffset.x, offsetY: strip.canvasOffset.y };
}
