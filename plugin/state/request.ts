/**
 * Settings + what the editor gave us → one GenerateRequest. Pure: the controller reads the
 * document (plugin/editor) and hands the pixels in; problems the user can fix (no selection, an
 * empty layer, no side to extend) throw a PanelError whose banner says what to do.
 *
 * Images go over the wire as rgba8: the editors hand us raw RGBA, every host can send it without a
 * PNG encoder, and the protocol's frame limit (300 MiB) holds a 64-megapixel image. The client
 * checks the frame against the daemon's announced limit and fails with PAYLOAD_TOO_LARGE before
 * sending, which becomes the "image is too large" banner.
 */
import { resolveExtend } from '../../shared/validate.ts';
import {
  DEFAULT_PREVIEW_FORMAT,
  DEFAULT_PREVIEW_INTERVAL_MS,
  DEFAULT_PREVIEW_MAX_SIZE,
  type ExtendSpec,
  type GenerateRequest,
} from '../../shared/protocol.ts';
import type { MaskPixels, RgbaPixels } from '../editor/editor-document.ts';
import { PanelError } from './banners.ts';
import { clampVariants, seedsFor, stepsFor, wireTask } from './settings.ts';
import { EXTEND_SIDES, type ExtendSettings, type PanelTask, type TaskSettings, type WelcomeInfo } from './types.ts';

export interface EditorInputs {
  /** The active layer over the whole document. */
  layer: RgbaPixels;
  /** The selection (fill only); null when nothing is selected. */
  selection: MaskPixels | null;
}

export interface PreparedRequest {
  request: GenerateRequest;
  task: PanelTask;
  variants: number;
  /** Extend: where the old canvas's top-left lands on the result canvas; { 0, 0 } otherwise. */
  canvasOffset: { x: number; y: number };
}

export const PREVIEW_OPTIONS = Object.freeze({
  intervalMs: DEFAULT_PREVIEW_INTERVAL_MS,
  maxSize: DEFAULT_PREVIEW_MAX_SIZE,
  format: DEFAULT_PREVIEW_FORMAT,
});

export function buildGenerateRequest(
  task: PanelTask,
  settings: TaskSettings,
  inputs: EditorInputs,
  welcome: WelcomeInfo | null,
): PreparedRequest {
  const common = settings[task];
  const { layer } = inputs;
  const limits = welcome?.limits ?? null;
  if (!hasVisiblePixels(layer)) throw new PanelError('EMPTY_LAYER', 'The active layer has no visible pixels.');

  const variants = clampVariants(common.variants, limits);
  const request: GenerateRequest = {
    task: wireTask(task),
    image: { format: 'rgba8', width: layer.width, height: layer.height, data: layer.data },
    variants,
    steps: stepsFor(common.quality, limits),
    preview: { ...PREVIEW_OPTIONS },
  };
  if (common.workingSize !== 'auto') request.workingSize = common.workingSize;
  const seeds = seedsFor(common.seed, variants);
  if (seeds) request.seeds = seeds;
  const model = modelFor(task, welcome);
  if (model !== undefined) request.model = model;

  let canvasOffset = { x: 0, y: 0 };
  if (task === 'fill') {
    const { selection } = inputs;
    if (selection === null || !hasSelectedPixels(selection)) {
      throw new PanelError('NO_SELECTION', 'Fill generates inside the selection, and nothing is selected.');
    }
    if (selection.width !== layer.width || selection.height !== layer.height) {
      throw new Error(`The selection is ${selection.width}×${selection.height} but the layer is ${layer.width}×${layer.height}.`);
    }
    request.mask = { format: 'gray8', width: selection.width, height: selection.height, data: selection.data };
    request.fill = settings.fill.softSelection
      ? { maskMode: 'strength' } // feather and grow do not apply: the selection's own softness is the edge
      : { feather: settings.fill.feather, grow: settings.fill.grow };
  } else if (task === 'extend') {
    const extend = extendSpec(settings.extend);
    const px = resolveExtend(extend, layer.width, layer.height);
    if (px.left + px.right + px.top + px.bottom === 0) {
      throw new PanelError('NO_EXTEND_SIDE', 'No side is turned on, or the amount is 0.');
    }
    request.extend = extend;
    request.strength = settings.extend.strength / 100;
    canvasOffset = { x: px.left, y: px.top };
  } else if (task === 'colorize' && !settings.colorize.replaceColour) {
    const share = colouredShare(layer);
    if (share > COLOURED_SHARE) {
      throw new PanelError('LAYER_HAS_COLOUR', `${Math.round(100 * share)} % of the visible pixels have colour.`);
    }
  } else if (task === 'restore') {
    if (!settings.restore.autoStrength) request.strength = settings.restore.strength / 100;
  }
  return { request, task, variants, canvasOffset };
}

/** A layer counts as coloured when more than 2 % of its visible pixels have chroma above 12 levels. */
export const COLOURED_SHARE = 0.02;
const COLOURED_CHROMA = 12;
const COLOUR_SAMPLES = 1 << 20;

/**
 * The share of visible pixels whose chroma (max − min of R, G, B) exceeds 12 levels: JPEG noise and
 * a tinted scan stay under it, a colour photo is far over it. Large layers are sampled (≤ 1 Mi pixels).
 */
export function colouredShare(layer: RgbaPixels): number {
  const pixels = layer.width * layer.height;
  const stride = Math.max(1, Math.floor(pixels / COLOUR_SAMPLES));
  let visible = 0;
  let coloured = 0;
  for (let p = 0; p < pixels; p += stride) {
    const i = p * 4;
    if (layer.data[i + 3]! === 0) continue;
    visible++;
    const r = layer.data[i]!;
    const g = layer.data[i + 1]!;
    const b = layer.data[i + 2]!;
    if (Math.max(r, g, b) - Math.min(r, g, b) > COLOURED_CHROMA) coloured++;
  }
  return visible === 0 ? 0 : coloured / visible;
}

/** The extend settings as the protocol's ExtendSpec (only the sides turned on, and only when > 0). */
export function extendSpec(settings: ExtendSettings): ExtendSpec {
  const spec: ExtendSpec = {};
  if (settings.amount <= 0) return spec;
  for (const side of EXTEND_SIDES) {
    if (!settings.sides[side]) continue;
    spec[side] = settings.unit === 'percent'
      ? { unit: 'fraction', value: settings.amount / 100 }
      : { unit: 'px', value: Math.round(settings.amount) };
  }
  return spec;
}

/**
 * Task names a model may list for each wire task: the protocol's, and the training names
 * (models/README.md: inpaint, jpeg) that a daemon may pass through from model.json.
 */
const TASK_ALIASES: Record<string, readonly string[]> = { fill: ['fill', 'inpaint'], restore: ['restore', 'jpeg'] };

export function modelCanDo(model: { tasks: readonly string[] }, task: PanelTask): boolean {
  const wire = wireTask(task);
  return (TASK_ALIASES[wire] ?? [wire]).some((name) => model.tasks.includes(name));
}

/**
 * The model to name in the request: none (the daemon's default) when the default can do the task,
 * else the first installed model that can. Throws NO_MODEL when no model is installed at all; when
 * none claims the task the daemon decides (TASK_NOT_SUPPORTED becomes a banner).
 */
export function modelFor(task: PanelTask, welcome: WelcomeInfo | null): string | undefined {
  if (!welcome) return undefined;
  if (welcome.models.length === 0) {
    throw new PanelError('NO_MODEL', 'The daemon has no model installed.');
  }
  const capable = welcome.models.filter((m) => modelCanDo(m, task));
  if (capable.length === 0 || capable.some((m) => m.name === welcome.defaultModel)) return undefined;
  return capable[0]?.name;
}

function hasVisiblePixels(image: RgbaPixels): boolean {
  const { data } = image;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
}

function hasSelectedPixels(mask: MaskPixels): boolean {
  const { data } = mask;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return true;
  return false;
}
